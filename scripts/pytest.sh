#!/usr/bin/env bash
# Runs pytest with the project's options; "no tests collected" (exit 5) is not a failure of the suite.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/python -m pytest "$@" -q --durations=15
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest collected no tests"
  rc=0
fi
exit "$rc"

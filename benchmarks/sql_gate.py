"""SQL gate cost: milliseconds per query through ``check_sql`` against a bare sqlglot transpile of the same text.

Uses the unit-test corpora (``tests/unit/tools/sql_gate/corpus``): the valid queries are gated from DuckDB to
DuckDB and to PostgreSQL with the tests' e-commerce schema and scope filters; the baseline, measured in the
same run, is ``sqlglot.transpile(sql, read=source, write=target)`` (parse and render, no checks). The hostile
strings are timed through ``check_sql`` until their rejection.

Run: ``.venv/bin/python benchmarks/sql_gate.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "unit" / "tools" / "sql_gate" / "corpus"


def _load(name: str) -> list[dict[str, object]]:
    lines = (CORPUS / name).read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


def _per_call_ms(calls: list[Callable[[], object]], repeat: int) -> float:
    best = []
    for _ in range(repeat):
        start = time.perf_counter()
        for call in calls:
            call()
        best.append((time.perf_counter() - start) * 1000 / len(calls))
    return statistics.median(best)


def main() -> None:
    sys.path.insert(0, str(ROOT))
    import logging

    import sqlglot

    from kubeai.errors import SQLGateError
    from tests.unit.tools.sql_gate.sql_gate_samples import make_context
    from tools.sql_gate import check_sql

    logging.getLogger("sqlglot").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    valid = _load("valid.jsonl")
    hostile = _load("hostile.jsonl")

    def rejected(sql: str, source: str) -> Callable[[], object]:
        context = make_context(source_dialect=source)

        def call() -> object:
            try:
                return check_sql(sql, context)
            except SQLGateError as error:
                return error

        return call

    print(f"valid queries: {len(valid)}, hostile strings: {len(hostile)}, repeat: {args.repeat} (median)")
    print(f"{'case':<28} {'gate ms':>9} {'transpile ms':>13} {'ratio':>7}")
    for target in ("duckdb", "postgres"):
        gate_calls: list[Callable[[], object]] = []
        base_calls: list[Callable[[], object]] = []
        for case in valid:
            sql, source = str(case["sql"]), str(case.get("dialect", "duckdb"))
            context = make_context(source_dialect=source, target_dialect=target)
            gate_calls.append(partial(check_sql, sql, context))
            base_calls.append(partial(sqlglot.transpile, sql, read=source, write=target))
        gate_ms = _per_call_ms(gate_calls, args.repeat)
        base_ms = _per_call_ms(base_calls, args.repeat)
        print(f"{'valid -> ' + target:<28} {gate_ms:>9.2f} {base_ms:>13.2f} {gate_ms / base_ms:>6.1f}x")
    hostile_calls = [rejected(str(case["sql"]), str(case.get("dialect", "duckdb"))) for case in hostile]
    hostile_ms = _per_call_ms(hostile_calls, args.repeat)
    print(f"{'hostile (until rejected)':<28} {hostile_ms:>9.2f} {'':>13} {'':>7}")


if __name__ == "__main__":
    main()

"""Overhead of the read-only DuckDB runner against plain DuckDB ``fetchdf()`` on the demo warehouse.

Run: ``.venv/bin/python benchmarks/warehouse_runner.py [--orders 1000000] [--repeat 5]``. Builds the seeded demo
warehouse in a temporary directory, runs typical metric queries both ways (the baseline is a plain read-only
connection with ``fetchdf()``, measured in the same run), and prints median milliseconds and the runner/baseline
ratio per query, plus the cost of choosing and building a chart and of the JSON and HTML exports.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from knowledge.warehouse import build_demo_warehouse
from tools.charts import build_figure, choose_chart, export_chart, figure_json
from tools.warehouse import open_runner
from tools.warehouse.duckdb_runner import DUCKDB_CONFIG

QUERIES = {
    "gmv by month": "SELECT date_trunc('month', order_date) AS month, sum(paid_amount) AS gmv FROM orders "
    "GROUP BY 1 ORDER BY 1",
    "orders by region": "SELECT r.region_name, count(*) AS orders FROM orders o JOIN cities c USING (city_id) "
    "JOIN regions r USING (region_id) GROUP BY 1 ORDER BY 2 DESC",
    "10k raw rows": "SELECT * FROM orders ORDER BY order_id LIMIT 10000",
    "capped scan (1000 of all)": "SELECT * FROM orders",
}


def _median_ms(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = build_demo_warehouse(Path(tmp) / "demo.duckdb", orders=args.orders, seed=7).path
        # Same settings as the runner: DuckDB refuses a second in-process connection with different ones.
        plain = duckdb.connect(str(path), read_only=True, config=DUCKDB_CONFIG)
        runner = open_runner(str(path))
        print(f"demo warehouse: {args.orders:,} orders, median of {args.repeat}")
        for name, sql in QUERIES.items():
            cap = 1_000 if name.startswith("capped") else 10_000

            def baseline(sql: str = sql, cap: int = cap) -> object:
                return plain.execute(f"SELECT * FROM ({sql}) LIMIT {cap + 1}").fetchdf()

            def ours(sql: str = sql, cap: int = cap) -> object:
                return runner.run(sql, max_rows=cap, timeout_s=60)

            base, mine = _median_ms(baseline, args.repeat), _median_ms(ours, args.repeat)
            print(f"  {name:<28} fetchdf {base:8.1f} ms   runner {mine:8.1f} ms   ratio {mine / base:5.2f}x")
        frame = runner.run(QUERIES["gmv by month"], max_rows=1000, timeout_s=60).frame
        spec = choose_chart(frame, title="月度GMV", unit="元")
        chart_ms = _median_ms(lambda: figure_json(build_figure(spec, frame)), args.repeat)
        html_ms = _median_ms(lambda: export_chart(build_figure(spec, frame), Path(tmp) / "c.html"), args.repeat)
        print(f"  chart {spec.kind}: choose+build+validated JSON {chart_ms:.1f} ms, HTML export {html_ms:.1f} ms")
        runner.close()
        plain.close()


if __name__ == "__main__":
    main()

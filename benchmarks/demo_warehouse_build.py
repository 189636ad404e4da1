"""Time the demo warehouse build at the default size against a 10x smaller baseline in the same run.

Run: ``.venv/bin/python benchmarks/demo_warehouse_build.py [--orders 1000000]``. Prints generation and total
seconds per size, and the large/small ratio (10 means linear scaling).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from knowledge.warehouse import build_demo_warehouse
from knowledge.warehouse.demo import generate_frames


def _measure(orders: int, folder: Path) -> tuple[float, float, int]:
    start = time.perf_counter()
    generate_frames(orders=orders, seed=7)
    generate = time.perf_counter() - start
    report = build_demo_warehouse(folder / f"demo-{orders}.duckdb", orders=orders, seed=7)
    size = report.path.stat().st_size
    return generate, report.seconds, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--orders", type=int, default=1_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        baseline = max(1_000, args.orders // 10)
        small = _measure(baseline, folder)
        large = _measure(args.orders, folder)
    for orders, (generate, total, size) in ((baseline, small), (args.orders, large)):
        print(f"{orders:>10,} orders: generate {generate:6.2f} s, full build {total:6.2f} s, file {size / 1e6:6.1f} MB")
    print(f"ratio large/small full build: {large[1] / small[1]:.1f}x for {args.orders / baseline:.0f}x the orders")


if __name__ == "__main__":
    main()

"""PNG export through kaleido and the Debian Chromium, with Chinese labels.

Needs ``chromium`` and a CJK font (``fonts-noto-cjk``) from Debian; each export starts a headless browser
(about 3-6 s on two cores).
"""

from __future__ import annotations

import shutil
import struct
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from tools.charts import build_figure, choose_chart, export_chart
from tools.charts.export import find_browser

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module", autouse=True)
def _browser_and_fonts() -> None:
    if find_browser() is None:
        pytest.skip("no Chromium on PATH for kaleido; apt-get install chromium")
    if (
        shutil.which("fc-list") is None
        or not subprocess.run(["fc-list", ":lang=zh"], capture_output=True, text=True, check=False).stdout.strip()
    ):
        pytest.skip("no Chinese font installed, PNG labels would be boxes; apt-get install fonts-noto-cjk")


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_bar_chart_png_is_a_real_image(tmp_path: Path) -> None:
    frame = pd.DataFrame({"region_name": ["华东", "华北", "华南", "西南"], "gmv": [120.5, 99.0, 88.2, 60.1]})
    fig = build_figure(choose_chart(frame, title="各区域GMV（2024年）", unit="元"), frame)
    path = export_chart(fig, tmp_path / "charts" / "gmv.png", width=800, height=450, scale=1.5)
    data = path.read_bytes()
    assert _png_size(data) == (1200, 675)
    assert 10_000 < len(data) < 2_000_000
    assert sorted(p.name for p in path.parent.iterdir()) == ["gmv.png"]  # no temporary file left behind


def test_chinese_glyphs_render_distinctly(tmp_path: Path) -> None:
    # With no CJK font both titles render as identical "tofu" boxes; with one, the images differ.
    images = []
    for name in ("华东", "华北"):
        fig = build_figure(choose_chart(pd.DataFrame({"gmv": [1.0]}), title=name), pd.DataFrame({"gmv": [1.0]}))
        images.append(export_chart(fig, tmp_path / f"{name}.png", width=300, height=200, scale=1).read_bytes())
    assert images[0] != images[1]

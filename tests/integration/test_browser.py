"""The browser helper itself, on a plain ``file://`` page (what a report check needs)."""
from __future__ import annotations

from pathlib import Path

from PIL import Image  # matplotlib's dependency, in the test extra

from _browser import chromium_page


def test_chromium_page_renders_a_file_page_into_a_screenshot(tmp_path: Path) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(
        "<!doctype html><body style='margin:0'>"
        "<div id='verdict' style='width:200px;height:100px;background:rgb(0,128,0)'>"
        "REPRODUCED</div></body>", encoding="utf-8")
    shot = tmp_path / "report.png"
    with chromium_page(width=400, height=300) as page:
        page.goto(page_file.as_uri())
        assert page.locator("#verdict").inner_text() == "REPRODUCED"
        page.screenshot(path=str(shot))
    with Image.open(shot) as image:
        assert image.size == (400, 300)
        rgb = image.convert("RGB")
        assert rgb.getpixel((150, 80)) == (0, 128, 0)        # inside the div: rendered
        assert rgb.getpixel((300, 200)) == (255, 255, 255)   # outside: the white page

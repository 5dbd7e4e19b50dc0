"""The reports of a real verify (the demo notebook, built and run twice on the real
engine): the HTML page opened in Debian's headless Chromium (verdict shown, the plot's
image pair side by side, nothing fetched, a screenshot taken) and the JUnit XML parsed.

The demo's saved plot is replaced by a doctored copy first, so exactly that cell differs
(by pixels); the seeded random cell and the %time cell stay same over both runs."""
from __future__ import annotations

import base64
import io
import json
import shutil
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict, List

import nbformat
import pytest
from PIL import Image, ImageDraw

from _browser import chromium_page
from nbdocker.frontends.cli import main

pytestmark = pytest.mark.engine

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
PLOT_CELL = 7


def _doctor_the_plot(path: Path) -> None:
    """The plot changed by pixels, and the saved outputs said to come from Python 3.11.1
    (a patch no image here has: the report must name both versions)."""
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.setdefault("language_info", {})["version"] = "3.11.1"
    output = next(o for o in nb.cells[PLOT_CELL].outputs if "image/png" in o.get("data", {}))
    image = Image.open(io.BytesIO(base64.b64decode(output["data"]["image/png"])))
    ImageDraw.Draw(image).rectangle([(60, 40), (200, 120)], fill="black")
    out = io.BytesIO()
    image.save(out, format="PNG")
    output["data"]["image/png"] = base64.b64encode(out.getvalue()).decode()
    nbformat.write(nb, str(path))


def _snapshot(root: Path) -> Dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() and not p.name.endswith(".nbdocker.ipynb")}


def test_html_and_junit_reports_of_a_real_verify(engine: Any, base_image: str, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    folder = tmp_path / "project"
    shutil.copytree(NOTEBOOKS, folder, ignore=shutil.ignore_patterns("*.nbdocker.ipynb"))
    demo = folder / "demo.ipynb"
    _doctor_the_plot(demo)
    before = _snapshot(folder)
    containers = engine.list_containers()
    html, junit = tmp_path / "report.html", tmp_path / "report.xml"
    code = main(["verify", str(demo), "--base-image", base_image, "--python", sys.executable,
                 "--html", str(html), "--junit-xml", str(junit), "--json", "-q"])
    out, err = capsys.readouterr()
    assert code == 1, err
    report = json.loads(out)
    statuses = {c["index"]: c["status"] for c in report["cells"]}
    assert statuses == {1: "same", 2: "skipped", 3: "same", 4: "same", 5: "same", 6: "same",
                        PLOT_CELL: "differs", 8: "same"}, out
    plot = next(c for c in report["cells"] if c["index"] == PLOT_CELL)
    assert plot["images"][0]["method"] == "pixels" and plot["images"][0]["share"] > 0.01
    assert report["settings"]["runs"] == 2
    assert report["environments"]["rerun"]["image"] == report["image"]
    assert report["environments"]["rerun"]["base_image"]
    image_python = report["environments"]["rerun"]["python"]
    assert report["environments"]["original"]["python"] == "3.11.1"
    assert image_python.startswith("3.11.") and image_python != "3.11.1"
    assert engine.list_containers() == containers, "a container was left behind"
    assert _snapshot(folder) == before

    # JUnit XML: one test case per reported cell, the plot the one failure
    suite = ET.parse(junit).getroot().find("testsuite")
    assert suite is not None
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"),
            suite.get("skipped")) == ("8", "1", "0", "1")
    failed = [c for c in suite.findall("testcase") if c.find("failure") is not None]
    assert [c.get("name", "").split(":")[0] for c in failed] == \
        [f"cell {PLOT_CELL} In [7] id 049c4676"]
    failure = failed[0].find("failure")
    assert failure is not None and "of pixels" in failure.get("message", "")

    # The HTML page in a real browser: nothing fetched, verdict and the image pair shown
    requests: List[str] = []
    shot = tmp_path / "report.png"
    with chromium_page(width=1280, height=900) as page:
        page.on("request", lambda request: requests.append(request.url))
        page.goto(html.as_uri())
        assert page.locator("#verdict").inner_text().startswith(
            "NOT REPRODUCED: 1 cell differs; 6 same")
        pair = page.locator(f"#cell-{PLOT_CELL} .sides img")
        assert pair.count() == 2
        left, right = (pair.nth(i).bounding_box() for i in range(2))
        assert left is not None and right is not None
        assert left["width"] > 100 and right["width"] > 100           # drawn, not broken
        assert abs(left["y"] - right["y"]) < 2                        # one row
        assert right["x"] >= left["x"] + left["width"]                # side by side
        assert page.evaluate("Array.from(document.images).every(i => i.naturalWidth > 0)")
        assert page.locator(f"#cell-{PLOT_CELL} .pixels img").count() == 1
        assert page.locator(".python").inner_text() == \
            f"image Python {image_python}, notebook 3.11.1: patch differs"
        page.locator(f"#cell-{PLOT_CELL}").scroll_into_view_if_needed()
        page.screenshot(path=str(shot), full_page=True)
    assert [u for u in requests if not u.startswith(("file:", "data:"))] == []
    with Image.open(shot) as image:
        assert image.width == 1280 and image.height > 900
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is not None and len(colours) > 50               # a rendered page

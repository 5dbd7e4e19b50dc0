"""Images: by pixels with Pillow (same / close with the share of differing pixels /
differs), by hash without it (reported apart unless --strict-images)."""
from __future__ import annotations

import base64
import io
from typing import Any, Dict, Optional

import pytest
from nbformat.v4 import new_code_cell, new_notebook, new_output
from PIL import Image, ImageDraw
from PIL.PngImagePlugin import PngInfo

from nbdocker.stages.verify import compare as compare_module
from nbdocker.stages.verify import compare_notebooks


def png(*, line_y: int = 50, dots: int = 0, size: Any = (200, 100),
        software: Optional[str] = None) -> str:
    image = Image.new("RGBA", size, "white")
    draw = ImageDraw.Draw(image)
    draw.line([(0, line_y), (size[0], line_y)], fill="blue", width=3)
    for i in range(dots):
        image.putpixel((i, 0), (0, 0, 0, 255))
    info = PngInfo()
    if software:
        info.add_text("Software", software)
    out = io.BytesIO()
    image.save(out, format="PNG", pnginfo=info)
    return base64.b64encode(out.getvalue()).decode()


def figure(data: str) -> Any:
    return new_output("display_data", data={"image/png": data,
                                            "text/plain": "<Figure size 200x100 with 1 Axes>"})


def report(a: str, b: str, **kwargs: Any) -> Any:
    def nb(data: str) -> Any:
        return new_notebook(cells=[new_code_cell("plot()", outputs=[figure(data)],
                                                 execution_count=1)])
    return compare_notebooks(nb(a), nb(b), **kwargs)


def test_same_pixels_are_same_whatever_the_png_metadata() -> None:
    a, b = png(software="Matplotlib version3.8.0"), png(software="Matplotlib version3.9.1")
    assert a != b
    cell = report(a, b).cells[0]
    assert cell.status == "same" and not cell.images_differ
    assert cell.images[0].method == "pixels"


def test_a_few_pixels_are_close_within_the_tolerance_with_their_share() -> None:
    assert report(png(), png(dots=10)).cells[0].status == "differs"   # exact by default
    cell = report(png(), png(dots=10), image_tolerance=0.001).cells[0]  # 10 of 20,000: 0.05%
    assert cell.status == "close" and cell.images_differ
    assert cell.images[0].share == pytest.approx(10 / 20000)
    assert "0.05% of pixels" in cell.explanation()


def test_a_moved_line_differs() -> None:
    cell = report(png(line_y=50), png(line_y=60)).cells[0]
    assert cell.status == "differs"
    assert cell.images[0].share is not None and cell.images[0].share > 0.01


def test_another_size_differs() -> None:
    cell = report(png(), png(size=(100, 100))).cells[0]
    assert cell.status == "differs" and "size 200x100 vs 100x100" in cell.explanation()


def test_strict_images_make_close_images_fail_and_tolerance_is_an_option() -> None:
    assert report(png(), png(dots=10), strict_images=True,
                  image_tolerance=0.001).cells[0].status == "differs"
    assert report(png(line_y=50), png(line_y=60), image_tolerance=0.5).cells[0].status == "close"


def test_without_pillow_images_compare_by_hash_and_are_reported_apart(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(compare_module, "have_pillow", lambda: False)
    a, b = png(), png(line_y=60)
    plain = report(a, b)
    cell = plain.cells[0]
    assert cell.status == "same" and cell.images_differ and cell.images[0].method == "hash"
    assert "pip install 'nbdocker[images]'" in cell.note
    assert plain.summary["images_differ"] == 1 and "images by hash" in plain.settings.describe()
    assert report(a, b, strict_images=True).cells[0].status == "differs"


def test_a_missing_image_differs() -> None:
    nb_a = new_notebook(cells=[new_code_cell("p()", outputs=[figure(png())], execution_count=1)])
    nb_b = new_notebook(cells=[new_code_cell("p()", outputs=[], execution_count=1)])
    cell = compare_notebooks(nb_a, nb_b).cells[0]
    assert cell.status == "differs" and "1 image(s) vs 0" in cell.explanation()


def test_svg_is_compared_as_text_without_its_random_ids_and_date() -> None:
    def svg(salt: str, date: str, colour: str = "#1f77b4") -> Dict[str, Any]:
        return {"image/svg+xml": (
            f"<svg><metadata><dc:date>{date}</dc:date></metadata><defs><clipPath "
            f"id=\"p{salt}\"><rect/></clipPath></defs><path clip-path=\"url(#p{salt})\" "
            f"style=\"stroke: {colour}\"/></svg>"), "text/plain": "<Figure size 1x1 with 1 Axes>"}

    def nb(data: Dict[str, Any]) -> Any:
        return new_notebook(cells=[new_code_cell("p()", execution_count=1, outputs=[
            new_output("display_data", data=data)])])

    same = compare_notebooks(nb(svg("1a2b3c4d5e", "2024-01-01")), nb(svg("9f8e7d6c5b", "2025-06-30")))
    assert same.cells[0].status == "same"
    changed = compare_notebooks(nb(svg("1a2b3c4d5e", "2024-01-01")),
                                nb(svg("1a2b3c4d5e", "2024-01-01", "#ff7f0e")))
    assert changed.cells[0].status == "differs"


def test_a_pdf_saved_at_another_time_is_the_same_picture() -> None:
    # Found on a public notebook (set_matplotlib_formats('pdf', 'png')): the PDFs were
    # byte-identical but for the time matplotlib wrote into them.
    import base64

    from nbdocker.stages.verify.images import picture

    class Plain:
        def text(self, value: str) -> str:
            return value

    def pdf(date: bytes, body: bytes = b"0 0 m 1 1 l S") -> str:
        return base64.b64encode(b"%PDF-1.4\n1 0 obj << /Producer (Matplotlib) /CreationDate "
                                b"(D:" + date + b") >> endobj\n" + body + b"\n%%EOF").decode()

    first = picture("application/pdf", pdf(b"20261201101500Z"), Plain())  # type: ignore[arg-type]
    later = picture("application/pdf", pdf(b"20261202093000+01'00'"), Plain())  # type: ignore[arg-type]
    other = picture("application/pdf", pdf(b"20261201101500Z", b"0 0 m 2 2 l S"), Plain())  # type: ignore[arg-type]
    assert first.digest == later.digest
    assert first.digest != other.digest          # the drawing itself still counts
    assert first.data != later.data              # what is shown is the PDF as it was

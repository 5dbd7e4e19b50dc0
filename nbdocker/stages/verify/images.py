"""Images in outputs: decoded and compared by pixels when Pillow is installed
(``pip install 'nbdocker[images]'``), by hash otherwise.

By pixels, an image is ``same`` when every pixel matches (PNG metadata such as
matplotlib's "Software" text does not count), ``close`` when the two have the same size
and at most ``tolerance`` of their pixels differ, else ``differs`` (with the share of
differing pixels, or both sizes). SVG is text: compared after masking what every render
changes (its ``<metadata>`` block with the date, and the random ids matplotlib salts its
clip paths and markers with). PDF and anything Pillow cannot decode compare by hash.
"""
from __future__ import annotations

import base64
import binascii
import hashlib
import io
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Optional, Tuple

from .report import ImageResult, Status

if TYPE_CHECKING:
    from .normalise import Normaliser

__all__ = ["IMAGE_MIMES", "Picture", "picture", "compare_pictures", "have_pillow",
           "highlight", "data_uri"]

IMAGE_MIMES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp",
               "image/svg+xml", "application/pdf")
_DECODABLE = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp", "image/bmp"})
_MAX_PIXELS = 64_000_000   # beyond this, by hash (Pillow's own bomb limit is near 89M)
_SVG_METADATA = re.compile(r"<metadata>[\s\S]{0,20000}?</metadata>")
_SVG_IDS = re.compile(r"((?:id=\"|url\(#|href=\"#))[a-z]?[0-9a-f]{8,40}(?=[\")])")
# A PDF's document-information dates (matplotlib writes the time of saving): the same
# drawing saved a minute later must compare equal.
_PDF_DATES = re.compile(rb"/(CreationDate|ModDate) *\(D:[0-9+\-Z']{0,40}\)")


@dataclass(frozen=True)
class Picture:
    """One image of an output: its MIME type, decoded bytes and their SHA-256."""

    mime: str
    data: bytes
    digest: str

    @property
    def is_text(self) -> bool:
        return self.mime == "image/svg+xml"


def picture(mime: str, value: Any, normaliser: "Normaliser") -> Picture:
    """The :class:`Picture` of one output's ``value`` for ``mime`` (base64, or SVG text
    normalised like any text plus the SVG masks above)."""
    raw = "".join(value) if isinstance(value, list) else str(value)
    if mime == "image/svg+xml":
        text = _SVG_IDS.sub(r"\1<ID>", _SVG_METADATA.sub("<metadata/>", raw))
        data = normaliser.text(text).encode("utf-8")
    else:
        try:
            data = base64.b64decode(raw.replace("\n", ""), validate=False)
        except (ValueError, binascii.Error):
            data = raw.encode("utf-8")
    if mime == "application/pdf":
        return Picture(mime, data, hashlib.sha256(_PDF_DATES.sub(rb"/\1 (D:)", data)).hexdigest())
    return Picture(mime, data, hashlib.sha256(data).hexdigest())


def have_pillow() -> bool:
    """Whether Pillow is importable (then images compare by pixels)."""
    try:
        import PIL.Image  # noqa: F401
    except ImportError:
        return False
    return True


def _open(data: bytes) -> Any:
    from PIL import Image

    image = Image.open(io.BytesIO(data))
    if image.width * image.height > _MAX_PIXELS:
        raise ValueError("too large to decode")
    return image.convert("RGBA")


def _difference_mask(a: Any, b: Any) -> Any:
    """An ``L`` image: per pixel, the largest channel difference between ``a`` and ``b``."""
    from PIL import ImageChops

    bands = ImageChops.difference(a, b).split()
    mask = bands[0]
    for band in bands[1:]:
        mask = ImageChops.lighter(mask, band)
    return mask


_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# The chunks that make a PNG's pixels; text, time and physical-size chunks do not.
_PNG_PIXEL_CHUNKS = frozenset({b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"gAMA", b"sBIT", b"cHRM",
                               b"sRGB", b"iCCP"})


def _png_pixel_chunks(data: bytes) -> Optional[bytes]:
    """The pixel-bearing chunks of a PNG, concatenated (None if not a well-formed PNG):
    equal for two PNGs whose only difference is metadata, found without decoding."""
    if not data.startswith(_PNG_SIGNATURE):
        return None
    parts = []
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        kind = data[at + 4:at + 8]
        if at + 12 + length > len(data):
            return None
        if kind in _PNG_PIXEL_CHUNKS:
            parts.append(data[at + 4:at + 8 + length])
        at += 12 + length
        if kind == b"IEND":
            return b"".join(parts)
    return None


def _pixels(a: bytes, b: bytes, tolerance: float) -> Optional[Tuple[Status, Optional[float], str]]:
    """(status, share of differing pixels, note) by pixels; None when undecodable."""
    chunks = _png_pixel_chunks(a)
    if chunks is not None and chunks == _png_pixel_chunks(b):
        return Status.SAME, None, ""
    try:
        first, second = _open(a), _open(b)
    except Exception:  # noqa: BLE001 - Pillow raises many types for a broken image
        return None
    if first.size != second.size:
        return (Status.DIFFERS, None,
                f"size {first.width}x{first.height} vs {second.width}x{second.height}")
    histogram = _difference_mask(first, second).histogram()
    share = (first.width * first.height - histogram[0]) / max(1, first.width * first.height)
    if share == 0:
        return Status.SAME, None, ""
    return (Status.CLOSE if share <= tolerance else Status.DIFFERS), share, ""


def compare_pictures(position: int, a: Picture, b: Picture, *, tolerance: float,
                     pixels: bool) -> ImageResult:
    """How image ``b`` compares with ``a`` (``pixels``: Pillow may decode them)."""
    if a.mime != b.mime:
        return ImageResult(position, b.mime, Status.DIFFERS, "hash", note=f"was {a.mime}")
    if a.digest == b.digest:
        method = "text" if a.is_text else ("pixels" if pixels and a.mime in _DECODABLE
                                            else "hash")
        return ImageResult(position, a.mime, Status.SAME, method)
    if a.is_text:
        return ImageResult(position, a.mime, Status.DIFFERS, "text")
    if pixels and a.mime in _DECODABLE:
        found = _pixels(a.data, b.data, tolerance)
        if found is not None:
            status, share, note = found
            return ImageResult(position, a.mime, status, "pixels", share, note)
    return ImageResult(position, a.mime, Status.DIFFERS, "hash")


def highlight(a: Picture, b: Picture) -> Optional[bytes]:
    """A PNG of ``b`` faded, with the pixels that differ from ``a`` in red; None without
    Pillow, for undecodable images or different sizes."""
    if not have_pillow() or a.mime not in _DECODABLE or b.mime not in _DECODABLE:
        return None
    from PIL import Image

    try:
        first, second = _open(a.data), _open(b.data)
    except Exception:  # noqa: BLE001
        return None
    if first.size != second.size:
        return None
    mask = _difference_mask(first, second).point(lambda v: 255 if v else 0)
    faded = Image.blend(Image.new("RGBA", second.size, "white"), second, 0.25)
    faded.paste(Image.new("RGBA", second.size, (220, 0, 0, 255)), (0, 0), mask)
    out = io.BytesIO()
    faded.save(out, format="PNG")
    return out.getvalue()


def data_uri(mime: str, data: bytes) -> str:
    """``data:MIME;base64,...`` for an ``<img src>``."""
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"

"""Re-encoding of uploaded pictures: what we store never carries the uploader's
metadata (EXIF: camera, GPS position, dates), only pixels, oriented as shown."""

from __future__ import annotations

import io
from pathlib import PurePath

from django.core.files.base import ContentFile
from PIL import Image, ImageOps


def _load_rgb(upload) -> Image.Image:
    upload.seek(0)
    with Image.open(upload) as original:
        image = ImageOps.exif_transpose(original)
        image.load()
    upload.seek(0)
    if image.mode not in ("RGB", "RGBA"):
        image = image.convert("RGBA" if "transparency" in image.info or image.mode in ("LA", "PA") else "RGB")
    if image.mode == "RGBA":
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    return image


def _as_jpeg(image: Image.Image, *, name: str) -> ContentFile:
    buffer = io.BytesIO()
    image.save(buffer, format="JPEG", quality=88, optimize=True, progressive=True)
    return ContentFile(buffer.getvalue(), name=f"{PurePath(name).stem[:80] or 'image'}.jpg")


def reencode_image(upload, *, max_side: int = 2400) -> ContentFile:
    """The picture as a fresh JPEG without metadata, at most max_side pixels wide or high."""
    image = _load_rgb(upload)
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return _as_jpeg(image, name=upload.name)


def thumbnail(upload, *, size: tuple[int, int]) -> ContentFile:
    """A centred crop of the picture to exactly `size` (width, height) pixels, as JPEG."""
    image = ImageOps.fit(_load_rgb(upload), size, Image.Resampling.LANCZOS)
    return _as_jpeg(image, name=f"{PurePath(upload.name).stem}-{size[0]}x{size[1]}")

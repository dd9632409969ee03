"""Checks for uploaded files: type by extension, size, and content matching the type.

Each accepted type names how its content is recognised. A file passes only when its
extension is accepted for the upload at hand, it is not larger than the limit, and
its first bytes (or Pillow, for images) agree with the extension.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Iterable
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.template.defaultfilters import filesizeformat
from PIL import Image

IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp"}
PILLOW_FORMATS = {"jpg": "JPEG", "jpeg": "JPEG", "png": "PNG", "webp": "WEBP"}
MAGIC_PREFIXES = {"pdf": b"%PDF-"}

# Images larger than this many pixels are refused before they are decoded (decompression bombs).
MAX_IMAGE_PIXELS = 40_000_000
Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS


def extension_of(name: str) -> str:
    return PurePath(name).suffix.lower().lstrip(".")


def _human_list(extensions: Iterable[str]) -> str:
    return ", ".join(sorted(ext.upper() for ext in extensions))


def check_upload(upload: UploadedFile, *, allowed: set[str], max_bytes: int) -> str:
    """Validate an upload; return its lower-case extension or raise ValidationError."""
    name = PurePath(upload.name or "").name
    extension = extension_of(name)
    if extension not in allowed:
        raise ValidationError(
            "%(name)s is not an accepted file type. Accepted types: %(types)s.",
            code="file_type",
            params={"name": name or "The file", "types": _human_list(allowed)},
        )
    if upload.size is None or upload.size > max_bytes:
        raise ValidationError(
            "%(name)s is %(size)s; the limit is %(limit)s.",
            code="file_size",
            params={"name": name, "size": filesizeformat(upload.size or 0), "limit": filesizeformat(max_bytes)},
        )
    if extension in PILLOW_FORMATS:
        _check_image(upload, name=name, expected=PILLOW_FORMATS[extension])
    elif extension in MAGIC_PREFIXES:
        _check_prefix(upload, name=name, prefix=MAGIC_PREFIXES[extension])
    return extension


def _mismatch(name: str) -> ValidationError:
    return ValidationError(
        "The content of %(name)s does not match its file type.", code="file_content", params={"name": name}
    )


def _check_prefix(upload: UploadedFile, *, name: str, prefix: bytes) -> None:
    upload.seek(0)
    head = upload.read(len(prefix))
    upload.seek(0)
    if head != prefix:
        raise _mismatch(name)


def _check_image(upload: UploadedFile, *, name: str, expected: str) -> None:
    upload.seek(0)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(upload)
        with image:
            if image.format != expected:
                raise _mismatch(name)
            if image.width * image.height > MAX_IMAGE_PIXELS:
                raise ValidationError(
                    "%(name)s has too many pixels to process.", code="image_too_large", params={"name": name}
                )
            image.verify()
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ValidationError(
            "%(name)s has too many pixels to process.", code="image_too_large", params={"name": name}
        ) from error
    except ValidationError:
        raise
    except Exception as error:  # Pillow raises many types for broken files
        raise _mismatch(name) from error
    finally:
        upload.seek(0)


def sha256_of(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b""):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()

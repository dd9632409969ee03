"""Checks for uploaded files: type by extension, size, and content matching the type.

Each accepted type names how its content is recognised. A file passes only when its
extension is accepted for the upload at hand, it is not larger than the limit, and
its first bytes (or Pillow, for images) agree with the extension.

Case files, deliverables and message attachments use `CASE_FILE_EXTENSIONS` and
`CASE_FILE_MAX_BYTES` (or `check_case_file`). Content checks only ever read the first
few kilobytes of a file (a DOCX's zip directory, an image through Pillow), never the
whole file: uploads of up to 100 MB stay on disk.
"""

from __future__ import annotations

import hashlib
import io
import struct
import unicodedata
import warnings
import zipfile
from collections.abc import Callable, Iterable
from pathlib import PurePath

from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.http import FileResponse, HttpResponseRedirect
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


# Case files, deliverables and message attachments (see the design doc).
CASE_FILE_EXTENSIONS = {
    "jpg",
    "jpeg",
    "png",
    "pdf",
    "docx",
    "stl",
    "obj",
    "ply",
    "dcm",
    "dicom",
    "lab",
    "dxd",
    "zip",
    "constructioninfo",
    "dentalproject",
    "dec",
    "mbp",
}
CASE_FILE_MAX_BYTES = 100 * 1024 * 1024

# How an extension is written in messages and in <input accept>; others are shown upper-case.
EXTENSION_DISPLAY_NAMES = {"constructioninfo": "constructionInfo", "dentalproject": "dentalProject"}

# A browser file picker filter for case files (<input type="file" accept="...">).
CASE_FILE_ACCEPT = ",".join(f".{EXTENSION_DISPLAY_NAMES.get(ext, ext)}" for ext in sorted(CASE_FILE_EXTENSIONS))

# The most a content check reads from the start of a file to recognise a text format.
TEXT_SNIFF_BYTES = 8 * 1024

SAFE_FILENAME_MAX_CHARS = 150
# File systems limit a name to 255 bytes; leave room for the suffix storage adds to make it unique.
SAFE_FILENAME_MAX_BYTES = 200


def _human_list(extensions: Iterable[str]) -> str:
    return ", ".join(sorted((EXTENSION_DISPLAY_NAMES.get(ext, ext.upper()) for ext in extensions), key=str.lower))


def check_name_and_size(name: str, size: int | None, *, allowed: set[str], max_bytes: int) -> str:
    """The checks that need no content: the type by extension and the size. Returns the
    lower-case extension or raises ValidationError. (Direct uploads ask this before the
    browser sends anything.)"""
    name = PurePath(name or "").name
    extension = extension_of(name)
    if extension not in allowed:
        raise ValidationError(
            "%(name)s is not an accepted file type. Accepted types: %(types)s.",
            code="file_type",
            params={"name": name or "The file", "types": _human_list(allowed)},
        )
    if size is None or size > max_bytes:
        raise ValidationError(
            "%(name)s is %(size)s; the limit is %(limit)s.",
            code="file_size",
            params={"name": name, "size": filesizeformat(size or 0), "limit": filesizeformat(max_bytes)},
        )
    if size <= 0:
        raise ValidationError("%(name)s is empty.", code="file_empty", params={"name": name})
    return extension


def check_upload(upload: UploadedFile, *, allowed: set[str], max_bytes: int) -> str:
    """Validate an upload (or a direct upload's object, read through ranged GETs: it has the
    same `name`, `size`, `read` and `seek`); return its lower-case extension or raise
    ValidationError."""
    name = PurePath(upload.name or "").name
    extension = check_name_and_size(name, upload.size, allowed=allowed, max_bytes=max_bytes)
    if extension in PILLOW_FORMATS:
        _check_image(upload, name=name, expected=PILLOW_FORMATS[extension])
    elif extension in MAGIC_PREFIXES:
        _check_prefix(upload, name=name, prefix=MAGIC_PREFIXES[extension])
    elif extension in CONTENT_CHECKS:
        try:
            matches = CONTENT_CHECKS[extension](upload)
        finally:
            upload.seek(0)
        if not matches:
            raise _mismatch(name)
    return extension


def check_case_file(upload: UploadedFile) -> str:
    """Validate a case file, deliverable or message attachment; return its lower-case extension."""
    return check_upload(upload, allowed=CASE_FILE_EXTENSIONS, max_bytes=CASE_FILE_MAX_BYTES)


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


# Content checks for types without Pillow or a plain prefix: each reads only the start of
# the file (the caller rewinds it) and answers whether the content matches the type.

ZIP_LOCAL_HEADER = b"PK\x03\x04"
ZIP_EMPTY_ARCHIVE = b"PK\x05\x06"
UTF8_BOM = b"\xef\xbb\xbf"
OBJ_FIRST_KEYWORDS = {"v", "vn", "vt", "f", "o", "g", "s", "mtllib", "usemtl"}


def _head(upload: UploadedFile, size: int) -> bytes:
    upload.seek(0)
    return upload.read(size)


def _is_zip(upload: UploadedFile) -> bool:
    head = _head(upload, 4)
    return head in (ZIP_LOCAL_HEADER, ZIP_EMPTY_ARCHIVE)


def _is_docx(upload: UploadedFile) -> bool:
    if _head(upload, 4) != ZIP_LOCAL_HEADER:
        return False
    upload.seek(0)
    try:
        # Reads the zip's central directory only; nothing is extracted.
        with zipfile.ZipFile(upload) as archive:
            return "[Content_Types].xml" in archive.namelist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, EOFError, ValueError, struct.error):
        return False


def _starts_like_xml(head: bytes) -> bool:
    return head.removeprefix(UTF8_BOM).lstrip().startswith(b"<")


def _is_xml(upload: UploadedFile) -> bool:
    return _starts_like_xml(_head(upload, TEXT_SNIFF_BYTES))


def _is_dicom_or_3shape_mesh(upload: UploadedFile) -> bool:
    """DICOM (`DICM` after the 128-byte preamble) or a 3Shape `.dcm` mesh (a zip or XML)."""
    head = _head(upload, TEXT_SNIFF_BYTES)
    return head[128:132] == b"DICM" or head.startswith(b"PK") or _starts_like_xml(head)


def _is_stl(upload: UploadedFile) -> bool:
    head = _head(upload, TEXT_SNIFF_BYTES)
    # Binary: an 80-byte header, a little-endian triangle count, then 50 bytes per triangle.
    # Checked first: many binary files have a header that also starts with "solid".
    if len(head) >= 84:
        (triangles,) = struct.unpack_from("<I", head, 80)
        if upload.size == 84 + 50 * triangles:
            return True
    # ASCII: "solid <name>" then facets.
    text = head.lower()
    return b"\0" not in head and text.lstrip().startswith(b"solid") and b"facet" in text


def _is_ply(upload: UploadedFile) -> bool:
    head = _head(upload, 5)
    return head.startswith((b"ply\n", b"ply\r\n"))


def _is_obj(upload: UploadedFile) -> bool:
    head = _head(upload, TEXT_SNIFF_BYTES)
    if b"\0" in head:
        return False
    lines = head.removeprefix(UTF8_BOM).split(b"\n")
    if upload.size is not None and upload.size > len(head):
        lines = lines[:-1]  # the last line may be cut off
    for line in lines:
        words = line.split(b"#", 1)[0].split()
        if words:
            return words[0].decode("ascii", "replace") in OBJ_FIRST_KEYWORDS
    return False


def _is_not_empty(upload: UploadedFile) -> bool:
    """Formats without a reliable public signature (exocad, Dental Wings, ...) are accepted by extension."""
    return upload.size != 0 and _head(upload, 1) != b""


CONTENT_CHECKS: dict[str, Callable[[UploadedFile], bool]] = {
    "zip": _is_zip,
    "docx": _is_docx,
    "dcm": _is_dicom_or_3shape_mesh,
    "dicom": _is_dicom_or_3shape_mesh,
    "stl": _is_stl,
    "ply": _is_ply,
    "obj": _is_obj,
    "constructioninfo": _is_xml,
    "dentalproject": _is_xml,
    "lab": _is_not_empty,
    "dxd": _is_not_empty,
    "dec": _is_not_empty,
    "mbp": _is_not_empty,
}


def safe_filename(name: str) -> str:
    """The base name of an uploaded file, fit to store and show.

    Directories (``/`` and ``\\``), control and format characters, ``..`` and the characters
    Windows refuses in names are removed; spaces are kept. The result has at most 150
    characters (and 200 UTF-8 bytes), keeps its extension, and is never empty.
    """
    name = unicodedata.normalize("NFC", str(name or ""))
    # Control characters (NUL, newlines, ...) and invisible format ones such as the
    # right-to-left override that disguises "gpj.exe" as "exe.jpg".
    # Lone surrogates (from a JSON string) cannot be stored or encoded at all.
    name = "".join(char for char in name if unicodedata.category(char) not in {"Cc", "Cf", "Cs", "Zl", "Zp"})
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join("_" if char in '<>:"|?*' else char for char in name)
    while ".." in name:
        name = name.replace("..", ".")
    # Windows drops trailing dots and spaces; a leading dot would hide the file.
    name = name.rstrip(" .").strip()
    stem, dot, extension = name.rpartition(".")
    if not dot or len(extension) > 20:  # no extension, or not one worth keeping whole
        stem, extension = name, ""
    extension = f".{extension}" if extension else ""
    stem = stem.strip(" .")

    def fits(candidate: str) -> bool:
        return len(candidate) <= SAFE_FILENAME_MAX_CHARS and len(candidate.encode()) <= SAFE_FILENAME_MAX_BYTES

    while stem and not fits(stem + extension):
        stem = stem[: min(len(stem) - 1, SAFE_FILENAME_MAX_CHARS - len(extension))].rstrip(" .")
    return (stem or "file") + extension


def sha256_of(upload) -> str:
    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks() if hasattr(upload, "chunks") else iter(lambda: upload.read(1 << 20), b""):
        digest.update(chunk)
    upload.seek(0)
    return digest.hexdigest()


# What a file served inline (`private_file_response(..., as_attachment=False)`) is sent as.
# Only these types are ever shown by the browser; everything else (meshes for the 3D
# viewer included) goes out as opaque bytes, so an upload can never run as a page.
INLINE_CONTENT_TYPES = {
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "png": "image/png",
    "webp": "image/webp",
    "pdf": "application/pdf",
}
INLINE_FALLBACK_CONTENT_TYPE = "application/octet-stream"
# The policy of an inline file: nothing may load from it, and only our own pages may frame it
# (the PDF preview). `object-src 'self'` lets Chromium's PDF viewer run inside the frame.
INLINE_FILE_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'"


def private_file_response(field_file, *, filename: str, as_attachment: bool = True):
    """Serve a private file to someone a view has already checked: never cached, never
    sniffed into another type.

    With `as_attachment=False` the file is sent inline for previews: images and PDFs with
    their own type (and frameable by our own pages), anything else as
    application/octet-stream.

    On S3 (cadcam/storage.py) the answer is a redirect to a signed URL that lives a few
    minutes and names the same disposition and type; the bytes never pass through us."""
    content_type = _content_type(filename, as_attachment=as_attachment)
    signed_download_url = getattr(field_file.storage, "signed_download_url", None)
    if signed_download_url is not None:
        response = HttpResponseRedirect(signed_download_url(
            field_file.name, filename=filename, content_type=content_type, inline=not as_attachment
        ))
        response["Cache-Control"] = "private, no-store"
        return response
    return _served_here(field_file.open("rb"), filename=filename, as_attachment=as_attachment,
                        content_type=content_type)


def private_bytes_response(data: bytes, *, filename: str, as_attachment: bool = True):
    """Serve a copy made for this request (an exocad file with the patient data blanked) like
    a private local file: same disposition, type and headers, from memory, on S3 too."""
    content_type = _content_type(filename, as_attachment=as_attachment)
    return _served_here(io.BytesIO(data), filename=filename, as_attachment=as_attachment, content_type=content_type)


def _content_type(filename: str, *, as_attachment: bool) -> str | None:
    """None for an attachment (FileResponse guesses from the name); the inline type otherwise."""
    return None if as_attachment else INLINE_CONTENT_TYPES.get(extension_of(filename), INLINE_FALLBACK_CONTENT_TYPE)


def _served_here(handle, *, filename: str, as_attachment: bool, content_type: str | None) -> FileResponse:
    response = FileResponse(handle, as_attachment=as_attachment, filename=filename, content_type=content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    if not as_attachment:
        response["X-Frame-Options"] = "SAMEORIGIN"
        response["Content-Security-Policy"] = INLINE_FILE_CSP
    return response

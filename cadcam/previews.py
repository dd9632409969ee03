"""What kind of preview a private file gets, and who may see the patient data in it.

Used by `templates/previews/_file.html` (through the `previews` template tags) for case
files, deliverables and message attachments, and by the views that serve them.
"""

from __future__ import annotations

from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from cadcam.files import extension_of
from cadcam.staff import acting_as_staff

PreviewKind = Literal["mesh", "image", "pdf", "construction_info"]

MESH_EXTENSIONS = {"stl", "ply", "obj"}
IMAGE_EXTENSIONS = {"jpg", "jpeg", "png", "webp"}

_KINDS: dict[str, PreviewKind] = {
    **{extension: "mesh" for extension in MESH_EXTENSIONS},
    **{extension: "image" for extension in IMAGE_EXTENSIONS},
    "pdf": "pdf",
    "constructioninfo": "construction_info",
}


def preview_kind(name: str) -> PreviewKind | None:
    """'mesh' (3D viewer), 'image' or 'pdf' (shown inline), 'construction_info' (parsed
    summary), or None (offered as a download only), by the file name's extension."""
    return _KINDS.get(extension_of(name or ""))


def inline_url(download_url: str) -> str:
    """The download URL asking for the file inline (`?inline=1`), keeping any query it has."""
    parts = urlsplit(download_url)
    query = [(key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True) if key != "inline"]
    return urlunsplit(parts._replace(query=urlencode([*query, ("inline", "1")])))


def patient_data_visible(*, hidden: bool, uploader_id: int | None, viewer) -> bool:
    """Whether `viewer` (already allowed to see the file) may see the patient fields of an
    exocad file: the uploader and staff always; the other party only if the uploader did
    not tick "hide patient data"."""
    if not getattr(viewer, "is_authenticated", False):
        return False
    return acting_as_staff(viewer) or viewer.pk == uploader_id or not hidden

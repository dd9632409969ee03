"""What kind of preview a private file gets, and who may see the patient data in it.

Used by `templates/previews/_file.html` (through the `previews` template tags) for case
files, deliverables and message attachments, and by the views that serve them:
`patient_safe_file_response` is the download for all of them, giving an exocad
.constructionInfo without its patient data to whoever may not see it.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from django.shortcuts import render

from cadcam.construction_info import PatientDataUnchecked, blank_patient_data_in
from cadcam.files import extension_of, private_bytes_response, private_file_response
from cadcam.staff import acting_as_staff

logger = logging.getLogger(__name__)

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


BLANKED_FIELDS = "the patient's name, birth date, ID and the project name blanked"
# The help text of every "hide patient data" box (case files, deliveries, messages, disputes).
PATIENT_DATA_HELP = (
    f"exocad .constructionInfo files reach the other party with {BLANKED_FIELDS}, in the file and in its "
    "summary; you and our staff keep the original. Other files (STL, PLY, OBJ, DICOM, images, PDF, ZIP...) "
    "are passed on unchanged: remove patient details from them before uploading."
)
PATIENT_COPY_NOTES = {
    "blanked": f"You get a copy with {BLANKED_FIELDS}: the sender chose to hide patient data.",
    "sender": f"You get the original. The other party gets a copy with {BLANKED_FIELDS}.",
    "staff": f"You get the original, as staff. The party who did not send it gets a copy with {BLANKED_FIELDS}.",
    "shared": "Patient data is not hidden: both parties get the original file.",
}


def patient_copy_note(*, name: str, hidden: bool, uploader_id: int | None, viewer) -> str:
    """What the page says next to a file about the copy `viewer` downloads: for exocad
    .constructionInfo files only ('' for anything else, which always goes out unchanged)."""
    if preview_kind(name) != "construction_info":
        return ""
    if not hidden:
        return PATIENT_COPY_NOTES["shared"]
    if getattr(viewer, "pk", None) == uploader_id:
        return PATIENT_COPY_NOTES["sender"]
    if patient_data_visible(hidden=hidden, uploader_id=uploader_id, viewer=viewer):
        return PATIENT_COPY_NOTES["staff"]
    return PATIENT_COPY_NOTES["blanked"]


def patient_safe_name(*, name: str, hidden: bool, uploader_id: int | None, viewer) -> str:
    """The file name `viewer` sees and downloads: exocad names a project file after the patient
    ("Smith_John.constructionInfo"), so whoever gets the blanked copy gets a name made of a
    fingerprint of the original name instead ("case-3f9a1c0e.constructionInfo")."""
    if preview_kind(name) != "construction_info" or patient_data_visible(
        hidden=hidden, uploader_id=uploader_id, viewer=viewer
    ):
        return name
    return f"case-{hashlib.sha256(name.encode()).hexdigest()[:8]}.constructionInfo"


def patient_safe_file_response(request, field_file, *, filename: str, hidden: bool, uploader_id: int | None,
                               as_attachment: bool = True, back_url: str = ""):
    """The download of a private file for `request.user`, whom the view has already allowed
    to see it. An exocad .constructionInfo whose patient data this viewer may not see goes out
    as a copy with the patient fields blanked, made here and served through Django (on S3
    too) under the same name; when the file cannot be checked, a 409 page says so and nothing
    is sent. Everything else (the uploader's and staff's downloads, other formats, files whose
    sender did not hide the data) is `private_file_response` as before."""
    if preview_kind(filename) != "construction_info" or patient_data_visible(
        hidden=hidden, uploader_id=uploader_id, viewer=request.user
    ):
        return private_file_response(field_file, filename=filename, as_attachment=as_attachment)
    try:
        data = blank_patient_data_in(field_file)
    except PatientDataUnchecked as refused:
        return _not_passed_on(request, filename=filename, reason=refused.message, back_url=back_url, status=409)
    except Exception:  # storage errors (S3 down, a missing object) have no common type
        logger.exception("Could not read %s to blank its patient data", field_file.name)
        return _not_passed_on(request, filename=filename, back_url=back_url, status=503,
                              reason="The file could not be read from storage just now. Try again in a minute.")
    return private_bytes_response(
        data, filename=patient_safe_name(name=filename, hidden=hidden, uploader_id=uploader_id, viewer=request.user),
        as_attachment=as_attachment)


def _not_passed_on(request, *, filename: str, reason: str, back_url: str, status: int):
    context = {"file_name": filename, "reason": reason, "back_url": back_url, "retry": status == 503}
    response = render(request, "previews/patient_data_unchecked.html", context, status=status)
    response["Cache-Control"] = "private, no-store"
    return response

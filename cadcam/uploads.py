"""Upload handling: every uploaded file streams to a temporary file on disk, and a file
larger than the per-file limit is dropped while it arrives instead of being stored whole.

Enable it in settings::

    FILE_UPLOAD_HANDLERS = ["cadcam.uploads.LimitedUploadHandler"]
    FILE_UPLOAD_PER_FILE_LIMIT = 100 * 1024 * 1024   # defaults to CASE_FILE_MAX_BYTES
    FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "upload-tmp")  # must exist; on disk, not a tmpfs

A skipped file is missing from ``request.FILES``; its (safe) name is in
``request.oversize_uploads`` and, by form field, in ``request.oversize_upload_fields``.
Views call ``oversize_upload_errors(request)`` (or ``oversize_uploads(request)``) and show
the errors, since a form only sees that the field is empty.
"""

from __future__ import annotations

import contextlib
import os

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.template.defaultfilters import filesizeformat

from cadcam.files import CASE_FILE_MAX_BYTES, safe_filename


def per_file_limit() -> int:
    """The most bytes one uploaded file may have: settings.FILE_UPLOAD_PER_FILE_LIMIT, else 100 MB."""
    limit = getattr(settings, "FILE_UPLOAD_PER_FILE_LIMIT", None)
    return CASE_FILE_MAX_BYTES if limit is None else int(limit)


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams each file to a temporary file and gives up on it once it passes the limit."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = per_file_limit()
        if request is not None:
            if not hasattr(request, "oversize_uploads"):
                request.oversize_uploads = []
            if not hasattr(request, "oversize_upload_fields"):
                request.oversize_upload_fields = {}

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        # Browsers rarely send a Content-Length per part, but when one is given it is known up front.
        if content_length is not None and content_length > self.limit:
            self._skip()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self._skip()
        return super().receive_data_chunk(raw_data, start)

    def _skip(self):
        self._discard_file()
        name = safe_filename(self.file_name or "")
        if self.request is not None:
            self.request.oversize_uploads.append(name)
            self.request.oversize_upload_fields.setdefault(self.field_name, []).append(name)
        # The parser reads past the rest of this file without handing it to us.
        raise SkipFile(f"{name} is larger than the limit of {self.limit} bytes.")

    def _discard_file(self):
        file = getattr(self, "file", None)
        if file is None:
            return
        path = file.temporary_file_path()
        file.close()  # a NamedTemporaryFile deletes itself on close; make sure of it
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        del self.file


def oversize_uploads(request) -> list[str]:
    """The names of the files of this request that were too large and dropped."""
    request.FILES  # noqa: B018 - parses the body (and runs the handlers) if that has not happened yet
    return list(getattr(request, "oversize_uploads", []))


def oversize_upload_errors(request, field_name: str | None = None) -> list[ValidationError]:
    """One "X is larger than 100.0 MB." error per dropped file (only those of field_name, if given)."""
    request.FILES  # noqa: B018 - parses the body (and runs the handlers) if that has not happened yet
    if field_name is None:
        names = getattr(request, "oversize_uploads", [])
    else:
        names = getattr(request, "oversize_upload_fields", {}).get(field_name, [])
    limit = filesizeformat(per_file_limit())
    return [
        ValidationError("%(name)s is larger than %(limit)s.", code="file_size", params={"name": name, "limit": limit})
        for name in names
    ]


def form_valid_with_uploads(request, form, *, field: str = "files", oversize_replaces_non_field_errors=False) -> bool:
    """Validate a POSTed form with a file field, counting the files this handler dropped for
    being too large (they never reach the form) as errors of that field. Errors they would
    only make confusing go: the field's own ("required": the file was sent, and refused) and,
    when asked, the form's ("write a message or attach a file")."""
    if request.method != "POST":
        return False
    valid = form.is_valid()
    oversize = oversize_upload_errors(request, field)
    if oversize:
        form.errors.pop(field, None)
        if oversize_replaces_non_field_errors:
            form.errors.pop(NON_FIELD_ERRORS, None)
        for error in oversize:
            form.add_error(field, error)
    return valid and not oversize

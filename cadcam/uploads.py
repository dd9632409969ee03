"""Upload handling: every uploaded file streams to a temporary file on disk, and what is over
a limit is dropped while it arrives instead of being stored whole:

- one file larger than the per-file limit (100 MB);
- files past the number one request may carry (settings.UPLOAD_MAX_FILES, 20);
- a file that would take the request past the total it may carry
  (settings.UPLOAD_MAX_REQUEST_BYTES, 500 MB).

Enable it in settings::

    FILE_UPLOAD_HANDLERS = ["cadcam.uploads.LimitedUploadHandler"]
    FILE_UPLOAD_PER_FILE_LIMIT = 100 * 1024 * 1024   # defaults to CASE_FILE_MAX_BYTES
    FILE_UPLOAD_TEMP_DIR = str(DATA_DIR / "upload-tmp")  # must exist; on disk, not a tmpfs

A dropped file is missing from ``request.FILES``; its (safe) name is in
``request.oversize_uploads`` and, by form field, in ``request.oversize_upload_fields``
(``request.skipped_upload_fields`` for the request-wide limits). Views call
``form_valid_with_uploads`` (or ``oversize_upload_errors(request)``) and show the errors,
since a form only sees that the field is empty.

Services check the same limits again (``check_upload_batch``) and the per-account quotas
(``check_storage_quota``), so nothing depends on the handler being installed.
"""

from __future__ import annotations

import contextlib
import os

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadhandler import SkipFile, TemporaryFileUploadHandler
from django.template.defaultfilters import filesizeformat

from cadcam.errors import ApplicationError
from cadcam.files import CASE_FILE_MAX_BYTES, safe_filename

TOO_MANY = "count"  # past settings.UPLOAD_MAX_FILES
TOO_MUCH = "total"  # past settings.UPLOAD_MAX_REQUEST_BYTES


def per_file_limit() -> int:
    """The most bytes one uploaded file may have: settings.FILE_UPLOAD_PER_FILE_LIMIT, else 100 MB."""
    limit = getattr(settings, "FILE_UPLOAD_PER_FILE_LIMIT", None)
    return CASE_FILE_MAX_BYTES if limit is None else int(limit)


class LimitedUploadHandler(TemporaryFileUploadHandler):
    """Streams each file to a temporary file and gives up on it once it passes a limit."""

    def __init__(self, request=None):
        super().__init__(request)
        self.limit = per_file_limit()
        self.max_files = settings.UPLOAD_MAX_FILES
        self.max_total = settings.UPLOAD_MAX_REQUEST_BYTES
        self.files_seen = 0
        self.bytes_kept = 0  # of the files kept so far, and the one arriving
        if request is not None:
            if not hasattr(request, "oversize_uploads"):
                request.oversize_uploads = []
            if not hasattr(request, "oversize_upload_fields"):
                request.oversize_upload_fields = {}
            if not hasattr(request, "skipped_upload_fields"):
                request.skipped_upload_fields = {}

    def new_file(self, field_name, file_name, content_type, content_length, charset=None, content_type_extra=None):
        super().new_file(field_name, file_name, content_type, content_length, charset, content_type_extra)
        self.files_seen += 1
        self.bytes_before = self.bytes_kept
        if self.files_seen > self.max_files:
            self._skip(TOO_MANY)
        if self.bytes_kept >= self.max_total:
            self._skip(TOO_MUCH)
        # Browsers rarely send a Content-Length per part, but when one is given it is known up front.
        if content_length is not None and content_length > self.limit:
            self._skip()

    def receive_data_chunk(self, raw_data, start):
        if start + len(raw_data) > self.limit:
            self._skip()
        if self.bytes_before + start + len(raw_data) > self.max_total:
            self._skip(TOO_MUCH)
        self.bytes_kept = self.bytes_before + start + len(raw_data)
        return super().receive_data_chunk(raw_data, start)

    def _skip(self, reason: str | None = None):
        self._discard_file()
        self.bytes_kept = self.bytes_before
        name = safe_filename(self.file_name or "")
        if self.request is not None:
            if reason is None:
                self.request.oversize_uploads.append(name)
                self.request.oversize_upload_fields.setdefault(self.field_name, []).append(name)
            else:
                skipped = self.request.skipped_upload_fields.setdefault(self.field_name, {})
                skipped.setdefault(reason, []).append(name)
        # The parser reads past the rest of this file without handing it to us.
        raise SkipFile(f"{name} is over an upload limit ({reason or 'size'}).")

    def _discard_file(self):
        file = getattr(self, "file", None)
        if file is None:
            return
        path = file.temporary_file_path()
        file.close()  # a NamedTemporaryFile deletes itself on close; make sure of it
        with contextlib.suppress(FileNotFoundError):
            os.remove(path)
        del self.file


def check_upload_batch(files) -> None:
    """The request-wide limits, for services: refused with a clear message, nothing saved."""
    if len(files) > settings.UPLOAD_MAX_FILES:
        raise ApplicationError(f"Send at most {settings.UPLOAD_MAX_FILES} files at once (this was {len(files)}).")
    total = sum(upload.size for upload in files)
    if total > settings.UPLOAD_MAX_REQUEST_BYTES:
        raise ApplicationError(f"Send at most {filesizeformat(settings.UPLOAD_MAX_REQUEST_BYTES)} of files at once "
                               f"(this was {filesizeformat(total)}).")


def check_storage_quota(*, used: int, adding: int, quota: int, what: str, advice: str) -> None:
    """A per-account storage quota: `used` bytes held already, `adding` more wanted."""
    if used + adding > quota:
        raise ApplicationError(
            f"{what} hold {filesizeformat(used)} of files; these {filesizeformat(adding)} would pass the "
            f"limit of {filesizeformat(quota)}. {advice}"
        )


def oversize_uploads(request) -> list[str]:
    """The names of the files of this request that were too large and dropped."""
    request.FILES  # noqa: B018 - parses the body (and runs the handlers) if that has not happened yet
    return list(getattr(request, "oversize_uploads", []))


def oversize_upload_errors(request, field_name: str | None = None) -> list[ValidationError]:
    """One "X is larger than 100.0 MB." error per file dropped for its size, and one error per
    request-wide limit that dropped files (only those of field_name, if given)."""
    request.FILES  # noqa: B018 - parses the body (and runs the handlers) if that has not happened yet
    if field_name is None:
        names = getattr(request, "oversize_uploads", [])
        skipped = {}
        for by_reason in getattr(request, "skipped_upload_fields", {}).values():
            for reason, dropped in by_reason.items():
                skipped.setdefault(reason, []).extend(dropped)
    else:
        names = getattr(request, "oversize_upload_fields", {}).get(field_name, [])
        skipped = getattr(request, "skipped_upload_fields", {}).get(field_name, {})
    limit = filesizeformat(per_file_limit())
    errors = [
        ValidationError("%(name)s is larger than %(limit)s.", code="file_size", params={"name": name, "limit": limit})
        for name in names
    ]
    if skipped.get(TOO_MANY):
        errors.append(ValidationError(
            "Send at most %(limit)s files at once; left out: %(names)s.", code="too_many_files",
            params={"limit": settings.UPLOAD_MAX_FILES, "names": ", ".join(skipped[TOO_MANY])},
        ))
    if skipped.get(TOO_MUCH):
        errors.append(ValidationError(
            "Send at most %(limit)s of files at once; left out: %(names)s.", code="too_much_data",
            params={"limit": filesizeformat(settings.UPLOAD_MAX_REQUEST_BYTES), "names": ", ".join(skipped[TOO_MUCH])},
        ))
    return errors


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

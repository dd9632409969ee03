"""Direct uploads: on S3 the browser sends case files, deliveries and message attachments
straight to the private bucket, so 100 MB never passes through a web worker.

1. `direct_upload_start` checks the name and the announced size (the same rules as a form),
   records a `DirectUpload` and answers with a presigned POST for files up to
   DIRECT_UPLOAD_PART_BYTES, or a multipart upload and one presigned URL per part.
2. The browser sends the bytes (static/js/upload-progress.js), retrying a failed part, then
   calls `direct_upload_complete`: the server lists the parts, completes the multipart upload
   and checks that the object has the announced size.
3. The form submits the upload's token in place of the file. `MultipleFileField` turns the
   owner's tokens into `UploadedObject`s, which read the object through ranged GETs, so
   `check_case_file` runs unchanged; a refused object is deleted at once.
4. The service stores it with `store_upload` like a streamed file: the file row points at the
   uploaded object and the upload is marked attached, with the name it will have. After
   commit a task (`direct_upload_finish`) copies it under the order's or conversation's
   prefix, points the row there, deletes the upload's copy and computes the SHA-256 the row
   keeps: the request waits for none of it.

Every step can be lost half way and is finished by `direct_uploads_sweep` (every 10 minutes):
attached uploads not yet moved are moved, and uploads (or objects, or multipart uploads
under `uploads/`) never attached within DIRECT_UPLOAD_ORPHAN_HOURS are deleted.

In local-disk mode none of this runs: forms post their files as before (cadcam/uploads.py).
"""

from __future__ import annotations

import io
import logging
import math
import uuid
from collections.abc import Iterable
from datetime import timedelta

from botocore.exceptions import ClientError
from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from cadcam.errors import ApplicationError
from cadcam.files import CASE_FILE_EXTENSIONS, CASE_FILE_MAX_BYTES, check_name_and_size, safe_filename, sha256_of
from cadcam.models import DirectUpload
from cadcam.storage import is_s3, private_storage
from cadcam.uploads import check_storage_quota

logger = logging.getLogger(__name__)

# How long the browser's presigned POST and part URLs stay valid: a 100 MB file on a slow line.
UPLOAD_URL_SECONDS = 60 * 60
# An attached upload still not moved after this long is moved by the sweep.
FINISH_AFTER = timedelta(minutes=10)
# Content checks read the object in blocks of this size (ranged GETs), and only what they need.
READ_BLOCK_BYTES = 256 * 1024


def direct_uploads_enabled() -> bool:
    """Whether the browser sends files straight to the bucket (private files on S3)."""
    return is_s3(private_storage())


def direct_upload_context(request) -> dict:
    """Template context: forms with files send them straight to the bucket when this is set."""
    return {"direct_upload_url": reverse("direct_upload_start") if direct_uploads_enabled() else ""}


def _orphan_cutoff(now=None):
    return (now or timezone.now()) - timedelta(hours=settings.DIRECT_UPLOAD_ORPHAN_HOURS)


def direct_upload_start(*, owner, name: str, size: int) -> dict:
    """Record an upload and tell the browser where to send it: `{"token", "name", "post":
    {"url", "fields"}}` for one POST, or `{"token", "name", "part_size", "parts": [url, ...]}`
    for a multipart upload. Bad names and sizes are refused before anything is sent."""
    if not direct_uploads_enabled():
        raise ApplicationError("Files are uploaded with the form here.")
    try:
        check_name_and_size(name, size, allowed=CASE_FILE_EXTENSIONS, max_bytes=CASE_FILE_MAX_BYTES)
    except ValidationError as error:
        raise ApplicationError(error.messages[0]) from error
    pending = (DirectUpload.objects.filter(owner=owner, attached_at__isnull=True, created_at__gt=_orphan_cutoff())
               .aggregate(total=Sum("size"))["total"] or 0)
    check_storage_quota(
        used=pending, adding=size, quota=settings.DIRECT_UPLOADS_PENDING_QUOTA_BYTES,
        what="Your uploads not yet sent with a case or message",
        advice="Send the case or message they are for, or wait a day until unused uploads are deleted.",
    )
    storage = private_storage()
    upload = DirectUpload.objects.create(owner=owner, name=safe_filename(name), size=size)
    answer = {"token": str(upload.token), "name": upload.name}
    part_size = settings.DIRECT_UPLOAD_PART_BYTES
    if size <= part_size:
        post = storage.presigned_post(upload.storage_name, size=size, expire=UPLOAD_URL_SECONDS)
        return answer | {"post": {"url": post["url"], "fields": post["fields"]}}
    # Committed before the call: a multipart upload started at S3 whose id we lost is found
    # and aborted by the sweep (it lists the incomplete uploads under uploads/).
    upload.multipart_id = storage.multipart_start(upload.storage_name)
    upload.save(update_fields=["multipart_id"])
    parts = [
        storage.multipart_part_url(upload.storage_name, upload_id=upload.multipart_id, number=number,
                                   expire=UPLOAD_URL_SECONDS)
        for number in range(1, math.ceil(size / part_size) + 1)
    ]
    return answer | {"part_size": part_size, "parts": parts}


def _owned(owner, token) -> DirectUpload:
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        raise DirectUpload.DoesNotExist from None
    return DirectUpload.objects.select_for_update().get(owner=owner, token=token, attached_at__isnull=True)


def direct_upload_complete(*, owner, token) -> DirectUpload:
    """The browser has sent every byte: complete a multipart upload and check that the object
    is there with the announced size. Safe to repeat. Raises DirectUpload.DoesNotExist for a
    token that is not the owner's (or is already attached), ApplicationError when the bytes
    did not all arrive (the upload is then deleted: the browser starts again)."""
    with transaction.atomic():
        upload = _owned(owner, token)
        if upload.completed_at:
            return upload
        storage = private_storage()
        if upload.multipart_id:
            try:
                parts = storage.multipart_parts(upload.storage_name, upload_id=upload.multipart_id)
            except ClientError as error:
                if error.response["Error"]["Code"] != "NoSuchUpload":
                    raise
                parts = None  # completed before and our answer lost, or aborted: the object tells
            if parts is not None:
                expected = math.ceil(upload.size / settings.DIRECT_UPLOAD_PART_BYTES)
                numbers = [part["PartNumber"] for part in parts]
                if numbers != list(range(1, expected + 1)) or sum(part["Size"] for part in parts) != upload.size:
                    raise ApplicationError(f"{upload.name} did not arrive whole ({len(parts)} of {expected} parts); "
                                           "send it again.")
                storage.multipart_complete(upload.storage_name, upload_id=upload.multipart_id, parts=parts)
        head = storage.head(upload.storage_name)
        if head is None or head["ContentLength"] != upload.size:
            _discard(upload)
            raise ApplicationError(f"{upload.name} did not arrive whole; send it again.")
        upload.completed_at = timezone.now()
        upload.save(update_fields=["completed_at"])
        return upload


class UploadedObject(io.RawIOBase):
    """A completed direct upload, readable like an uploaded file (`name`, `size`, `read`,
    `seek`), each read a ranged GET of only the blocks it needs: the content checks read a
    few kilobytes (a ZIP its directory at the end, an image its pixels)."""

    content_type = "application/octet-stream"

    def __init__(self, upload: DirectUpload):
        super().__init__()
        self.upload = upload
        self.name = upload.name
        self.size = upload.size
        self._position = 0
        self._blocks: dict[int, bytes] = {}

    def readable(self):
        return True

    def seekable(self):
        return True

    def tell(self):
        return self._position

    def seek(self, offset, whence=io.SEEK_SET):
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._position, io.SEEK_END: self.size}[whence]
        self._position = max(0, base + offset)
        return self._position

    def _block(self, index: int) -> bytes:
        if index not in self._blocks:
            start = index * READ_BLOCK_BYTES
            end = min(self.size, start + READ_BLOCK_BYTES) - 1
            self._blocks[index] = private_storage().read_range(self.upload.storage_name, start, end)
        return self._blocks[index]

    def read(self, size=-1):
        end = self.size if size is None or size < 0 else min(self.size, self._position + size)
        pieces = []
        while self._position < end:
            block = self._block(self._position // READ_BLOCK_BYTES)
            offset = self._position % READ_BLOCK_BYTES
            piece = block[offset:offset + end - self._position]
            if not piece:
                break
            pieces.append(piece)
            self._position += len(piece)
        return b"".join(pieces)

    def readinto(self, buffer):
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def refuse(self) -> None:
        """It failed a check: delete it now rather than in a day."""
        with transaction.atomic():
            upload = DirectUpload.objects.select_for_update().filter(
                pk=self.upload.pk, attached_at__isnull=True
            ).first()
            if upload is not None:
                _discard(upload)


def uploaded_objects(owner, tokens: Iterable[str]) -> list[UploadedObject]:
    """The owner's completed, unattached uploads named by tokens (from a form), in order.
    A token that is not one raises ValidationError: the form shows it on the file field."""
    tokens = list(dict.fromkeys(tokens))
    try:
        wanted = [uuid.UUID(token) for token in tokens]
    except ValueError:
        wanted = None
    found = {} if wanted is None or owner is None or not owner.is_authenticated else {
        upload.token: upload for upload in DirectUpload.objects.filter(
            owner=owner, token__in=wanted, attached_at__isnull=True, completed_at__isnull=False
        )
    }
    if wanted is None or len(found) != len(wanted):
        raise ValidationError("An uploaded file could not be found (unused uploads are deleted after a day). "
                              "Choose the file again.", code="upload_missing")
    return [UploadedObject(found[token]) for token in wanted]


def store_upload(instance, upload, *, name: str, owner, field: str = "file") -> None:
    """Keep an accepted upload in the private file field `field` of `instance` and save the row
    (whose SHA-256 goes in its `sha256`). A streamed upload is written to storage here. A direct
    upload is adopted where it lies: the row points at the uploaded object, and the upload is
    marked attached with the name it will have under the row's prefix; after commit a task
    moves it there and fills in the SHA-256 (`direct_upload_finish`), so the request waits for
    neither."""
    field_file = getattr(instance, field)
    if not isinstance(upload, UploadedObject):
        instance.sha256 = sha256_of(upload)
        field_file.save(name, upload, save=False)
        instance.save()
        return
    direct = DirectUpload.objects.select_for_update().filter(
        pk=upload.upload.pk, owner=owner, attached_at__isnull=True, completed_at__isnull=False
    ).first()
    if direct is None:
        raise ApplicationError(f"{upload.name} was already sent, or its upload has expired; choose the file again.")
    target = field_file.field.generate_filename(instance, name)
    direct.target_name = field_file.storage.get_available_name(target, max_length=field_file.field.max_length)
    field_file.name = direct.storage_name
    instance.sha256 = ""
    instance.save()
    direct.attached_at = timezone.now()
    direct.target_model = instance._meta.label_lower
    direct.target_pk = instance.pk
    direct.target_field = field
    direct.save(update_fields=["attached_at", "target_model", "target_pk", "target_field", "target_name"])
    transaction.on_commit(lambda: finish_direct_upload.delay(direct.pk))


@shared_task
def finish_direct_upload(pk: int) -> None:
    direct_upload_finish(pk)


def direct_upload_finish(pk: int) -> None:
    """Move an attached upload under its row's prefix and record its SHA-256, in steps that can
    each be cut off and run again (the sweep does, for uploads left half way):

    1. copy the object to its target name (inside the bucket: the bytes never leave S3);
    2. point the row at the copy (only if it still points at the upload);
    3. delete the upload's object, and mark the upload moved;
    4. read the copy (in this worker) for its SHA-256, store it, and forget the upload."""
    direct = DirectUpload.objects.filter(pk=pk, attached_at__isnull=False).first()
    if direct is None:
        return
    storage = private_storage()
    rows = apps.get_model(direct.target_model)._default_manager.filter(pk=direct.target_pk)
    if not rows.exists():  # the row was deleted before the move: nothing to keep
        with transaction.atomic():
            _discard(direct)
        return
    if direct.moved_at is None:
        if storage.head(direct.storage_name) is not None:
            storage.copy(direct.storage_name, direct.target_name)
        elif storage.head(direct.target_name) is None:
            logger.error("Direct upload %s has no object at %s or %s.", direct.token, direct.storage_name,
                         direct.target_name)
            return
        rows.filter(**{direct.target_field: direct.storage_name}).update(**{direct.target_field: direct.target_name})
        storage.delete(direct.storage_name)
        direct.moved_at = timezone.now()
        direct.save(update_fields=["moved_at"])
    with storage.open(direct.target_name, "rb") as stored:
        digest = sha256_of(stored)
    with transaction.atomic():
        rows.filter(sha256="").update(sha256=digest)
        DirectUpload.objects.filter(pk=direct.pk).delete()


def _discard(upload: DirectUpload) -> None:
    """Delete an unattached upload: its object (or unfinished multipart upload) after commit."""
    storage = private_storage()
    name, multipart_id = upload.storage_name, upload.multipart_id

    def delete_object():
        if multipart_id:
            storage.multipart_abort(name, upload_id=multipart_id)
        storage.delete(name)

    upload.delete()
    transaction.on_commit(delete_object)


def direct_uploads_sweep(now=None) -> dict[str, int]:
    """Finish what was left half way and delete what was never used (beat, every 10 minutes)."""
    now = now or timezone.now()
    counts = {"finished": 0, "deleted": 0, "stray_objects": 0, "stray_multipart": 0}
    if not direct_uploads_enabled():
        return counts
    for pk in DirectUpload.objects.filter(attached_at__lt=now - FINISH_AFTER).values_list("pk", flat=True):
        try:
            direct_upload_finish(pk)
        except ClientError:
            logger.exception("Finishing direct upload %s failed; the next sweep tries again.", pk)
            continue
        counts["finished"] += 1
    cutoff = _orphan_cutoff(now)
    for pk in DirectUpload.objects.filter(attached_at__isnull=True, created_at__lt=cutoff).values_list("pk", flat=True):
        with transaction.atomic():
            upload = DirectUpload.objects.select_for_update(skip_locked=True).filter(
                pk=pk, attached_at__isnull=True
            ).first()
            if upload is not None:
                _discard(upload)
                counts["deleted"] += 1
    # Objects and multipart uploads that no row knows: a start whose transaction was lost,
    # or a deletion cut off before it reached the bucket.
    storage = private_storage()
    known = {str(token) for token in DirectUpload.objects.values_list("token", flat=True)}

    def token_of(name: str) -> str:
        return name.split("/", 2)[1] if name.count("/") >= 2 else ""

    for name, modified in storage.objects_under("uploads"):
        if modified < cutoff and token_of(name) not in known:
            storage.delete(name)
            counts["stray_objects"] += 1
    for name, upload_id, started in storage.incomplete_multipart_uploads("uploads"):
        if started < cutoff and not DirectUpload.objects.filter(multipart_id=upload_id).exists():
            storage.multipart_abort(name, upload_id=upload_id)
            counts["stray_multipart"] += 1
    return counts

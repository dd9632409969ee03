"""Direct uploads: on S3 the browser sends case files, deliveries and message attachments
straight to the private bucket, so 100 MB never passes through a web worker.

1. `direct_upload_start` checks the name and the announced size (the same rules as a form),
   records a `DirectUpload` and answers with a presigned POST for files up to
   DIRECT_UPLOAD_PART_BYTES, or a multipart upload and one presigned URL per part.
2. The browser sends the bytes (static/js/upload-progress.js), retrying a failed part, then
   calls `direct_upload_complete`: the server checks every part's size, completes the
   multipart upload, checks the object's size and pins its ETag.
3. The form submits the upload's token in place of the file. `MultipleFileField` turns the
   owner's tokens into `UploadedObject`s, which read the object through ranged GETs, so
   `check_case_file` runs unchanged; a refused object is deleted at once.
4. The service stores it with `store_upload` like a streamed file: the file row gets its name
   under the order's or conversation's prefix and the upload is marked attached. Right after
   commit `direct_upload_move` copies the object there (inside the bucket, only the bytes whose
   ETag was pinned) and deletes the upload's copy; then a task (`direct_upload_finish`) reads
   the copy for the SHA-256 the row keeps, outside the web process.

Every step can be lost half way and is finished by `direct_uploads_sweep` (every 10 minutes):
attached uploads not yet moved are moved, and uploads (or objects, or multipart uploads
under `uploads/`) never attached within DIRECT_UPLOAD_ORPHAN_HOURS are deleted.

In local-disk mode none of this runs: forms post their files as before (cadcam/uploads.py).
"""

from __future__ import annotations

import io
import logging
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from datetime import timedelta
from functools import partial

from botocore.exceptions import BotoCoreError, ClientError
from celery import shared_task
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from cadcam.errors import ApplicationError
from cadcam.files import CASE_FILE_EXTENSIONS, CASE_FILE_MAX_BYTES, check_name_and_size, safe_filename, sha256_of
from cadcam.models import DirectUpload
from cadcam.storage import ObjectChanged, is_s3, private_storage
from cadcam.uploads import check_storage_quota

logger = logging.getLogger(__name__)

# How long the browser's presigned POST (one file of up to 16 MB) and part URLs stay valid.
POST_URL_SECONDS = 15 * 60
PART_URL_SECONDS = 60 * 60
# What S3 and the network can raise; one failing upload must not stop the others.
STORAGE_ERRORS = (ClientError, BotoCoreError)
# S3 refuses parts smaller than this (but the last).
MIN_PART_BYTES = 5 * 1024 * 1024
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
    part_size = max(settings.DIRECT_UPLOAD_PART_BYTES, MIN_PART_BYTES)
    with transaction.atomic():
        # The owner's row lock: two starts at once count against the quota in turn.
        get_user_model().objects.select_for_update().filter(pk=owner.pk).values_list("pk", flat=True).get()
        pending = (DirectUpload.objects.filter(owner=owner, attached_at__isnull=True, created_at__gt=_orphan_cutoff())
                   .aggregate(total=Sum("size"))["total"] or 0)
        check_storage_quota(
            used=pending, adding=size, quota=settings.DIRECT_UPLOADS_PENDING_QUOTA_BYTES,
            what="Your uploads not yet sent with a case or message",
            advice="Send the case or message they are for, or wait a day until unused uploads are deleted.",
        )
        upload = DirectUpload.objects.create(owner=owner, name=safe_filename(name), size=size,
                                             part_size=part_size if size > part_size else 0)
    storage = private_storage()
    answer = {"token": str(upload.token), "name": upload.name}
    if not upload.part_size:
        post = storage.presigned_post(upload.storage_name, size=size, expire=POST_URL_SECONDS)
        return answer | {"post": {"url": post["url"], "fields": post["fields"]}}
    # The row is committed before the call: a multipart upload started at S3 whose id we lost
    # is found and aborted by the sweep (it lists the incomplete uploads under uploads/).
    upload.multipart_id = storage.multipart_start(upload.storage_name)
    upload.save(update_fields=["multipart_id"])
    parts = [
        storage.multipart_part_url(upload.storage_name, upload_id=upload.multipart_id, number=number,
                                   size=upload.part_bytes(number), expire=PART_URL_SECONDS)
        for number in range(1, upload.part_count + 1)
    ]
    return answer | {"part_size": upload.part_size, "parts": parts}


def _owned(owner, token) -> DirectUpload:
    try:
        token = uuid.UUID(str(token))
    except ValueError:
        raise DirectUpload.DoesNotExist from None
    return DirectUpload.objects.select_for_update().get(owner=owner, token=token, attached_at__isnull=True)


def direct_upload_complete(*, owner, token) -> DirectUpload:
    """The browser has sent every byte: complete a multipart upload, check that the object is
    there with the announced size, and pin its ETag (what the checks read and what is moved
    must be these bytes). Safe to repeat. Raises DirectUpload.DoesNotExist for a token that is
    not the owner's (or is already attached); ApplicationError when a part is missing (it may
    be sent again) or the bytes are not what was announced (the upload is then deleted)."""
    with transaction.atomic():
        upload = _owned(owner, token)
        if upload.completed_at:
            return upload
        head = private_storage().head(upload.storage_name) if _assemble(upload) else None
        if head is not None and head["ContentLength"] == upload.size:
            upload.etag = head["ETag"]
            upload.completed_at = timezone.now()
            upload.save(update_fields=["etag", "completed_at"])
            return upload
    with transaction.atomic():
        refused = DirectUpload.objects.select_for_update().filter(pk=upload.pk, attached_at__isnull=True).first()
        if refused is not None:
            _discard(refused)
    raise ApplicationError(f"{upload.name} did not arrive as announced; send it again.")


def _assemble(upload: DirectUpload) -> bool:
    """Complete a multipart upload whose parts have all arrived, each of its announced size.
    False when a part has another size (S3 would keep those bytes: the upload is refused);
    ApplicationError while a part is missing."""
    if not upload.multipart_id:
        return True
    storage = private_storage()
    try:
        parts = storage.multipart_parts(upload.storage_name, upload_id=upload.multipart_id)
    except ClientError as error:
        if error.response["Error"]["Code"] != "NoSuchUpload":
            raise
        return True  # completed before and our answer lost, or aborted: the object tells
    if any(part["PartNumber"] > upload.part_count or part["Size"] != upload.part_bytes(part["PartNumber"])
           for part in parts):
        return False
    if len(parts) < upload.part_count:
        raise ApplicationError(f"{upload.name} did not arrive whole ({len(parts)} of {upload.part_count} parts); "
                               "send it again.")
    try:
        storage.multipart_complete(upload.storage_name, upload_id=upload.multipart_id, parts=parts)
    except ClientError as error:
        if error.response["ResponseMetadata"]["HTTPStatusCode"] >= 500:
            raise
        return False
    return True


class UploadedObject(io.RawIOBase):
    """A completed direct upload, readable like an uploaded file (`name`, `size`, `read`,
    `seek`). Each read is a ranged GET of the 256 KB blocks it needs, of the bytes whose ETag
    was pinned at completion; at most a few blocks are kept. The content checks read a few
    kilobytes (a ZIP its directory at the end); only Pillow reads an image whole."""

    content_type = "application/octet-stream"
    KEPT_BLOCKS = 4

    def __init__(self, upload: DirectUpload):
        super().__init__()
        self.upload = upload
        self.name = upload.name
        self.size = upload.size
        self._position = 0
        self._blocks: OrderedDict[int, bytes] = OrderedDict()

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
        if index in self._blocks:
            self._blocks.move_to_end(index)
            return self._blocks[index]
        start = index * READ_BLOCK_BYTES
        end = min(self.size, start + READ_BLOCK_BYTES) - 1
        try:
            block = private_storage().read_range(self.upload.storage_name, start, end, etag=self.upload.etag)
        except ObjectChanged:
            raise ValidationError("%(name)s changed after it was sent; choose the file again.",
                                  code="upload_changed", params={"name": self.name}) from None
        self._blocks[index] = block
        if len(self._blocks) > self.KEPT_BLOCKS:
            self._blocks.popitem(last=False)
        return block

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


def direct_upload_refuse(upload: UploadedObject) -> None:
    """An upload failed a form's check: delete it now rather than in a day."""
    with transaction.atomic():
        refused = DirectUpload.objects.select_for_update().filter(pk=upload.upload.pk, attached_at__isnull=True).first()
        if refused is not None:
            _discard(refused)


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
    upload is adopted: the row gets the name the object will have under its prefix and the
    upload is marked attached; right after commit the object is copied there (inside the
    bucket), and a task deletes the upload's copy and fills in the SHA-256."""
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
    field_file.name = field_file.storage.get_available_name(target, max_length=field_file.field.max_length)
    instance.sha256 = ""
    instance.save()
    direct.attached_at = timezone.now()
    direct.target_model = instance._meta.label_lower
    direct.target_pk = instance.pk
    direct.target_name = field_file.name
    direct.save(update_fields=["attached_at", "target_model", "target_pk", "target_name"])
    transaction.on_commit(partial(_move_then_finish_later, direct.pk))


def _move_then_finish_later(pk: int) -> None:
    try:
        direct_upload_move(pk)
    except STORAGE_ERRORS:
        logger.exception("Moving direct upload %s failed; the sweep tries again.", pk)
    direct_upload_finish_task.delay(pk)


def direct_upload_move(pk: int) -> None:
    """Copy an attached upload to the name its row has (one CopyObject of the pinned bytes,
    inside the bucket), then delete the upload's object. Safe to repeat."""
    storage = private_storage()
    with transaction.atomic():
        direct = DirectUpload.objects.select_for_update(skip_locked=True).filter(
            pk=pk, attached_at__isnull=False, moved_at__isnull=True
        ).first()
        if direct is None:
            return
        source = storage.head(direct.storage_name)
        if source is not None:
            try:
                if source["ETag"] != direct.etag:
                    raise ObjectChanged(direct.storage_name)
                storage.copy(direct.storage_name, direct.target_name, etag=direct.etag)  # and in the meantime
            except ObjectChanged:
                # Overwritten by its uploader after the checks: those bytes are never kept.
                logger.error("Direct upload %s changed after its checks; it is deleted and %s #%s has no file.",
                             direct.token, direct.target_model, direct.target_pk)
                _discard(direct)
                return
            storage.delete(direct.storage_name)
        elif storage.head(direct.target_name) is None:
            logger.error("Direct upload %s has no object at %s or %s.", direct.token, direct.storage_name,
                         direct.target_name)
            return
        direct.moved_at = timezone.now()
        direct.save(update_fields=["moved_at"])


@shared_task
def direct_upload_finish_task(pk: int) -> None:
    direct_upload_finish(pk)


def direct_upload_finish(pk: int) -> None:
    """Finish an attached upload: move it if that has not happened, read the moved object (in
    this worker, not the web process) for the SHA-256 its row keeps, and forget the upload.
    If the row was deleted meanwhile, the upload goes too."""
    direct = DirectUpload.objects.filter(pk=pk, attached_at__isnull=False).first()
    if direct is None:
        return
    rows = apps.get_model(direct.target_model)._default_manager.filter(pk=direct.target_pk)
    if not rows.exists():
        with transaction.atomic():
            gone = DirectUpload.objects.select_for_update().filter(pk=pk).first()
            if gone is not None:
                _discard(gone)
        return
    if direct.moved_at is None:
        direct_upload_move(pk)
        direct = DirectUpload.objects.filter(pk=pk, moved_at__isnull=False).first()
        if direct is None:
            return
    with private_storage().open(direct.target_name, "rb") as stored:
        digest = sha256_of(stored)
    with transaction.atomic():
        rows.filter(sha256="").update(sha256=digest)
        DirectUpload.objects.filter(pk=pk).delete()


def _discard(upload: DirectUpload) -> None:
    """Delete an unattached upload: its object (or unfinished multipart upload) after commit."""
    storage = private_storage()
    name, multipart_id = upload.storage_name, upload.multipart_id

    def delete_object():
        if multipart_id:
            storage.multipart_abort(name, upload_id=multipart_id)
        storage.delete(name)

    upload.delete()
    # robust: a bucket that does not answer is logged; the sweep finds the object again later.
    transaction.on_commit(delete_object, robust=True)


def direct_uploads_sweep(now=None) -> dict[str, int]:
    """Finish what was left half way and delete what was never used (beat, every 10 minutes)."""
    now = now or timezone.now()
    counts = {"finished": 0, "deleted": 0, "stray_objects": 0, "stray_multipart": 0}
    if not direct_uploads_enabled():
        return counts
    for pk in DirectUpload.objects.filter(attached_at__lt=now - FINISH_AFTER).values_list("pk", flat=True):
        try:
            direct_upload_finish(pk)
        except STORAGE_ERRORS:
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

    try:
        for name, modified in storage.objects_under("uploads"):
            if modified < cutoff and token_of(name) not in known:
                storage.delete(name)
                counts["stray_objects"] += 1
        for name, upload_id, started in storage.incomplete_multipart_uploads("uploads"):
            if started < cutoff and not DirectUpload.objects.filter(multipart_id=upload_id).exists():
                storage.multipart_abort(name, upload_id=upload_id)
                counts["stray_multipart"] += 1
    except STORAGE_ERRORS:
        logger.exception("Listing or deleting stray uploads failed; the next sweep tries again.")
    return counts

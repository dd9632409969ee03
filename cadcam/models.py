import uuid

from django.conf import settings
from django.db import models


class DirectUpload(models.Model):
    """A file the browser sends straight to the private bucket (S3 mode only; see
    cadcam/direct_uploads.py). It lives at `uploads/<token>/<name>` until a form that names
    its token is accepted: then it is moved under its order's or conversation's prefix and
    this row goes once the file's SHA-256 is recorded. One never attached is deleted after a day."""

    token = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="direct_uploads")
    name = models.CharField(max_length=255, help_text="The safe file name shown to people.")
    size = models.PositiveBigIntegerField(help_text="The size the browser announced, in bytes.")
    multipart_id = models.CharField(max_length=1024, blank=True, help_text="The S3 multipart upload, if any.")
    part_size = models.PositiveIntegerField(default=0, help_text="Bytes per part of a multipart upload (0: one POST).")
    etag = models.CharField(max_length=255, blank=True, help_text="The object's ETag when it was completed.")
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="When the browser finished sending it.")
    # Set in the transaction that attaches it (the row already has target_name); the object
    # moves there after that commits.
    attached_at = models.DateTimeField(null=True, blank=True)
    target_model = models.CharField(max_length=100, blank=True, help_text="app_label.model of the row that keeps it.")
    target_pk = models.BigIntegerField(null=True, blank=True)
    target_name = models.CharField(max_length=255, blank=True, help_text="Its storage name once moved.")
    moved_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["attached_at", "created_at"], name="direct_upload_sweep")]

    def __str__(self):
        return f"{self.name} ({self.token})"

    @property
    def part_count(self) -> int:
        return -(-self.size // self.part_size) if self.part_size else 1

    def part_bytes(self, number: int) -> int:
        """The size of part `number` (1-based): all are part_size but the last."""
        return min(self.part_size, self.size - (number - 1) * self.part_size)

    @property
    def storage_name(self) -> str:
        """Where the browser put it."""
        return f"uploads/{self.token}/{self.name}"

from pathlib import Path

from django.conf import settings
from django.core.files.storage import storages
from django.core.management.base import BaseCommand, CommandError

from cadcam.files import sha256_of
from cadcam.storage import is_s3, private_storage, put_verified, stored_sha256


class Command(BaseCommand):
    help = (
        "Copy the files kept on the local disk (MEDIA_ROOT, PRIVATE_MEDIA_ROOT) to the S3 storages under the "
        "same names, so the database needs no change. S3 checks each file's SHA-256 as it arrives; files "
        "already there with the same SHA-256 are skipped, so the command can be run again until it reports "
        "nothing left."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Only say what would be copied.")

    def handle(self, *args, dry_run=False, **options):
        targets = [("public media", Path(settings.MEDIA_ROOT), storages["default"]),
                   ("private files", Path(settings.PRIVATE_MEDIA_ROOT), private_storage())]
        if not all(is_s3(storage) for _, _, storage in targets):
            raise CommandError("Set AWS_STORAGE_BUCKET_NAME (and the other AWS_* variables) first: "
                               "the files are still stored on the local disk.")
        totals = {"copied": 0, "present": 0, "failed": 0}
        for label, root, storage in targets:
            for path in sorted(p for p in root.rglob("*") if p.is_file()) if root.is_dir() else ():
                name = path.relative_to(root).as_posix()
                outcome = self._migrate(storage, name, path, dry_run=dry_run)
                totals[outcome] += 1
                if outcome != "present":
                    self.stdout.write(f"{outcome}: {label} {name}")
        summary = (f"{totals['copied']} {'to copy' if dry_run else 'copied'}, {totals['present']} already there "
                   f"(same SHA-256), {totals['failed']} failed.")
        if totals["failed"]:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))

    def _migrate(self, storage, name: str, path: Path, *, dry_run: bool) -> str:
        with open(path, "rb") as source:
            sha256 = bytes.fromhex(sha256_of(source))
        if self._stored_digest(storage, name) == sha256:
            return "present"
        if dry_run:
            return "copied"
        put_verified(storage, name, path, sha256=sha256)
        if self._stored_digest(storage, name) != sha256 or storage.size(name) != path.stat().st_size:
            return "failed"
        return "copied"

    @staticmethod
    def _stored_digest(storage, name: str) -> bytes | None:
        """The object's SHA-256: the checksum S3 kept, or (for an object stored without one)
        computed from its bytes."""
        digest = stored_sha256(storage, name)
        if digest:
            return digest
        if digest is None:
            return None
        with storage.open(name, "rb") as stored:
            return bytes.fromhex(sha256_of(stored))

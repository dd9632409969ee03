"""Where uploaded files live: STORAGES["default"] (public media) and STORAGES["private"].

Locally both are folders (MEDIA_ROOT, PRIVATE_MEDIA_ROOT). With AWS_STORAGE_BUCKET_NAME set
they are the S3 storages below (settings.py, cadcam/s3_settings.py). The apps never ask which:
private files are served by `cadcam.files.private_file_response`, which streams a local file
and redirects to a short-lived signed URL on S3, and the browser uploads straight to the
bucket only when `direct_uploads_enabled()` (cadcam/direct_uploads.py).
"""

from __future__ import annotations

import base64
import posixpath
import threading
from collections.abc import Iterator
from datetime import datetime
from functools import partial
from urllib.parse import quote, urlsplit

from botocore import UNSIGNED
from botocore.client import Config
from botocore.exceptions import ClientError
from django.conf import settings
from django.core.files.storage import FileSystemStorage, storages
from django.core.signals import setting_changed
from django.db import transaction
from django.db.models import FileField
from django.dispatch import receiver
from django.utils.crypto import get_random_string
from django.utils.functional import LazyObject, cached_property, empty
from storages.backends.s3 import S3Storage
from storages.utils import clean_name


class PrivateFileSystemStorage(FileSystemStorage):
    """Files no URL may expose, kept under PRIVATE_MEDIA_ROOT and served only by views that
    check who is asking. It has no URLs at all."""

    @cached_property
    def base_location(self):
        return self._value_or_setting(self._location, settings.PRIVATE_MEDIA_ROOT)

    def _clear_cached_properties(self, setting, **kwargs):
        super()._clear_cached_properties(setting, **kwargs)
        if setting == "PRIVATE_MEDIA_ROOT":
            self.__dict__.pop("base_location", None)
            self.__dict__.pop("location", None)

    def url(self, name):
        raise ValueError("Private files have no URL; serve them through a view that checks permission.")


class _PrivateStorage(LazyObject):
    """STORAGES["private"], looked up when first used (and again after the setting changes in
    tests), like Django's `default_storage`."""

    def _setup(self):
        self._wrapped = storages["private"]


private = _PrivateStorage()


def private_storage():
    """The storage of private files. A callable, so that migrations do not freeze it."""
    return private


@receiver(setting_changed)
def _storages_changed(*, setting, **kwargs):
    if setting == "STORAGES":
        private._wrapped = empty


def is_s3(storage) -> bool:
    return isinstance(storage, S3Storage)  # a LazyObject answers for what it wraps


def storage_browser_origins() -> list[str]:
    """The addresses pages load stored files from besides our own: none for local folders."""
    origins = []
    for storage in (storages["default"], private_storage()):
        if is_s3(storage) and storage.browser_origin not in origins:
            origins.append(storage.browser_origin)
    return origins


class ObjectChanged(Exception):
    """The object's ETag is no longer the one pinned: its uploader sent other bytes since."""


def _precondition_failed(error: ClientError) -> bool:
    return error.response["ResponseMetadata"]["HTTPStatusCode"] == 412


class _S3Storage(S3Storage):
    """S3Storage that can hand the browser addresses on another endpoint than the server uses
    (AWS_S3_BROWSER_ENDPOINT_URL: MinIO is `http://minio:9000` inside docker-compose and
    `http://localhost:9000` for the browser). Presigned URLs sign the host, so they are made
    with a client for the browser's endpoint."""

    def get_default_settings(self):
        return super().get_default_settings() | {"browser_endpoint_url": None}

    def __init__(self, **options):
        super().__init__(**options)
        self._browser_clients = threading.local()

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_browser_clients", None)
        return state

    def __setstate__(self, state):
        super().__setstate__(state)
        self._browser_clients = threading.local()

    @property
    def client(self):
        return self.connection.meta.client

    def browser_client(self, *, signed: bool = True):
        if not self.browser_endpoint_url:
            return self.client if signed else self.unsigned_connection.meta.client
        attribute = "signed" if signed else "unsigned"
        client = getattr(self._browser_clients, attribute, None)
        if client is None:
            config = self.client_config
            if not signed:
                config = config.merge(Config(signature_version=UNSIGNED))
            client = self._create_session().client(
                "s3", region_name=self.region_name, use_ssl=self.use_ssl, endpoint_url=self.browser_endpoint_url,
                config=config, verify=self.verify,
            )
            setattr(self._browser_clients, attribute, client)
        return client

    @cached_property
    def browser_origin(self) -> str:
        """Where the browser reaches this storage's objects (for the Content-Security-Policy):
        the origin of the addresses boto3 makes for it (signing needs no network)."""
        if self.custom_domain:
            return f"{self.url_protocol}//{self.custom_domain.split('/')[0]}"
        address = self.browser_client(signed=False).generate_presigned_url(
            "get_object", Params={"Bucket": self.bucket_name, "Key": "x"}
        )
        parts = urlsplit(address)
        return f"{parts.scheme}://{parts.netloc}"

    def key(self, name: str) -> str:
        """The object key of a storage name (the location prefix added)."""
        return self._normalize_name(clean_name(name))

    def head(self, name: str) -> dict | None:
        """The object's metadata, or None when there is no such object."""
        try:
            return self.client.head_object(Bucket=self.bucket_name, Key=self.key(name), ChecksumMode="ENABLED")
        except ClientError as error:
            if error.response["ResponseMetadata"]["HTTPStatusCode"] == 404:
                return None
            raise

    def get_available_name(self, name, max_length=None):
        """Every save gets a fresh name (a random suffix): a public URL never shows other content
        than it did, and two files of the same name saved at once never share an object."""
        directory, filename = posixpath.split(clean_name(name))
        stem, extension = posixpath.splitext(filename)
        name = posixpath.join(directory, f"{stem}_{get_random_string(10)}{extension}")
        return super().get_available_name(name, max_length)

    def _acl(self) -> dict:
        return {"ACL": self.default_acl} if self.default_acl else {}

    def url(self, name, parameters=None, expire=None, http_method=None):
        if self.custom_domain or not self.browser_endpoint_url:
            return super().url(name, parameters=parameters, expire=expire, http_method=http_method)
        params = (parameters or {}) | {"Bucket": self.bucket_name, "Key": self.key(name)}
        return self.browser_client(signed=self.querystring_auth).generate_presigned_url(
            "get_object", Params=params, ExpiresIn=expire or self.querystring_expire, HttpMethod=http_method
        )


class PublicS3Storage(_S3Storage):
    """Public media (profile photos, listing images): readable by anyone, cached for a year."""


class PrivateS3Storage(_S3Storage):
    """Private files: objects without public access, read through signed URLs that live a
    few minutes (PRIVATE_FILE_URL_SECONDS) and are handed out only by views that check."""

    def signed_download_url(self, name: str, *, filename: str, content_type: str | None, inline: bool) -> str:
        disposition = "inline" if inline else "attachment"
        parameters = {
            "ResponseContentDisposition": f"{disposition}; filename*=UTF-8''{quote(filename)}",
            "ResponseContentType": content_type or "application/octet-stream",
            "ResponseCacheControl": "private, no-store",
        }
        return self.url(name, parameters=parameters)

    # --- direct uploads (cadcam/direct_uploads.py) -------------------------------------------

    def presigned_post(self, name: str, *, size: int, expire: int) -> dict:
        """A form the browser posts the file to: this key, exactly `size` bytes, private."""
        key = self.key(name)
        fields = {"Content-Type": "application/octet-stream"}
        if self.default_acl:
            fields["acl"] = self.default_acl
        conditions = [{name: value} for name, value in fields.items()] + [["content-length-range", size, size]]
        return self.browser_client().generate_presigned_post(
            self.bucket_name, key, Fields=fields, Conditions=conditions, ExpiresIn=expire
        )

    def multipart_start(self, name: str) -> str:
        answer = self.client.create_multipart_upload(
            Bucket=self.bucket_name, Key=self.key(name), ContentType="application/octet-stream", **self._acl()
        )
        return answer["UploadId"]

    def multipart_part_url(self, name: str, *, upload_id: str, number: int, size: int, expire: int) -> str:
        """A URL for one part, signed with its length: S3 refuses a part of any other size."""
        return self.browser_client().generate_presigned_url(
            "upload_part", ExpiresIn=expire,
            Params={"Bucket": self.bucket_name, "Key": self.key(name), "UploadId": upload_id, "PartNumber": number,
                    "ContentLength": size},
        )

    def multipart_parts(self, name: str, *, upload_id: str) -> list[dict]:
        parts = []
        paginator = self.client.get_paginator("list_parts")
        for page in paginator.paginate(Bucket=self.bucket_name, Key=self.key(name), UploadId=upload_id):
            parts.extend(page.get("Parts", ()))
        return parts

    def multipart_complete(self, name: str, *, upload_id: str, parts: list[dict]) -> None:
        self.client.complete_multipart_upload(
            Bucket=self.bucket_name, Key=self.key(name), UploadId=upload_id,
            MultipartUpload={"Parts": [{"PartNumber": part["PartNumber"], "ETag": part["ETag"]} for part in parts]},
        )

    def multipart_abort(self, name: str, *, upload_id: str) -> None:
        try:
            self.client.abort_multipart_upload(Bucket=self.bucket_name, Key=self.key(name), UploadId=upload_id)
        except ClientError as error:
            if error.response["Error"]["Code"] not in {"NoSuchUpload", "404"}:
                raise

    def read_range(self, name: str, start: int, end: int, *, etag: str = "") -> bytes:
        """Bytes start..end (inclusive) of the object: a ranged GET, of these bytes only when
        an ETag is given (else ObjectChanged)."""
        condition = {"IfMatch": etag} if etag else {}
        try:
            answer = self.client.get_object(Bucket=self.bucket_name, Key=self.key(name), Range=f"bytes={start}-{end}",
                                            **condition)
        except ClientError as error:
            if _precondition_failed(error):
                raise ObjectChanged(name) from error
            raise
        return answer["Body"].read()

    def copy(self, source: str, target: str, *, etag: str = "") -> None:
        """A copy inside the bucket (one CopyObject, up to 5 GB): the bytes never leave S3. With
        an ETag, only those bytes are copied (else ObjectChanged)."""
        condition = {"CopySourceIfMatch": etag} if etag else {}
        try:
            self.client.copy_object(
                CopySource={"Bucket": self.bucket_name, "Key": self.key(source)}, Bucket=self.bucket_name,
                Key=self.key(target), MetadataDirective="COPY", **condition, **self._acl(),
            )
        except ClientError as error:
            if _precondition_failed(error):
                raise ObjectChanged(source) from error
            raise

    def objects_under(self, prefix: str) -> Iterator[tuple[str, datetime]]:
        """(storage name, last modified) of every object under a prefix of this storage."""
        base = self.key(prefix).rstrip("/") + "/"
        strip = len(self.key("x")) - 1  # the location prefix and its slash
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=base):
            for entry in page.get("Contents", ()):
                yield entry["Key"][strip:], entry["LastModified"]

    def incomplete_multipart_uploads(self, prefix: str) -> Iterator[tuple[str, str, datetime]]:
        """(storage name, upload id, started) of multipart uploads never completed or aborted."""
        base = self.key(prefix).rstrip("/") + "/"
        strip = len(self.key("x")) - 1
        paginator = self.client.get_paginator("list_multipart_uploads")
        for page in paginator.paginate(Bucket=self.bucket_name, Prefix=base):
            for upload in page.get("Uploads", ()):
                yield upload["Key"][strip:], upload["UploadId"], upload["Initiated"]


def put_verified(storage: _S3Storage, name: str, path, *, sha256: bytes) -> None:
    """Upload a local file to exactly this name, S3 checking the SHA-256 on arrival (for
    migrate_files_to_s3: the name must stay what the database says)."""
    parameters = storage._get_write_parameters(name)
    with open(path, "rb") as source:
        storage.client.put_object(
            Bucket=storage.bucket_name, Key=storage.key(name), Body=source,
            ChecksumSHA256=base64.b64encode(sha256).decode(), **parameters,
        )


def stored_sha256(storage: _S3Storage, name: str) -> bytes | None:
    """The SHA-256 S3 keeps for an object uploaded with one (put_verified); b"" for an object
    stored without one, None when there is no object."""
    answer = storage.head(name)
    if answer is None:
        return None
    checksum = answer.get("ChecksumSHA256")
    return base64.b64decode(checksum) if checksum else b""


def delete_files_on_commit(sender, instance, **kwargs):
    """post_delete of every model with file fields (connected in CadcamConfig.ready): a deleted
    row takes its files with it, once the deletion commits (a rollback keeps both)."""
    for field in sender._meta.concrete_fields:
        if isinstance(field, FileField):
            stored = getattr(instance, field.attname)
            if stored and stored.name:
                transaction.on_commit(partial(stored.storage.delete, stored.name))

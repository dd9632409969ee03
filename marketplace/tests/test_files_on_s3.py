"""Files on S3, through boto3 against moto's S3 server (the `s3` fixture): the storages, signed
downloads and their permission checks, direct uploads (presigned POST and multipart), the
content checks on uploaded objects, orphans, deletion with the row, and migrate_files_to_s3."""

import hashlib
import io
import logging
import re
import struct
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine
from botocore.exceptions import EndpointConnectionError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage, storages
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from accounts.tests.helpers import make_user
from cadcam.direct_uploads import (
    direct_upload_complete,
    direct_upload_finish,
    direct_upload_start,
    direct_uploads_sweep,
)
from cadcam.models import DirectUpload
from cadcam.s3_settings import PUBLIC_CACHE_CONTROL
from cadcam.storage import PrivateS3Storage, private_storage
from cadcam.tests import s3_helpers
from listings.tests.helpers import make_published
from messaging.models import Attachment
from orders.forms import DeliveryForm
from orders.models import Order, OrderFile
from orders.tests.helpers import make_order, stl_upload

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


def stl_bytes(triangles: int) -> bytes:
    """A binary STL of exactly 84 + 50 * triangles bytes."""
    body = struct.pack("<12fH", *([0.0] * 12), 0) * triangles
    return b"cadcam s3 test".ljust(80, b" ") + struct.pack("<I", triangles) + body


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "teal").save(buffer, "PNG")
    return buffer.getvalue()


def send_case(client, listing, tokens):
    return client.post(reverse("orders:send_case", args=[listing.pk]), {"quantity": "1", "files": tokens})


# --- storages ------------------------------------------------------------------------------------


def test_public_media_is_public_cached_and_never_renamed_in_place(s3):
    first = default_storage.save("listings/1/image.jpg", ContentFile(b"jpeg bytes"))
    second = default_storage.save("listings/1/image.jpg", ContentFile(b"other bytes"))

    assert first != second  # a fresh name every save: a cached URL never shows other content
    head = s3.client.head_object(Bucket=s3.bucket, Key=f"media/{first}")
    assert head["CacheControl"] == PUBLIC_CACHE_CONTROL
    grants = s3.client.get_object_acl(Bucket=s3.bucket, Key=f"media/{first}")["Grants"]
    assert any(g["Grantee"].get("URI", "").endswith("AllUsers") and g["Permission"] == "READ" for g in grants)
    url = default_storage.url(first)
    assert url.startswith(f"{s3.endpoint}/{s3.bucket}/media/listings/1/") and "Signature" not in url
    assert requests.get(url, timeout=10).content == b"jpeg bytes"


def test_private_files_are_private_objects_under_their_own_prefix(s3):
    name = private_storage().save("orders/7/crown.stl", ContentFile(b"solid x"))

    assert s3.keys() == [f"private/{name}"]
    grants = s3.client.get_object_acl(Bucket=s3.bucket, Key=f"private/{name}")["Grants"]
    assert not any("AllUsers" in g["Grantee"].get("URI", "") for g in grants)


def test_streamed_uploads_still_work_on_s3(s3, client):
    """A browser without JavaScript posts the file to us; it is stored in the bucket."""
    listing = make_published()
    client.force_login(make_user())
    response = send_case(client, listing, [stl_upload("crown.stl")])

    order = Order.objects.get()
    assert response["Location"] == reverse("orders:pay", args=[order.pk])
    stored = order.files.get()
    assert s3.keys("private/orders/") == [f"private/{stored.file.name}"]
    assert stored.sha256 == hashlib.sha256(stl_upload().read()).hexdigest()


# --- signed downloads ----------------------------------------------------------------------------


def test_a_party_is_redirected_to_a_short_lived_signed_url_others_get_404(s3, client):
    order = make_order(files=[stl_upload("crown 36.stl")])
    stored = order.files.get()
    url = reverse("orders:download", args=[order.pk, stored.pk])

    client.force_login(order.employer)
    response = client.get(url)
    assert response.status_code == 302
    assert response["Cache-Control"] == "private, no-store"
    signed = response["Location"]
    query = parse_qs(urlsplit(signed).query)
    assert signed.startswith(f"{s3.endpoint}/{s3.bucket}/private/orders/{order.pk}/")
    assert query["X-Amz-Expires"] == ["300"]
    assert query["response-content-disposition"] == ["attachment; filename*=UTF-8''crown%2036.stl"]
    assert query["response-content-type"] == ["application/octet-stream"]
    fetched = requests.get(signed, timeout=10)
    assert fetched.content == stl_upload().read()
    assert fetched.headers["Content-Disposition"].startswith("attachment")
    assert fetched.headers["Content-Type"] == "application/octet-stream"

    # The 3D preview fetches the same URL inline; still opaque bytes, never a page.
    inline = client.get(url + "?inline=1")
    assert parse_qs(urlsplit(inline["Location"]).query)["response-content-type"] == ["application/octet-stream"]

    client.force_login(order.listing.owner)  # the designer is the other party
    assert client.get(url).status_code == 302
    client.force_login(make_user())
    assert client.get(url).status_code == 404
    assert client.get(url + "?inline=1").status_code == 404
    client.logout()
    assert client.get(url)["Location"].startswith(reverse("account_login"))  # to sign in, not to the file


def test_an_image_preview_asks_for_its_own_type_inline(s3, client):
    order = make_order(files=[ContentFile(png_bytes(), name="shade.png")])
    stored = order.files.get()
    client.force_login(order.listing.owner)
    response = client.get(reverse("orders:download", args=[order.pk, stored.pk]) + "?inline=1")
    query = parse_qs(urlsplit(response["Location"]).query)
    assert query["response-content-type"] == ["image/png"]
    assert query["response-content-disposition"][0].startswith("inline;")


def test_pages_allow_the_bucket_in_their_content_security_policy(s3, client):
    policy = client.get(reverse("home"))["Content-Security-Policy"]
    for directive in ("img-src", "connect-src", "frame-src"):
        sources = next(part for part in policy.split(";") if part.strip().startswith(directive))
        assert s3.endpoint in sources


# --- direct uploads ------------------------------------------------------------------------------


def test_a_small_case_file_goes_by_presigned_post_and_moves_under_the_order(
    s3, client, django_capture_on_commit_callbacks
):
    listing = make_published()
    employer = make_user()
    client.force_login(employer)
    data = stl_bytes(40)
    token = s3_helpers.upload(client, "Crown 36.stl", data)
    assert s3.keys("private/uploads/") == [f"private/uploads/{token}/Crown 36.stl"]
    assert s3.keys("private/orders/") == []

    with django_capture_on_commit_callbacks(execute=True):
        response = send_case(client, listing, [token])

    order = Order.objects.get()
    assert response["Location"] == reverse("orders:pay", args=[order.pk])
    stored = order.files.get()
    assert (stored.name, stored.size, stored.uploaded_by) == ("Crown 36.stl", len(data), employer)
    assert re.fullmatch(rf"orders/{order.pk}/Crown_36_[A-Za-z0-9]{{10}}\.stl", stored.file.name)
    assert s3.keys("private/orders/") == [f"private/{stored.file.name}"]
    assert s3.keys("private/uploads/") == []
    assert s3.read(f"private/{stored.file.name}") == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()  # computed by the task, not the web process
    assert not DirectUpload.objects.exists()


def test_a_large_file_goes_in_parts_and_a_missing_part_can_be_sent_again(
    s3, client, settings, django_capture_on_commit_callbacks
):
    settings.DIRECT_UPLOAD_PART_BYTES = 5 * MB  # S3's smallest part
    listing = make_published()
    client.force_login(make_user())
    data = stl_bytes((11 * MB) // 50)
    answer = s3_helpers.start(client, "arch.stl", len(data)).json()
    assert len(answer["parts"]) == 3 and "post" not in answer

    s3_helpers.send_bytes(answer, data, skip_parts={2})  # part 2 failed in the browser
    refused = s3_helpers.complete(client, answer)
    assert refused.status_code == 400
    assert refused.json() == {"error": "arch.stl did not arrive whole (2 of 3 parts); send it again."}

    size = answer["part_size"]
    requests.put(answer["parts"][1], data=data[size:2 * size], timeout=30).raise_for_status()  # the retry
    assert s3_helpers.complete(client, answer).status_code == 200
    assert s3_helpers.complete(client, answer).status_code == 200  # a repeated call changes nothing

    with django_capture_on_commit_callbacks(execute=True):
        send_case(client, listing, [answer["token"]])
    stored = OrderFile.objects.get()
    assert s3.read(f"private/{stored.file.name}") == data
    assert stored.sha256 == hashlib.sha256(data).hexdigest()


def test_completing_after_the_answer_was_lost_finds_the_finished_object(s3, client, settings):
    """The multipart upload was completed at S3 but our transaction was lost: the next call
    finds the object whole and records it."""
    settings.DIRECT_UPLOAD_PART_BYTES = 5 * MB
    owner = make_user()
    data = stl_bytes((6 * MB) // 50)
    answer = direct_upload_start(owner=owner, name="arch.stl", size=len(data))
    s3_helpers.send_bytes(answer | {"complete_url": ""}, data)
    upload = DirectUpload.objects.get()
    storage = private_storage()
    storage.multipart_complete(upload.storage_name, upload_id=upload.multipart_id,
                               parts=storage.multipart_parts(upload.storage_name, upload_id=upload.multipart_id))

    assert direct_upload_complete(owner=owner, token=answer["token"]).completed_at is not None


def test_the_start_refuses_what_a_form_would_refuse(s3, client, settings):
    client.force_login(make_user())
    cases = [
        (("notes.exe", 10), "notes.exe is not an accepted file type."),
        (("scan.stl", 100 * MB + 1), "scan.stl is 100.0 MB; the limit is 100.0 MB."),
        (("scan.stl", 0), "scan.stl is empty."),
    ]
    for (name, size), message in cases:
        response = s3_helpers.start(client, name, size)
        assert response.status_code == 400
        assert response.json()["error"].replace("\xa0", " ").startswith(message)
    for body in ("not json", "[]", '{"name": "a.stl", "size": "12"}', '{"name": "a.stl", "size": true}'):
        response = client.post(reverse("direct_upload_start"), body, content_type="application/json")
        assert response.status_code == 400
    settings.DIRECT_UPLOADS_PENDING_QUOTA_BYTES = 150
    assert s3_helpers.start(client, "a.stl", 100).status_code == 201
    over = s3_helpers.start(client, "b.stl", 100)
    assert over.status_code == 400 and "would pass the limit" in over.json()["error"]
    assert DirectUpload.objects.count() == 1


def test_direct_uploads_need_a_signed_in_user_and_s3(client):
    assert client.post(reverse("direct_upload_start"), "{}", content_type="application/json").status_code == 302
    client.force_login(make_user())
    response = s3_helpers.start(client, "a.stl", 100)
    assert response.status_code == 404  # local storage: forms post their files


def test_an_object_whose_content_does_not_match_is_refused_and_deleted(
    s3, client, django_capture_on_commit_callbacks
):
    listing = make_published()
    client.force_login(make_user())
    token = s3_helpers.upload(client, "crown.stl", b"MZ\x90\x00 this is a program, not a mesh" * 10)

    with django_capture_on_commit_callbacks(execute=True):
        response = send_case(client, listing, [token])

    assert response.status_code == 200
    assert "The content of crown.stl does not match its file type." in response.content.decode()
    assert not Order.objects.exists()
    assert not DirectUpload.objects.exists()
    assert s3.keys("private/uploads/") == s3.keys("private/orders/") == []


def test_a_form_shown_again_keeps_the_uploads_that_passed(s3, client):
    listing = make_published()
    client.force_login(make_user())
    good = s3_helpers.upload(client, "crown.stl", stl_bytes(3))
    response = client.post(reverse("orders:send_case", args=[listing.pk]), {"quantity": "0", "files": [good]})

    page = response.content.decode()
    assert response.status_code == 200 and not Order.objects.exists()
    assert f'<input type="hidden" name="files" value="{good}">' in page
    assert DirectUpload.objects.filter(token=good).exists()


def test_another_users_upload_cannot_be_used_or_completed(s3, client):
    listing = make_published()
    owner, thief = make_user(), make_user()
    client.force_login(owner)
    token = s3_helpers.upload(client, "crown.stl", stl_bytes(2))

    client.force_login(thief)
    response = send_case(client, listing, [token])
    assert "An uploaded file could not be found" in response.content.decode()
    assert client.post(reverse("direct_upload_complete", args=[token])).status_code == 404
    assert not Order.objects.exists()
    assert s3.keys("private/uploads/") == [f"private/uploads/{token}/crown.stl"]  # still the owner's

    for tampered in ("not-a-token", "00000000-0000-0000-0000-000000000000"):
        response = send_case(client, listing, [tampered])
        assert "An uploaded file could not be found" in response.content.decode()


def test_an_upload_is_used_once(s3, client, django_capture_on_commit_callbacks):
    listing = make_published()
    client.force_login(make_user())
    token = s3_helpers.upload(client, "crown.stl", stl_bytes(2))
    with django_capture_on_commit_callbacks(execute=True):
        send_case(client, listing, [token])
    again = send_case(client, listing, [token])
    assert "An uploaded file could not be found" in again.content.decode()
    assert Order.objects.count() == 1


def test_message_attachments_go_straight_to_the_bucket(s3, client, django_capture_on_commit_callbacks):
    order = make_order(files=[stl_upload()])
    client.force_login(order.employer)
    token = s3_helpers.upload(client, "margin.png", png_bytes())
    conversation_url = reverse("messaging:contact", args=[order.listing.pk])
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(conversation_url, {"body": "See the margin", "files": [token]})
    assert response.status_code == 302
    attachment = Attachment.objects.get()
    assert s3.keys("private/messages/") == [f"private/{attachment.file.name}"]
    assert attachment.sha256 == hashlib.sha256(png_bytes()).hexdigest()


# --- orphans, deletion and recovery --------------------------------------------------------------


def test_the_sweep_deletes_uploads_never_attached_within_a_day(
    s3, client, settings, django_capture_on_commit_callbacks
):
    settings.DIRECT_UPLOAD_PART_BYTES = 5 * MB
    owner = make_user()
    client.force_login(owner)
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        s3_helpers.upload(client, "old.stl", stl_bytes(2))
        unfinished = direct_upload_start(owner=owner, name="big.stl", size=6 * MB)
    fresh = s3_helpers.upload(client, "fresh.stl", stl_bytes(2))
    # An object and a multipart upload that no row knows (their transaction was lost), a day old.
    lost = "private/uploads/5b0e1b52-5c8e-4b0e-9d7a-9f3f1d2e0a11/lost.stl"
    s3.client.put_object(Bucket=s3.bucket, Key=lost, Body=b"x")
    stray = private_storage().multipart_start("uploads/6c1f2c63-6d9f-4c1f-8e8b-0a4a2e3f1b22/lost.stl")

    def multipart_keys():
        return [u["Key"] for u in s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", [])]

    with django_capture_on_commit_callbacks(execute=True):
        counts = direct_uploads_sweep(now=timezone.now())
    assert counts["deleted"] == 2  # the old upload and the unfinished multipart one
    assert {str(t) for t in DirectUpload.objects.values_list("token", flat=True)} == {fresh}
    assert s3.keys("private/uploads/") == sorted([f"private/uploads/{fresh}/fresh.stl",
                                                   "private/uploads/5b0e1b52-5c8e-4b0e-9d7a-9f3f1d2e0a11/lost.stl"])
    # moto reports every multipart upload as started in 2010, so the stray one goes at once too.
    assert counts["stray_multipart"] >= 1 and multipart_keys() == []
    assert unfinished["token"] not in str(s3.keys())

    with django_capture_on_commit_callbacks(execute=True):
        counts = direct_uploads_sweep(now=timezone.now() + timedelta(hours=25))
    assert counts["deleted"] == 1 and counts["stray_objects"] >= 1
    assert s3.keys("private/uploads/") == [] and stray
    assert not DirectUpload.objects.exists()


def test_an_attached_upload_whose_move_was_lost_is_moved_by_the_sweep(
    s3, client, django_capture_on_commit_callbacks
):
    listing = make_published()
    client.force_login(make_user())
    token = s3_helpers.upload(client, "crown.stl", stl_bytes(2))
    send_case(client, listing, [token])  # committed, but the process died before the move
    stored = OrderFile.objects.get()
    assert s3.keys("private/uploads/") == [f"private/uploads/{token}/crown.stl"]
    assert s3.keys("private/orders/") == []
    assert stored.file.name.startswith(f"orders/{stored.order_id}/crown_") and stored.sha256 == ""

    with django_capture_on_commit_callbacks(execute=True):
        counts = direct_uploads_sweep(now=timezone.now() + timedelta(minutes=11))
    assert counts["finished"] == 1
    stored.refresh_from_db()
    assert s3.keys("private/orders/") == [f"private/{stored.file.name}"]
    assert s3.keys("private/uploads/") == []
    assert stored.sha256 == hashlib.sha256(stl_bytes(2)).hexdigest()
    assert not DirectUpload.objects.exists()


def test_a_move_cut_off_half_way_is_finished_by_running_it_again(s3, client):
    """The copy was made, but the process died before it deleted the upload's object."""
    listing = make_published()
    client.force_login(make_user())
    token = s3_helpers.upload(client, "crown.stl", stl_bytes(2))
    send_case(client, listing, [token])
    direct = DirectUpload.objects.get()
    private_storage().copy(direct.storage_name, direct.target_name)

    direct_upload_finish(direct.pk)

    stored = OrderFile.objects.get()
    assert stored.file.name == direct.target_name
    assert s3.keys("private/uploads/") == [] and s3.keys("private/orders/") == [f"private/{direct.target_name}"]
    assert stored.sha256 == hashlib.sha256(stl_bytes(2)).hexdigest()


def test_a_row_deleted_before_the_move_takes_the_upload_with_it(s3, client, django_capture_on_commit_callbacks):
    listing = make_published()
    client.force_login(make_user())
    token = s3_helpers.upload(client, "crown.stl", stl_bytes(2))
    send_case(client, listing, [token])
    direct = DirectUpload.objects.get()
    OrderFile.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        direct_upload_finish(direct.pk)
    assert not DirectUpload.objects.exists()
    assert s3.keys("private/uploads/") == s3.keys("private/orders/") == []


def test_deleting_a_row_deletes_its_object_once_committed(s3, django_capture_on_commit_callbacks):
    order = make_order(files=[stl_upload()])
    stored = order.files.get()
    assert s3.keys("private/orders/") == [f"private/{stored.file.name}"]
    with django_capture_on_commit_callbacks(execute=True):
        stored.delete()
    assert s3.keys("private/orders/") == []


# --- migrate_files_to_s3 -------------------------------------------------------------------------


def test_migrate_files_to_s3_copies_verifies_and_can_run_again(settings, s3):
    assert "S3" in storages.backends["private"]["BACKEND"]
    public_root, private_root = settings.MEDIA_ROOT, settings.PRIVATE_MEDIA_ROOT
    (public_root / "profiles/3").mkdir(parents=True)
    (public_root / "profiles/3/photo.jpg").write_bytes(b"photo")
    (private_root / "orders/9").mkdir(parents=True)
    (private_root / "orders/9/crown.stl").write_bytes(stl_bytes(2))

    out = io.StringIO()
    call_command("migrate_files_to_s3", "--dry-run", stdout=out)
    assert "2 to copy" in out.getvalue() and s3.keys() == []

    call_command("migrate_files_to_s3", stdout=out)
    assert s3.keys() == ["media/profiles/3/photo.jpg", "private/orders/9/crown.stl"]
    assert s3.read("private/orders/9/crown.stl") == stl_bytes(2)

    out = io.StringIO()
    call_command("migrate_files_to_s3", stdout=out)
    assert "0 copied, 2 already there" in out.getvalue()

    s3.client.put_object(Bucket=s3.bucket, Key="private/orders/9/crown.stl", Body=b"damaged")
    out = io.StringIO()
    call_command("migrate_files_to_s3", stdout=out)
    assert "1 copied, 1 already there" in out.getvalue()
    assert s3.read("private/orders/9/crown.stl") == stl_bytes(2)


def test_migrate_files_to_s3_needs_a_bucket():
    with pytest.raises(CommandError, match="AWS_STORAGE_BUCKET_NAME"):
        call_command("migrate_files_to_s3")


# --- what an uploader (or a bucket) might do wrong --------------------------------------------------


def test_two_files_of_the_same_name_keep_their_own_objects(s3, client, django_capture_on_commit_callbacks):
    listing = make_published()
    client.force_login(make_user())
    upper, lower = stl_bytes(3), stl_bytes(4)
    tokens = [s3_helpers.upload(client, "crown.stl", upper), s3_helpers.upload(client, "crown.stl", lower)]
    with django_capture_on_commit_callbacks(execute=True):
        send_case(client, listing, tokens)
    first, second = OrderFile.objects.order_by("pk")
    assert first.file.name != second.file.name
    assert s3.read(f"private/{first.file.name}") == upper and s3.read(f"private/{second.file.name}") == lower


def test_bytes_swapped_in_after_the_upload_are_refused_by_the_checks(s3, client, django_capture_on_commit_callbacks):
    listing = make_published()
    client.force_login(make_user())
    data = stl_bytes(3)
    answer = s3_helpers.start(client, "crown.stl", len(data)).json()
    s3_helpers.send_bytes(answer, data)
    assert s3_helpers.complete(client, answer).status_code == 200
    s3_helpers.send_bytes(answer, b"MZ" + b"\0" * (len(data) - 2))  # the presigned POST used again

    with django_capture_on_commit_callbacks(execute=True):
        response = send_case(client, listing, [answer["token"]])
    assert "crown.stl changed after it was sent; choose the file again." in response.content.decode()
    assert not Order.objects.exists() and s3.keys("private/uploads/") == []


def test_bytes_swapped_in_after_the_checks_are_never_kept(s3, client, caplog):
    listing = make_published()
    client.force_login(make_user())
    data = stl_bytes(3)
    answer = s3_helpers.start(client, "crown.stl", len(data)).json()
    s3_helpers.send_bytes(answer, data)
    s3_helpers.complete(client, answer)
    send_case(client, listing, [answer["token"]])  # checked and attached; the move not run yet
    s3_helpers.send_bytes(answer, b"MZ" + b"\0" * (len(data) - 2))

    with caplog.at_level(logging.ERROR, logger="cadcam.direct_uploads"):
        direct_upload_finish(DirectUpload.objects.get().pk)
    assert "changed after its checks" in caplog.text
    assert s3.keys("private/orders/") == []  # nothing unchecked under the order
    assert not DirectUpload.objects.exists()


def test_parts_of_other_sizes_than_announced_are_refused_and_deleted(
    s3, client, settings, django_capture_on_commit_callbacks
):
    settings.DIRECT_UPLOAD_PART_BYTES = 5 * MB
    client.force_login(make_user())
    size = 6 * MB
    answer = s3_helpers.start(client, "arch.stl", size).json()
    # (S3 itself refuses these: each part URL is signed with its length. moto does not check.)
    requests.put(answer["parts"][0], data=b"x" * (MB), timeout=30)
    requests.put(answer["parts"][1], data=b"x" * (5 * MB), timeout=30)

    with django_capture_on_commit_callbacks(execute=True):
        response = s3_helpers.complete(client, answer)
    assert response.status_code == 400
    assert response.json() == {"error": "arch.stl did not arrive as announced; send it again."}
    assert not DirectUpload.objects.exists()
    assert s3.client.list_multipart_uploads(Bucket=s3.bucket).get("Uploads", []) == []
    assert "X-Amz-SignedHeaders=content-length" in answer["parts"][0] or "content-length" in answer["parts"][0]


def test_an_object_of_another_size_is_deleted_at_completion(s3, client, django_capture_on_commit_callbacks):
    client.force_login(make_user())
    answer = s3_helpers.start(client, "crown.stl", 200).json()
    upload = DirectUpload.objects.get()
    s3.client.put_object(Bucket=s3.bucket, Key=f"private/{upload.storage_name}", Body=b"x" * 50)

    with django_capture_on_commit_callbacks(execute=True):
        response = s3_helpers.complete(client, answer)
    assert response.status_code == 400
    assert not DirectUpload.objects.exists() and s3.keys("private/uploads/") == []


def test_support_messages_take_direct_uploads(s3, client, django_capture_on_commit_callbacks):
    client.force_login(make_user())
    token = s3_helpers.upload(client, "crown.stl", stl_bytes(2))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("messaging:support"), {"body": "The upload looks wrong", "files": [token]})
    assert response.status_code == 302
    assert Attachment.objects.get().name == "crown.stl"


def test_a_bound_form_with_direct_uploads_needs_its_uploader():
    with pytest.raises(TypeError, match=r"pass uploader=request\.user"):
        DeliveryForm({"note": "x"}, {})
    DeliveryForm()  # an unbound form shows no files: no uploader needed


def test_a_name_the_browser_cannot_have_meant_is_cleaned_not_a_crash(s3, client):
    client.force_login(make_user())
    response = client.post(reverse("direct_upload_start"), '{"name": "\\ud800crown.stl", "size": 10}',
                           content_type="application/json")
    assert response.status_code == 201
    assert DirectUpload.objects.get().name == "crown.stl"


def test_the_sweep_goes_on_when_the_bucket_does_not_answer_for_one_upload(
    s3, client, monkeypatch, django_capture_on_commit_callbacks
):
    listing = make_published()
    owner = make_user()
    client.force_login(owner)
    send_case(client, listing, [s3_helpers.upload(client, "crown.stl", stl_bytes(2))])  # attached, not moved
    with time_machine.travel(timezone.now() - timedelta(hours=25)):
        s3_helpers.upload(client, "old.stl", stl_bytes(2))

    def unreachable(*args, **kwargs):
        raise EndpointConnectionError(endpoint_url=s3.endpoint)

    monkeypatch.setattr(PrivateS3Storage, "copy", unreachable)
    with django_capture_on_commit_callbacks(execute=True):
        counts = direct_uploads_sweep(now=timezone.now() + timedelta(minutes=11))
    assert counts["finished"] == 0 and counts["deleted"] == 1  # the orphan went all the same
    assert DirectUpload.objects.filter(attached_at__isnull=False).count() == 1


def test_on_aws_the_policy_names_the_bucket_not_all_of_s3():
    storage = PrivateS3Storage(bucket_name="cadcam-files", region_name="eu-central-1", addressing_style="virtual")
    assert storage.browser_origin == "https://cadcam-files.s3.eu-central-1.amazonaws.com"

"""Patient data in downloads with files on S3 (moto, the `s3` fixture): the uploader is sent
to the signed URL of the original as before; the other party gets the blanked copy, read
from the bucket and served by us, never a signed URL of the original."""

import re

import pytest
import requests
from django.urls import reverse

from cadcam.construction_info import blank_patient_data
from orders.tests.helpers import make_order, stl_upload
from orders.tests.test_previews import CONSTRUCTION_INFO, construction_info_upload

pytestmark = pytest.mark.django_db


def test_on_s3_the_uploader_gets_the_signed_original_and_the_other_party_the_blanked_copy(s3, client):
    order = make_order(files=[construction_info_upload(), stl_upload("crown.stl")], hide_patient_data=True)
    exocad = order.files.get(name="case.constructionInfo")
    url = reverse("orders:download", args=[order.pk, exocad.pk])
    assert s3.read(f"private/{exocad.file.name}") == CONSTRUCTION_INFO

    client.force_login(order.employer)
    original = client.get(url)
    assert original.status_code == 302
    assert original["Location"].startswith(f"{s3.endpoint}/{s3.bucket}/private/orders/{order.pk}/")
    assert requests.get(original["Location"], timeout=10).content == CONSTRUCTION_INFO

    client.force_login(order.freelancer)
    copy = client.get(url)
    assert copy.status_code == 200
    body = b"".join(copy.streaming_content)
    assert body == blank_patient_data(CONSTRUCTION_INFO)
    assert b"Kowalski" not in body and b"Anna" not in body
    assert re.fullmatch(r'attachment; filename="case-[0-9a-f]{8}\.constructionInfo"', copy["Content-Disposition"])
    assert copy["Cache-Control"] == "private, no-store"

    stl = order.files.get(name="crown.stl")
    assert client.get(reverse("orders:download", args=[order.pk, stl.pk])).status_code == 302  # unchanged path

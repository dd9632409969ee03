"""Files sent with a dispute follow the "hide patient data" box like every attachment: the
designer downloads an exocad file with the patient fields blanked, staff who decide get the
original, and the dispute form says what the box does."""

import pytest
from django.urls import reverse
from django.utils.html import escape

from accounts.tests.helpers import make_user
from cadcam.previews import PATIENT_DATA_HELP
from disputes.services import dispute_open
from disputes.tests.helpers import DESCRIPTION, make_accepted
from messaging.models import Attachment
from messaging.tests.test_patient_data_downloads import BLANKED, CONSTRUCTION_INFO, exocad_upload, fetch

pytestmark = pytest.mark.django_db


def test_in_a_dispute_the_designer_gets_the_copy_and_staff_the_original(client):
    order = make_accepted()
    dispute_open(order=order, by=order.employer, reason="quality", description=DESCRIPTION,
                 files=[exocad_upload()], hide_patient_data=True)
    attachment = Attachment.objects.get()

    assert fetch(client, order.freelancer, attachment)[1] == BLANKED
    assert fetch(client, make_user(is_staff=True), attachment)[1] == CONSTRUCTION_INFO
    assert fetch(client, order.employer, attachment)[1] == CONSTRUCTION_INFO


def test_the_dispute_form_explains_the_box(client):
    order = make_accepted()
    client.force_login(order.employer)

    page = client.get(reverse("disputes:open", args=[order.pk])).content.decode()

    assert 'aria-describedby="id_hide_patient_data_helptext"' in page
    assert f'<div class="form-text" id="id_hide_patient_data_helptext">{escape(PATIENT_DATA_HELP)}</div>' in page

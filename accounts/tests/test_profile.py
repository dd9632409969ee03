import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from accounts.models import Profile
from accounts.tests.helpers import COMPLETE_PROFILE, image_upload, make_complete_profile, make_user

pytestmark = pytest.mark.django_db


def post_profile(client, **changes):
    data = {
        **COMPLETE_PROFILE,
        "phone": "+49 30 901820",
        "vat_number": "DE 136 695 976",
        "account_type": "individual",
        "company_name": "",
        "time_zone": "Europe/Berlin",
        **changes,
    }
    return client.post(reverse("accounts:profile"), data)


def test_completeness_lists_exactly_what_is_missing():
    profile = make_user().profile

    assert profile.missing_for_verification == [
        "About", "Profile photo", "Communication languages", "Academic or professional training",
        "VAT or tax number", "Phone",
    ]
    assert profile.completeness_percent == 0
    profile.about = "Hello"
    profile.languages = ["en"]
    assert profile.completeness_percent == 33
    assert not profile.is_complete


def test_complete_profile_is_complete():
    user = make_user()

    profile = make_complete_profile(user)

    assert profile.is_complete
    assert profile.completeness_percent == 100


def test_profile_page_shows_the_missing_list(client):
    client.force_login(make_user())

    body = client.get(reverse("accounts:profile")).content.decode()

    assert "Profile completeness: 0%" in body
    assert "<li>Profile photo</li>" in body


def test_saving_the_profile_normalizes_phone_and_vat_and_processes_the_photo(client):
    user = make_user()
    client.force_login(user)
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # camera make
    photo = image_upload("me.jpg", size=(900, 600), fmt="JPEG", exif=exif.tobytes())

    response = post_profile(client, photo=photo)

    assert response.status_code == 302
    profile = Profile.objects.get(user=user)
    assert profile.phone.as_e164 == "+4930901820"
    assert profile.vat_number == "136695976"
    assert profile.time_zone.key == "Europe/Berlin"
    assert profile.about == "I design crowns.\nAnd bridges."
    with profile.photo.open("rb") as stored:
        stored_bytes = stored.read()
    with Image.open(io.BytesIO(stored_bytes)) as image:
        assert image.format == "JPEG"
        assert not image.getexif()
    assert b"SecretCam" not in stored_bytes
    with Image.open(profile.photo_thumbnail.path) as thumb:
        assert thumb.size == (256, 256)


def test_saving_again_without_a_new_photo_keeps_the_stored_photo_untouched(client):
    user = make_user()
    client.force_login(user)
    post_profile(client, photo=image_upload("me.png"))
    first = Profile.objects.get(user=user)
    with first.photo.open("rb") as stored:
        before = stored.read()

    post_profile(client, about="Only the text changed")

    again = Profile.objects.get(user=user)
    assert (again.photo.name, again.photo_thumbnail.name) == (first.photo.name, first.photo_thumbnail.name)
    with again.photo.open("rb") as stored:
        assert stored.read() == before  # not encoded a second time


def test_a_photo_over_the_upload_limit_is_named_and_nothing_is_saved(client, settings):
    settings.FILE_UPLOAD_PER_FILE_LIMIT = 1000
    user = make_user()
    client.force_login(user)

    response = post_profile(client, about="Changed text", photo=image_upload("huge.png", size=(800, 800)))

    assert "huge.png is larger than 1000\xa0bytes." in response.content.decode()
    profile = Profile.objects.get(user=user)
    assert profile.about == "" and not profile.photo


def test_a_country_without_a_vat_scheme_keeps_the_number_as_typed():
    form_data = {"country": "US", "vat_number": "12-3456789"}
    from accounts.forms import ProfileForm

    form = ProfileForm(data={**COMPLETE_PROFILE, "account_type": "individual", "time_zone": "UTC", **form_data},
                       instance=make_user().profile)

    assert form.is_valid(), form.errors
    assert form.cleaned_data["vat_number"] == "123456789"


BAD_INPUTS = [
    ({"vat_number": "DE123"}, "vat_number", "This is not a valid VAT or tax number for Germany."),
    ({"phone": "call me maybe"}, "phone", "Enter a valid phone number with its country code"),
    ({"account_type": "company", "company_name": ""}, "company_name", "Enter the company name, or choose Individual."),
    ({"photo": SimpleUploadedFile("me.gif", b"GIF89a....", content_type="image/gif")}, "photo",
     "me.gif is not an accepted file type. Accepted types: JPEG, JPG, PNG, WEBP."),
    ({"photo": SimpleUploadedFile("me.png", b"this is not a picture", content_type="image/png")}, "photo",
     "The content of me.png does not match its file type."),
    ({"photo": image_upload("me.jpg", fmt="PNG")}, "photo", "The content of me.jpg does not match its file type."),
    ({"photo": image_upload("tiny.png", size=(100, 100))}, "photo", "The photo is too small"),
    # A name with a line break would print as extra lines in the e-mails sent to the other party.
    ({"display_name": "Mara\r\nCadCam Masters team: your payout is on hold"}, "display_name",
     "Use one line of ordinary text here"),
    ({"company_name": "Bright\nLab", "account_type": "company"}, "company_name", "Use one line of ordinary text here"),
]


@pytest.mark.parametrize(("changes", "field", "message"), BAD_INPUTS)
def test_bad_profile_input_gets_a_clear_message_and_changes_nothing(client, changes, field, message):
    user = make_user()
    client.force_login(user)

    response = post_profile(client, about="Changed text", **changes)

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert message.split(".")[0] in response.content.decode().replace("&#x27;", "'")
    profile = Profile.objects.get(user=user)
    assert profile.about == ""
    assert not profile.photo


def test_oversized_photo_is_refused(client):
    client.force_login(make_user())
    big = SimpleUploadedFile("big.png", b"\x89PNG" + b"0" * (10 * 1024 * 1024), content_type="image/png")

    response = post_profile(client, photo=big)

    assert "big.png is 10.0\xa0MB; the limit is 10.0\xa0MB." in response.context["form"].errors["photo"][0]


def test_decompression_bomb_is_refused(client):
    client.force_login(make_user())
    buffer = io.BytesIO()
    Image.new("1", (9000, 9000)).save(buffer, format="PNG")  # 81 megapixels, a few kB on disk
    bomb = SimpleUploadedFile("bomb.png", buffer.getvalue(), content_type="image/png")

    response = post_profile(client, photo=bomb)

    assert response.context["form"].errors["photo"] == ["bomb.png has too many pixels to process."]


def test_profile_pages_need_sign_in(client):
    for name in ["accounts:profile", "accounts:verification", "accounts:delete", "accounts:export"]:
        response = client.get(reverse(name))
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account_login"))



def test_pages_show_times_in_the_users_time_zone(client):
    import datetime as dt

    import time_machine

    from accounts.tests.helpers import make_pending_request

    user = make_user()
    with time_machine.travel(dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC), tick=False):
        make_pending_request(user)
    Profile.objects.filter(user=user).update(time_zone="Asia/Tokyo")
    client.force_login(user)

    body = client.get(reverse("accounts:verification")).content.decode()

    assert "5 January 2026, 21:00" in body  # 12:00 UTC is 21:00 in Tokyo


def test_languages_are_checkboxes_with_the_chosen_ones_first(client):
    user = make_user()
    client.force_login(user)
    assert post_profile(client, languages=["it", "de"]).status_code == 302

    body = client.get(reverse("accounts:profile")).content.decode()

    assert 'name="languages" multiple' not in body
    boxes = re.findall(
        r'<input class="form-check-input" type="checkbox" name="languages" value="(\w+)"[^>]*?( checked)?>', body)
    assert [code for code, checked in boxes if checked] == ["de", "it"]
    assert [code for code, _ in boxes[:2]] == ["de", "it"]  # the chosen ones first
    assert len(boxes) > 50
    assert set(Profile.objects.get(user=user).languages) == {"it", "de"}


def test_a_tampered_language_is_refused_and_changes_nothing(client):
    user = make_user()
    client.force_login(user)

    response = post_profile(client, languages=["de", "klingon"])

    assert response.status_code == 200
    assert "Select a valid choice. klingon is not one of the available choices." in response.content.decode()
    assert Profile.objects.get(user=user).languages != ["de", "klingon"]


@pytest.mark.parametrize("country, typed, stored, shown", [
    ("DE", "DE 136 695 976", "136695976", "DE136695976"),
    ("DE", "136695976", "136695976", "DE136695976"),
    ("GR", "EL 094259216", "094259216", "EL094259216"),
    ("US", "12-3456789", "123456789", "123456789"),  # outside the EU: as typed, compacted
])
def test_eu_vat_numbers_show_with_their_country_prefix_and_are_stored_without(client, country, typed, stored, shown):
    user = make_user()
    client.force_login(user)

    assert post_profile(client, country=country, vat_number=typed).status_code == 302

    profile = Profile.objects.get(user=user)
    assert profile.vat_number == stored
    assert profile.vat_number_display == shown
    assert f'value="{shown}"' in client.get(reverse("accounts:profile")).content.decode()

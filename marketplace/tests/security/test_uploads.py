"""Upload refusals, at every place that takes a file (Send Case, deliveries, messages, support,
disputes, profile photos, listing images, ID documents): a wrong extension, content that does
not match the extension, a file over the (settings-driven) size limit, and too many files are
each refused with a message that says so, and nothing is stored: no file in the storage
folders, no row changed. Send Case also takes at most 20 files and 500 MB in all per case
(settings.UPLOAD_MAX_FILES and UPLOAD_MAX_REQUEST_BYTES: one request is one case)."""

from __future__ import annotations

import io
import struct
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from PIL import Image

from accounts.forms import ProfileForm
from accounts.tests.helpers import make_complete_profile, pdf_upload
from disputes.tests.helpers import DESCRIPTION
from listings.tests.helpers import listing_image
from marketplace.tests.security.matrix import listing_data
from marketplace.tests.security.report import record
from marketplace.tests.security.world import EMPLOYER, FREELANCER, STRANGER, DbWatcher, World, initial_post_data
from messaging.services import MAX_FILES_PER_MESSAGE

pytestmark = pytest.mark.django_db

SIZE_LIMIT = 4096  # settings.FILE_UPLOAD_PER_FILE_LIMIT in these tests
# The Send Case limits (20 files, 500 MB per case in production), small here.
CASE_FILES_SETTING, CASE_BYTES_SETTING = "UPLOAD_MAX_FILES", "UPLOAD_MAX_REQUEST_BYTES"


def stl(name: str = "crown.stl", triangles: int = 1) -> SimpleUploadedFile:
    body = struct.pack("<12fH", *([0.0] * 12), 0) * triangles
    return SimpleUploadedFile(name, b"cadcam test".ljust(80, b" ") + struct.pack("<I", triangles) + body)


def png(name: str = "photo.png", size=(400, 400)) -> SimpleUploadedFile:
    buffer = io.BytesIO()
    Image.new("RGB", size, (90, 140, 200)).save(buffer, "PNG")
    return SimpleUploadedFile(name, buffer.getvalue())


def junk(name: str, size: int = 200) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, (b"this is not what the name says " * (size // 30 + 1))[:size])


@dataclass(frozen=True)
class Case:
    label: str
    files: Callable[[], list]
    says: tuple[str, ...]  # all of these appear in the answer


def case_file_cases() -> list[Case]:
    return [
        Case("wrong extension", lambda: [junk("setup.exe")], ("setup.exe is not an accepted file type",)),
        Case("content not matching the extension", lambda: [junk("crown.stl")],
             ("The content of crown.stl does not match its file type",)),
        Case("over the size limit", lambda: [stl("huge.stl", triangles=SIZE_LIMIT // 50 + 10)],
             ("huge.stl is larger than", filesizeformat(SIZE_LIMIT))),
    ]


TOO_MANY_ATTACHMENTS = Case(
    "too many files", lambda: [stl(f"part{n}.stl") for n in range(MAX_FILES_PER_MESSAGE + 1)],
    (f"at most {MAX_FILES_PER_MESSAGE} files",))


def image_cases() -> list[Case]:
    return [
        Case("wrong extension", lambda: [junk("photo.gif")], ("photo.gif is not an accepted file type",)),
        Case("content not matching the extension", lambda: [junk("photo.png")],
             ("The content of photo.png does not match its file type",)),
        Case("over the size limit", lambda: [junk("huge.png", SIZE_LIMIT + 1000)],
             ("huge.png is larger than", filesizeformat(SIZE_LIMIT))),
    ]


def document_cases() -> list[Case]:
    return [
        Case("wrong extension", lambda: [junk("passport.docx")], ("passport.docx is not an accepted file type",)),
        Case("content not matching the extension", lambda: [junk("passport.pdf")],
             ("The content of passport.pdf does not match its file type",)),
        Case("over the size limit", lambda: [junk("huge.pdf", SIZE_LIMIT + 1000)],
             ("huge.pdf is larger than", filesizeformat(SIZE_LIMIT))),
    ]


@dataclass(frozen=True)
class Point:
    """A place that takes files: who posts, where, the rest of the form, where its answer shows."""

    role: str
    url: Callable[[World], str]
    page: Callable[[World], str]  # opened first (so that opening it again changes nothing)
    data: Callable[[World, list], dict]
    cases: Callable[[], list[Case]]
    prepare: Callable[[World], object] = lambda w: None


def _profile_data(w: World, files: list) -> dict:
    return {**initial_post_data(ProfileForm(instance=w.freelancer.profile)), "photo": files[0]}


def _listing_form(w: World, files: list) -> dict:
    return {**listing_data(), "title": "Zirconia crown design", "new_images": files}


POINTS: dict[str, Point] = {
    "send case": Point(
        EMPLOYER, lambda w: reverse("orders:send_case", args=[w.listing.pk]),
        lambda w: reverse("orders:send_case", args=[w.listing.pk]),
        lambda w, files: {"quantity": "1", "instructions": "Teeth 14-16", "files": files}, case_file_cases),
    "delivery": Point(
        FREELANCER, lambda w: reverse("orders:act", args=[w.order_accepted.pk, "deliver"]),
        lambda w: reverse("orders:detail", args=[w.order_accepted.pk]),
        lambda w, files: {"note": "Designs attached", "files": files}, case_file_cases),
    "message": Point(
        EMPLOYER, lambda w: reverse("messaging:send", args=[w.direct.pk]),
        lambda w: reverse("messaging:conversation", args=[w.direct.pk]),
        lambda w, files: {"body": "The scan", "files": files}, lambda: [*case_file_cases(), TOO_MANY_ATTACHMENTS]),
    "support request": Point(
        EMPLOYER, lambda w: reverse("messaging:support"), lambda w: reverse("messaging:support"),
        lambda w, files: {"body": "My upload", "files": files}, lambda: [*case_file_cases(), TOO_MANY_ATTACHMENTS]),
    "dispute": Point(
        EMPLOYER, lambda w: reverse("disputes:open", args=[w.order_accepted.pk]),
        lambda w: reverse("disputes:open", args=[w.order_accepted.pk]),
        lambda w, files: {"reason": "quality", "description": DESCRIPTION, "files": files},
        lambda: [*case_file_cases(), TOO_MANY_ATTACHMENTS]),
    "profile photo": Point(
        FREELANCER, lambda w: reverse("accounts:profile"), lambda w: reverse("accounts:profile"), _profile_data,
        image_cases),
    "listing images": Point(
        FREELANCER, lambda w: reverse("listings:new"), lambda w: reverse("listings:new"), _listing_form,
        lambda: [*image_cases(),
                 Case("too many images", lambda: [listing_image(f"shot{n}.png") for n in range(11)],
                      ("at most 10 images",))]),
    "ID document": Point(
        STRANGER, lambda w: reverse("accounts:verification"), lambda w: reverse("accounts:verification"),
        lambda w, files: {"document_type": "passport", "document": files[0]}, document_cases,
        prepare=lambda w: w.stranger.profile.is_complete or make_complete_profile(w.stranger, phone="+4930901777",
                                                                                   vat_number="DE136695976")),
}


def stored_files(settings) -> set[Path]:
    roots = [Path(settings.MEDIA_ROOT), Path(settings.PRIVATE_MEDIA_ROOT)]
    return {path for root in roots if root.exists() for path in root.rglob("*") if path.is_file()}


def refuse(world: World, settings, point: Point, files: list, says: tuple[str, ...]) -> list[str]:
    """Post the files; the problems found (empty: refused with the message, nothing stored)."""
    point.prepare(world)
    client = world.client(point.role)
    url = point.url(world)
    client.get(point.page(world))
    watcher = DbWatcher()
    before = stored_files(settings)
    response = client.post(url, point.data(world, files))
    changed = watcher.changed()
    added = stored_files(settings) - before
    if response.status_code in (301, 302):
        shown = client.get(response["Location"]).content.decode()
    else:
        shown = response.content.decode()
    problems = []
    if response.status_code >= 500:
        problems.append(f"answered {response.status_code}")
    missing = [text for text in says if text not in shown.replace("&#x27;", "'").replace("&quot;", '"')]
    if missing:
        problems.append(f"the answer ({response.status_code}) does not say {missing}")
    if changed:
        problems.append(f"rows changed in {changed}")
    if added:
        problems.append(f"files stored: {sorted(str(path.name) for path in added)}")
    return problems


@pytest.mark.parametrize("where", POINTS)
def test_bad_uploads_are_refused_with_a_message_and_nothing_is_stored(world, settings, where):
    settings.FILE_UPLOAD_PER_FILE_LIMIT = SIZE_LIMIT
    point = POINTS[where]
    problems = []
    for case in point.cases():
        problems += [f"{where}, {case.label}: {problem}"
                     for problem in refuse(world, settings, point, case.files(), case.says)]
        record("upload cases", 1)

    assert not problems, "\n".join(problems)


def test_good_uploads_are_stored(world, settings):
    """The refusals above are about the files: the same forms take good ones."""
    settings.FILE_UPLOAD_PER_FILE_LIMIT = SIZE_LIMIT
    POINTS["ID document"].prepare(world)
    listing = world.listing
    before = stored_files(settings)

    response = world.client(EMPLOYER).post(reverse("orders:send_case", args=[listing.pk]),
                                           {"quantity": "1", "files": [stl(), stl("bite.stl")]})
    verification = world.client(STRANGER).post(reverse("accounts:verification"), {"document_type": "passport",
                                                                                   "document": pdf_upload()})

    assert response.status_code == 302 and verification.status_code == 302
    assert len(stored_files(settings) - before) == 3


@pytest.mark.parametrize("limit", ["count", "bytes"])
def test_send_case_takes_at_most_the_case_limits(world, settings, limit):
    """At most UPLOAD_MAX_FILES files and UPLOAD_MAX_REQUEST_BYTES in all per case (20 and 500 MB
    in production): over either, the form says so and no order or file is created."""
    setattr(settings, CASE_FILES_SETTING, 2)
    setattr(settings, CASE_BYTES_SETTING, 1500)
    if limit == "count":  # the file past the limit is named
        files, says = [stl(f"part{n}.stl") for n in range(3)], ("at most 2 files", "part2.stl")
    else:  # 2 x 1,084 bytes: the second passes 1,500
        files, says = [stl(f"part{n}.stl", triangles=20) for n in range(2)], (filesizeformat(1500), "part1.stl")
    point = POINTS["send case"]

    problems = refuse(world, settings, point, files, says)
    record("upload cases", 1)

    assert not problems, "\n".join(problems)

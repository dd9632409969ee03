"""Demo accounts and profiles for `make run` (see cadcam/management/commands/seed_demo.py).

Everything goes through the same services people use, so the demo shows real states:
verified designers with photos, an employer, and a verification request waiting for staff."""

from __future__ import annotations

import io
from dataclasses import dataclass, field

from allauth.account.models import EmailAddress
from django.core.files.base import ContentFile
from django.db import transaction
from PIL import Image, ImageDraw, ImageFont

from accounts.models import Profile, User, VerificationRequest
from accounts.services import (
    document_access_record,
    profile_get_or_create,
    profile_record_terms,
    profile_update,
    verification_approve,
    verification_request_create,
)

DEMO_PASSWORD = "cadcam-demo"


@dataclass(frozen=True)
class DemoUser:
    email: str
    username: str
    first_name: str
    last_name: str
    is_staff: bool = False
    profile: dict = field(default_factory=dict)
    verify: bool = False  # file a request and have staff approve it
    request_verification: bool = False  # file a request and leave it for staff
    photo_color: tuple[int, int, int] = (11, 110, 138)


DESIGNER_ABOUT = (
    "Dental technician turned full-time CAD designer. I design crowns, bridges and implant "
    "restorations every day for labs in Europe and North America.\n\n"
    "Send me your scans with the shade, material and preparation notes; you get a design file "
    "ready to mill or print, checked for contacts, occlusion and minimum thickness."
)

DEMO_USERS = [
    DemoUser("staff@cadcam.test", "staff", "Sam", "Staffer", is_staff=True),
    DemoUser(
        "freelancer@cadcam.test", "freelancer", "Elena", "Marsh",
        profile={
            "display_name": "Elena Marsh",
            "about": DESIGNER_ABOUT,
            "languages": ["en", "de"],
            "training": "Master dental technician (Berlin, 2011). exocad certified trainer since 2018.",
            "country": "DE",
            "vat_number": "136695976",
            "phone": "+4930901820",
            "time_zone": "Europe/Berlin",
        },
        verify=True, photo_color=(11, 110, 138),
    ),
    DemoUser(
        "marco@cadcam.test", "marco-designs", "Marco", "Bellini",
        profile={
            "display_name": "Marco Bellini",
            "about": "Implant specialist: custom abutments, screw-retained bridges and All-on-X bars.\n"
            "Fast turnaround for exocad and 3Shape projects.",
            "languages": ["it", "en"],
            "training": "Dental technology degree, University of Milan. 12 years in implant prosthetics.",
            "country": "IT",
            "account_type": Profile.AccountType.COMPANY,
            "company_name": "Bellini Digital Dental",
            "vat_number": "00743110157",
            "phone": "+390669821234",
            "time_zone": "Europe/Rome",
        },
        verify=True, photo_color=(138, 64, 11),
    ),
    DemoUser(
        "aiko@cadcam.test", "aiko-cad", "Aiko", "Tanaka",
        profile={
            "display_name": "Aiko Tanaka",
            "about": "Removable prosthetics and splints: full dentures, partial frameworks, night guards.\n"
            "I also plan surgical guides in coDiagnostiX and Blue Sky Plan.",
            "languages": ["ja", "en"],
            "training": "Certified dental technician (Tokyo, 2014); guided surgery course, 2020.",
            "country": "JP",
            "vat_number": "9700150005075",
            "phone": "+81312345678",
            "time_zone": "Asia/Tokyo",
        },
        verify=True, photo_color=(96, 60, 150),
    ),
    DemoUser(
        "employer@cadcam.test", "employer", "Bright Smile", "Dental Lab",
        profile={
            "display_name": "Bright Smile Dental Lab",
            "account_type": Profile.AccountType.COMPANY,
            "company_name": "Bright Smile Dental Lab",
            "country": "US",
            "languages": ["en"],
            "time_zone": "America/New_York",
        },
    ),
    DemoUser(
        "newdesigner@cadcam.test", "jan-kowalski", "Jan", "Kowalski",
        profile={
            "display_name": "Jan Kowalski",
            "about": "Young designer focused on smile design and veneers. Quick and careful.",
            "languages": ["pl", "en"],
            "training": "Dental technician school, Warsaw, 2021.",
            "country": "PL",
            "vat_number": "5260001246",
            "phone": "+48221234567",
            "time_zone": "Europe/Warsaw",
        },
        request_verification=True, photo_color=(20, 120, 60),
    ),
]


def demo_photo(initials: str, color: tuple[int, int, int]) -> ContentFile:
    image = Image.new("RGB", (600, 600), color)
    draw = ImageDraw.Draw(image)
    for radius, shade in ((290, 30), (220, 55)):
        tint = tuple(min(255, channel + shade) for channel in color)
        draw.ellipse((300 - radius, 300 - radius, 300 + radius, 300 + radius), fill=tint)
    font = ImageFont.load_default(size=220)
    draw.text((300, 300), initials, fill=(255, 255, 255), font=font, anchor="mm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return ContentFile(buffer.getvalue(), name=f"{initials.lower()}.png")


def demo_id_document(name: str) -> ContentFile:
    """A one-page PDF standing in for a scanned passport."""
    text = f"DEMO PASSPORT - {name} - not a real document".encode()
    stream = b"BT /F1 18 Tf 40 400 Td (" + text + b") Tj ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 600 800] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n".encode() + body + b"\nendobj\n")
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    for offset in offsets:
        out.write(f"{offset:010d} 00000 n \n".encode())
    out.write(f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode())
    return ContentFile(out.getvalue(), name="passport.pdf")


@transaction.atomic
def _seed_account(spec: DemoUser) -> User:
    user, _ = User.objects.update_or_create(
        email=spec.email,
        defaults={
            "username": spec.username,
            "first_name": spec.first_name,
            "last_name": spec.last_name,
            "is_staff": spec.is_staff,
            "is_superuser": spec.is_staff,
            "is_active": True,
        },
    )
    if not user.check_password(DEMO_PASSWORD):
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.update_or_create(user=user, email=spec.email, defaults={"verified": True, "primary": True})
    profile = profile_get_or_create(user=user)
    if not profile.terms_accepted_at:
        profile_record_terms(user=user)
    if spec.profile:
        photo = None
        if (spec.verify or spec.request_verification) and not profile.photo:
            photo = demo_photo(spec.first_name[0] + spec.last_name[0], spec.photo_color)
        profile_update(profile=profile, data=spec.profile, photo=photo)
    return user


def seed_users() -> dict[str, User]:
    """Create or refresh the demo accounts. Running it again changes nothing."""
    users = {spec.username: _seed_account(spec) for spec in DEMO_USERS}
    staff = users["staff"]
    for spec in DEMO_USERS:
        user = users[spec.username]
        if not (spec.verify or spec.request_verification):
            continue
        request = VerificationRequest.objects.filter(user=user).order_by("-created_at").first()
        if request is None:
            request = verification_request_create(
                user=user, document_type=VerificationRequest.DocumentType.PASSPORT,
                document=demo_id_document(f"{spec.first_name} {spec.last_name}"),
            )
        if spec.verify and request.status == VerificationRequest.Status.PENDING:
            # Staff open the document in the admin before deciding; the opening is on record.
            document_access_record(request=request, by=staff)
            verification_approve(request=request, by=staff)
    return users

"""Case file checks (cadcam.files), safe file names, and the size-limited upload handler (cadcam.uploads).

Nothing here touches the database: the samples are generated in memory and the upload
handler is driven through the test client against a throwaway view with its own URLconf.
"""

import io
import os
import struct
import zipfile

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile, UploadedFile
from django.http import JsonResponse
from django.test import Client, RequestFactory, override_settings
from django.urls import path
from PIL import Image

from cadcam.files import (
    CASE_FILE_ACCEPT,
    CASE_FILE_EXTENSIONS,
    CASE_FILE_MAX_BYTES,
    IMAGE_EXTENSIONS,
    check_case_file,
    check_upload,
    safe_filename,
    sha256_of,
)
from cadcam.uploads import LimitedUploadHandler, oversize_upload_errors, oversize_uploads, per_file_limit

# --- Samples -------------------------------------------------------------------------


def binary_stl(triangles: int = 1, *, header: bytes = b"binary stl", declared: int | None = None) -> bytes:
    body = b""
    for _ in range(triangles):
        body += struct.pack("<12fH", 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0)
    count = triangles if declared is None else declared
    return header.ljust(80, b" ") + struct.pack("<I", count) + body


ASCII_STL = b"""solid crown
  facet normal 0 0 1
    outer loop
      vertex 0 0 0
      vertex 1 0 0
      vertex 0 1 0
    endloop
  endfacet
endsolid crown
"""

PLY = b"ply\nformat ascii 1.0\nelement vertex 1\nproperty float x\nend_header\n0\n"
PLY_CRLF = PLY.replace(b"\n", b"\r\n")
OBJ = b"# Exported by a scanner\n\nmtllib crown.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n"
OBJ_VERTEX_FIRST = b"v 0.0 0.0 0.0\nv 1.0 0.0 0.0\nv 0.0 1.0 0.0\nf 1 2 3\n"
DICOM = b"\0" * 128 + b"DICM" + b"\x02\x00\x00\x00UL\x04\x00\xc8\x00\x00\x00"
THREE_SHAPE_XML = b'\xef\xbb\xbf  <?xml version="1.0" encoding="UTF-8"?>\n<HPS version="1.0"><Packed_geometry/></HPS>\n'
CONSTRUCTION_INFO = b'<?xml version="1.0" encoding="utf-8"?>\r\n<ConstructionInfo><Teeth/></ConstructionInfo>'
DENTAL_PROJECT = b'\xef\xbb\xbf<?xml version="1.0"?><DentalProject/>'
PDF = b"%PDF-1.7\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"
EMPTY_ZIP = b"PK\x05\x06" + b"\0" * 18


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


DOCX = zip_bytes(
    {
        "[Content_Types].xml": b'<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>',
        "_rels/.rels": b"<Relationships/>",
        "word/document.xml": b"<w:document/>",
    }
)
CASE_ZIP = zip_bytes({"case/crown.stl": binary_stl(), "case/notes.txt": b"shade A2"})
THREE_SHAPE_ZIP = zip_bytes({"mesh.xml": THREE_SHAPE_XML})


def image_bytes(fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (4, 4), "white").save(buffer, fmt)
    return buffer.getvalue()


def upload(name: str, content: bytes) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content)


class CountingUpload(UploadedFile):
    """An upload that counts the bytes read from it (and can claim a size it does not have)."""

    def __init__(self, name: str, content: bytes, size: int | None = None):
        super().__init__(io.BytesIO(content), name=name, size=len(content) if size is None else size)
        self.bytes_read = 0

    def read(self, *args):
        data = self.file.read(*args)
        self.bytes_read += len(data)
        return data


def refusal(file, **kwargs) -> list[str]:
    with pytest.raises(ValidationError) as caught:
        check_upload(file, **{"allowed": CASE_FILE_EXTENSIONS, "max_bytes": CASE_FILE_MAX_BYTES, **kwargs})
    return caught.value.messages


# --- Accepted ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "extension"),
    [
        ("photo.jpg", image_bytes("JPEG"), "jpg"),
        ("photo.jpeg", image_bytes("JPEG"), "jpeg"),
        ("shade.png", image_bytes("PNG"), "png"),
        ("prescription.pdf", PDF, "pdf"),
        ("notes.docx", DOCX, "docx"),
        ("crown.stl", binary_stl(1), "stl"),
        ("bridge.stl", binary_stl(3), "stl"),
        ("empty-mesh.stl", binary_stl(0), "stl"),
        ("solid-header.stl", binary_stl(2, header=b"solid exported as binary"), "stl"),
        ("ascii.stl", ASCII_STL, "stl"),
        ("indented.stl", b"\n   " + ASCII_STL, "stl"),
        ("scan.ply", PLY, "ply"),
        ("scan-windows.ply", PLY_CRLF, "ply"),
        ("crown.obj", OBJ, "obj"),
        ("crown-plain.obj", OBJ_VERTEX_FIRST, "obj"),
        ("ct.dcm", DICOM, "dcm"),
        ("ct.dicom", DICOM, "dicom"),
        ("upper.dcm", THREE_SHAPE_ZIP, "dcm"),
        ("lower.dcm", THREE_SHAPE_XML, "dcm"),
        ("case.zip", CASE_ZIP, "zip"),
        ("nothing.zip", EMPTY_ZIP, "zip"),
        ("case.constructionInfo", CONSTRUCTION_INFO, "constructioninfo"),
        ("case.dentalProject", DENTAL_PROJECT, "dentalproject"),
        ("order.lab", b"\x00\x01exocad lab", "lab"),
        ("scan.dxd", b"anything", "dxd"),
        ("design.dec", b"\x89 proprietary", "dec"),
        ("model.mbp", b"x", "mbp"),
    ],
)
def test_case_files_of_every_accepted_type_pass(name, content, extension):
    file = upload(name, content)

    assert check_case_file(file) == extension
    assert file.tell() == 0  # rewound for whoever saves it next


@pytest.mark.parametrize(
    ("name", "content", "extension"),
    [
        ("CROWN.STL", binary_stl(1), "stl"),
        ("Crown.Stl", ASCII_STL, "stl"),
        ("SCAN.PLY", PLY, "ply"),
        ("MODEL.OBJ", OBJ, "obj"),
        ("CT.DCM", DICOM, "dcm"),
        ("CT.DICOM", DICOM, "dicom"),
        ("Case.ConstructionInfo", CONSTRUCTION_INFO, "constructioninfo"),
        ("case.CONSTRUCTIONINFO", CONSTRUCTION_INFO, "constructioninfo"),
        ("Case.DENTALPROJECT", DENTAL_PROJECT, "dentalproject"),
        ("PHOTO.JPG", image_bytes("JPEG"), "jpg"),
        ("SHADE.PNG", image_bytes("PNG"), "png"),
        ("RX.PDF", PDF, "pdf"),
        ("NOTES.DOCX", DOCX, "docx"),
        ("CASE.ZIP", CASE_ZIP, "zip"),
        ("ORDER.LAB", b"lab", "lab"),
    ],
)
def test_extensions_are_case_insensitive(name, content, extension):
    assert check_case_file(upload(name, content)) == extension


def test_case_file_constants():
    assert CASE_FILE_MAX_BYTES == 100 * 1024 * 1024
    assert all(ext == ext.lower() for ext in CASE_FILE_EXTENSIONS)
    assert ".constructionInfo" in CASE_FILE_ACCEPT.split(",")
    assert ".stl" in CASE_FILE_ACCEPT.split(",")


# --- Refused -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("crown.stl", image_bytes("PNG")),  # a PNG renamed .stl
        ("scan.ply", b"just some text\nnot a mesh\n"),  # text renamed .ply
        ("prescription.pdf", os.urandom(64).replace(b"%", b"x")),  # random bytes as .pdf
        ("notes.docx", zip_bytes({"word/document.xml": b"<w:document/>"})),  # a zip without [Content_Types].xml
        ("notes.docx", EMPTY_ZIP),  # an empty zip is no document
        ("notes.docx", b"PK\x03\x04 but not really a zip archive"),
        ("notes.docx", PDF),
        ("wrong-count.stl", binary_stl(2, declared=3)),  # binary STL with the wrong triangle count
        ("short.stl", binary_stl(1)[:-1]),
        ("no-facets.stl", b"solid crown\nendsolid crown\n"),
        ("ascii-nul.stl", b"solid crown\0\nfacet normal 0 0 1\n"),
        ("crown.obj", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00v 0 0 0\n"),  # binary
        ("crown.obj", b"# comment only\n\nhello world\nv 0 0 0\n"),
        ("crown.obj", b"# nothing but comments\n"),
        ("ct.dcm", b"\0" * 127 + b"DICM" + b"\0" * 10),  # DICM one byte too early
        ("ct.dicom", b"plain text, not DICOM"),
        ("case.zip", b"Rar!\x1a\x07\x00"),
        ("case.zip", DOCX[:2] + b"\x01\x02 not a local header"),
        ("case.constructionInfo", b"ConstructionInfo = yes"),
        ("case.dentalProject", b"\xef\xbb\xbf{}"),
        ("scan.ply", b"PLY\n"),
        ("photo.jpg", image_bytes("PNG")),  # right family, wrong format
    ],
)
def test_content_that_does_not_match_the_extension_is_refused(name, content):
    assert refusal(upload(name, content)) == [f"The content of {name} does not match its file type."]


@pytest.mark.parametrize("name", ["order.lab", "scan.dxd", "design.dec", "model.mbp", "crown.stl", "notes.docx"])
def test_empty_files_are_refused(name):
    assert refusal(upload(name, b"")) == [f"{name} is empty."]


@pytest.mark.parametrize("name", ["setup.exe", "crown.stl.exe", "archive.rar", "README", "shot.webp", "case.7z"])
def test_other_file_types_are_refused(name):
    with pytest.raises(ValidationError, match=r"is not an accepted file type\. Accepted types: constructionInfo, DCM"):
        check_case_file(upload(name, b"MZ\x90\x00"))


def test_the_refusal_lists_the_accepted_types():
    assert refusal(upload("setup.exe", b"MZ")) == [
        "setup.exe is not an accepted file type. Accepted types: constructionInfo, DCM, DEC, dentalProject, DICOM, "
        "DOCX, DXD, JPEG, JPG, LAB, MBP, OBJ, PDF, PLY, PNG, STL, ZIP."
    ]


def test_a_file_over_the_limit_is_refused():
    assert refusal(upload("crown.stl", binary_stl(1)), max_bytes=100) == [
        "crown.stl is 134\xa0bytes; the limit is 100\xa0bytes."
    ]


def test_a_case_file_over_100_mb_is_refused_without_reading_it():
    file = CountingUpload("huge.stl", b"solid x\nfacet", size=CASE_FILE_MAX_BYTES + 1)

    with pytest.raises(ValidationError) as caught:
        check_case_file(file)
    assert caught.value.messages == ["huge.stl is 100.0\xa0MB; the limit is 100.0\xa0MB."]
    assert file.bytes_read == 0


# --- Only the start of a file is read ----------------------------------------------


@pytest.mark.parametrize(
    ("name", "content"),
    [
        ("big.stl", binary_stl(20_000)),  # 1 MB binary STL
        ("big-ascii.stl", ASCII_STL * 5_000),
        ("big.obj", OBJ_VERTEX_FIRST * 20_000),
        ("big.ply", PLY + b"0\n" * 500_000),
        ("big.dcm", DICOM + b"\0" * 1_000_000),
        ("big.zip", b"PK\x03\x04" + b"\0" * 1_000_000),
        ("big.constructionInfo", CONSTRUCTION_INFO + b" " * 1_000_000),
        ("big.lab", b"\1" * 1_000_000),
        ("big.pdf", PDF + b"\0" * 1_000_000),
    ],
)
def test_content_checks_read_only_the_start_of_the_file(name, content):
    file = CountingUpload(name, content)

    check_case_file(file)

    assert file.bytes_read <= 8 * 1024
    assert file.tell() == 0


def test_binary_stl_size_comes_from_the_upload_size():
    # A 100 MB binary STL is recognised from its 84-byte header and the upload's size.
    triangles = (CASE_FILE_MAX_BYTES - 84) // 50
    header = b"binary".ljust(80, b"\0") + struct.pack("<I", triangles)
    file = CountingUpload("big.stl", header, size=84 + 50 * triangles)

    assert check_case_file(file) == "stl"
    assert file.bytes_read <= 8 * 1024


# --- Existing callers keep working -------------------------------------------------


def test_image_uploads_still_work_as_before():
    assert check_upload(upload("me.webp", image_bytes("WEBP")), allowed=IMAGE_EXTENSIONS, max_bytes=10**6) == "webp"
    with pytest.raises(
        ValidationError, match=r"me\.gif is not an accepted file type\. Accepted types: JPEG, JPG, PNG, WEBP\."
    ):
        check_upload(upload("me.gif", b"GIF89a"), allowed=IMAGE_EXTENSIONS, max_bytes=10**6)
    with pytest.raises(ValidationError, match=r"The content of id\.pdf does not match its file type\."):
        check_upload(upload("id.pdf", b"MZ not a pdf"), allowed={"jpg", "jpeg", "png", "pdf"}, max_bytes=10**6)


def test_an_accepted_type_of_another_upload_is_not_a_case_file():
    # A STL is fine as a case file, not as a profile photo.
    with pytest.raises(ValidationError, match=r"crown\.stl is not an accepted file type\."):
        check_upload(upload("crown.stl", binary_stl()), allowed=IMAGE_EXTENSIONS, max_bytes=10**6)


def test_sha256_of_a_case_file():
    file = upload("crown.stl", binary_stl())
    assert len(sha256_of(file)) == 64
    assert file.tell() == 0


# --- safe_filename -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("crown.stl", "crown.stl"),
        ("my case file.STL", "my case file.STL"),
        ("../../etc/passwd.stl", "passwd.stl"),
        ("..\\..\\x.stl", "x.stl"),
        ("C:\\Users\\lab\\Desktop\\case 12.constructionInfo", "case 12.constructionInfo"),
        ("/abs/path/scan.ply", "scan.ply"),
        ("..", "file"),
        (".", "file"),
        ("../", "file"),
        ("", "file"),
        ("   ", "file"),
        (".stl", "file.stl"),
        ("../.stl", "file.stl"),
        (".htaccess", "file.htaccess"),
        ("crown..stl", "crown.stl"),
        ("crown.stl.", "crown.stl"),
        ("crown.stl   ", "crown.stl"),
        ("cro\x00wn\n.stl", "crown.stl"),
        ("bad\r\n\tname.pdf", "badname.pdf"),
        ("photo\u202egpj.exe", "photogpj.exe"),  # the right-to-left override that fakes ".jpg"
        ('a<b>c:d"e|f?g*h.zip', "a_b_c_d_e_f_g_h.zip"),
        ("Zahnersatz Müller - Fall 3.dcm", "Zahnersatz Müller - Fall 3.dcm"),
        (None, "file"),
    ],
)
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_safe_filename_shortens_long_names_but_keeps_the_extension():
    name = safe_filename("x" * 300 + ".constructionInfo")

    assert len(name) == 150
    assert name.endswith("x.constructionInfo")


def test_safe_filename_stays_within_the_file_system_byte_limit():
    name = safe_filename("ü" * 300 + ".stl")

    assert name.endswith("ü.stl")
    assert len(name) <= 150
    assert len(name.encode()) <= 200


def test_safe_filename_of_only_an_extension_that_is_too_long():
    assert safe_filename("." + "y" * 300) == "y" * 150


# --- LimitedUploadHandler ------------------------------------------------------------


def upload_probe(request):
    """Reports what arrived, what was dropped and which temporary files exist meanwhile."""
    return JsonResponse(
        {
            "files": {
                field: [[file.name, file.size, file.read().decode()[:3]] for file in request.FILES.getlist(field)]
                for field in request.FILES
            },
            "fields": request.POST.dict(),
            "oversize": oversize_uploads(request),
            "oversize_by_field": request.oversize_upload_fields,
            "skipped_by_field": request.skipped_upload_fields,
            "errors": [message for error in oversize_upload_errors(request) for message in error.messages],
            "errors_for_big": [
                message for error in oversize_upload_errors(request, "big") for message in error.messages
            ],
            "temporary_files": len(os.listdir(settings.FILE_UPLOAD_TEMP_DIR)),
        }
    )


urlpatterns = [path("upload-probe/", upload_probe)]


@pytest.fixture
def limited_uploads(tmp_path):
    temporary = tmp_path / "upload-tmp"
    temporary.mkdir()
    with override_settings(
        ROOT_URLCONF=__name__,
        MIDDLEWARE=["django.middleware.common.CommonMiddleware", "django.middleware.csrf.CsrfViewMiddleware"],
        FILE_UPLOAD_HANDLERS=["cadcam.uploads.LimitedUploadHandler"],
        FILE_UPLOAD_PER_FILE_LIMIT=1024,
        FILE_UPLOAD_TEMP_DIR=str(temporary),
    ):
        yield temporary


def named(name: str, content: bytes) -> io.BytesIO:
    file = io.BytesIO(content)
    file.name = name
    return file


def test_a_file_over_the_limit_is_skipped_and_named_while_a_small_one_arrives(limited_uploads):
    response = Client().post(
        "/upload-probe/",
        {
            "big": named("../big scan.stl", b"x" * 2048),
            "small": named("notes.pdf", b"y" * 500),
            "note": "after the files",
        },
    )

    assert response.status_code == 200
    data = response.json()
    assert data["files"] == {"small": [["notes.pdf", 500, "yyy"]]}
    assert data["fields"] == {"note": "after the files"}
    assert data["oversize"] == ["big scan.stl"]
    assert data["oversize_by_field"] == {"big": ["big scan.stl"]}
    assert data["errors"] == ["big scan.stl is larger than 1.0\xa0KB."]
    assert data["errors_for_big"] == data["errors"]
    # While the view ran, only the small file was on disk; the big one had been deleted.
    assert data["temporary_files"] == 1
    # And once the request is over, nothing is left behind.
    assert os.listdir(limited_uploads) == []


def test_a_file_of_exactly_the_limit_arrives(limited_uploads):
    data = Client().post("/upload-probe/", {"file": named("crown.stl", b"z" * 1024)}).json()

    assert data["files"] == {"file": [["crown.stl", 1024, "zzz"]]}
    assert data["oversize"] == []
    assert data["errors"] == []


def test_several_files_in_one_field_are_limited_one_by_one(limited_uploads):
    files = [named("a.stl", b"a" * 1000), named("b.stl", b"b" * 1025), named("c.stl", b"c" * 10)]

    data = Client().post("/upload-probe/", {"big": files}).json()

    assert data["files"] == {"big": [["a.stl", 1000, "aaa"], ["c.stl", 10, "ccc"]]}
    assert data["oversize"] == ["b.stl"]
    assert data["errors_for_big"] == ["b.stl is larger than 1.0\xa0KB."]


def test_the_limit_applies_across_chunks(limited_uploads):
    # Django hands the handler 64 KB chunks; the running total decides, not one chunk.
    with override_settings(FILE_UPLOAD_PER_FILE_LIMIT=100_000):
        data = (
            Client()
            .post("/upload-probe/", {"fits": named("fits.zip", b"f" * 90_000), "big": named("big.zip", b"b" * 200_000)})
            .json()
        )

    assert data["files"] == {"fits": [["fits.zip", 90_000, "fff"]]}
    assert data["oversize"] == ["big.zip"]
    assert os.listdir(limited_uploads) == []


def test_files_past_the_number_one_request_may_carry_are_dropped_as_they_arrive(limited_uploads):
    files = [named(f"{n}.stl", b"s" * 10) for n in range(4)]

    with override_settings(UPLOAD_MAX_FILES=2):
        data = Client().post("/upload-probe/", {"scans": files}).json()

    assert data["files"] == {"scans": [["0.stl", 10, "sss"], ["1.stl", 10, "sss"]]}
    assert data["skipped_by_field"] == {"scans": {"count": ["2.stl", "3.stl"]}}
    assert data["errors"] == ["Send at most 2 files at once; left out: 2.stl, 3.stl."]
    assert data["temporary_files"] == 2
    assert os.listdir(limited_uploads) == []


def test_files_past_the_total_one_request_may_carry_are_dropped_as_they_arrive(limited_uploads):
    files = [named("a.stl", b"a" * 600), named("b.stl", b"b" * 600), named("c.stl", b"c" * 300)]

    with override_settings(UPLOAD_MAX_REQUEST_BYTES=1000):
        data = Client().post("/upload-probe/", {"scans": files}).json()

    # b would take the request past 1,000 bytes; c still fits after a.
    assert data["files"] == {"scans": [["a.stl", 600, "aaa"], ["c.stl", 300, "ccc"]]}
    assert data["errors_for_big"] == []
    assert data["errors"] == ["Send at most 1000\xa0bytes of files at once; left out: b.stl."]
    assert os.listdir(limited_uploads) == []


def test_accepted_uploads_are_temporary_files_on_disk(limited_uploads):
    request = RequestFactory().post("/", {"tiny": named("tiny.lab", b"1")})

    file = request.FILES["tiny"]
    try:
        assert isinstance(file, TemporaryUploadedFile)
        assert os.path.dirname(file.temporary_file_path()) == str(limited_uploads)
    finally:
        file.close()
    assert os.listdir(limited_uploads) == []


def test_the_limit_defaults_to_the_case_file_limit(settings):
    if hasattr(settings, "FILE_UPLOAD_PER_FILE_LIMIT"):
        del settings.FILE_UPLOAD_PER_FILE_LIMIT

    assert per_file_limit() == CASE_FILE_MAX_BYTES
    assert LimitedUploadHandler().limit == 100 * 1024 * 1024


def test_without_the_handler_nothing_is_recorded():
    request = RequestFactory().post("/", {"file": named("crown.stl", b"x" * 10)})

    assert oversize_uploads(request) == []
    assert oversize_upload_errors(request) == []

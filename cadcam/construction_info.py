"""A summary of an exocad `.constructionInfo` file: project, teeth, and the patient fields
kept apart so a page can leave them out.

The file is XML written by exocad DentalCAD. Its tag names vary between versions and
exporters (`ConstructionInfo` or `ProjectConstructionInfo` as root, `Number` or
`ToothNumber`, values in child elements or attributes, sometimes a namespace), so tags are
matched by their local name, case-insensitively, through the alias lists below.

Parsing is safe for untrusted uploads: defusedxml with DTDs forbidden (no entities, so no
"billion laughs" and no external entity or network access) and a size limit before
parsing. A file that cannot be read gives a summary with `error` set, never an exception.

`blank_patient_data(bytes)` makes the copy a party who may not see the patient data
downloads: the same bytes with the patient fields and the project name emptied (see its
docstring). A file it cannot check raises `PatientDataUnchecked`; it is never passed on as is.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass, field, replace
from xml.etree.ElementTree import Element, ParseError
from xml.parsers import expat

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

from cadcam.errors import ApplicationError

# Real files are a few kilobytes to a few hundred; anything far larger is not worth parsing on a request.
MAX_BYTES = 5 * 1024 * 1024

PROJECT_NAME_TAGS = ("projectname", "projecttitle", "name")
TOOTH_TAGS = ("tooth", "toothinfo", "toothconstructioninfo")
NUMBER_TAGS = ("number", "toothnumber", "toothnr", "toothno", "fdinumber", "position", "unn")
RECONSTRUCTION_TAGS = ("reconstructiontype", "constructiontype", "toothtype", "restorationtype", "type")
MATERIAL_TAGS = ("material", "materialname", "materialtype")
IMPLANT_TAGS = ("implanttype", "implantname", "implantlibrary", "implantsystem", "implant")
# Inside an <Implant> element: its name.
IMPLANT_NAME_TAGS = ("type", "name", "library", "system")

# Fields that identify the patient: any tag starting with "patient", or one of these.
PATIENT_TAG_PREFIX = "patient"
PATIENT_TAGS = {"dateofbirth", "birthdate", "birthday", "dob", "socialsecuritynumber", "insurancenumber"}

PROJECT_NAME_HIDDEN = "Hidden (exocad project names usually name the patient)"


@dataclass(frozen=True)
class Tooth:
    number: str = ""
    reconstruction_type: str = ""
    material: str = ""
    implant_type: str = ""


@dataclass(frozen=True)
class PatientField:
    label: str
    value: str


@dataclass(frozen=True)
class ConstructionInfoSummary:
    project_name: str = ""
    teeth: tuple[Tooth, ...] = ()
    patient: tuple[PatientField, ...] = field(default=())
    error: str = ""

    @property
    def has_patient_data(self) -> bool:
        return bool(self.patient)

    def without_patient_data(self) -> ConstructionInfoSummary:
        """The summary with the patient fields removed, and the project name too: exocad
        projects are usually named after the patient, in forms no mask reliably catches
        ("SmithJohn_crown", "SMITHJ_11", a patient number), so it is hidden whole."""
        return replace(self, patient=(), project_name=PROJECT_NAME_HIDDEN if self.project_name else "")


def unreadable(reason: str) -> ConstructionInfoSummary:
    return ConstructionInfoSummary(error=reason)


def parse_construction_info(data: bytes) -> ConstructionInfoSummary:
    """Summarise the bytes of a .constructionInfo file."""
    if len(data) > MAX_BYTES:
        return unreadable("The file is too large to summarise.")
    try:
        root = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException:
        return unreadable("The file declares a DTD or entities, which exocad files never do; it was not read.")
    except (ParseError, ValueError, UnicodeDecodeError):
        return unreadable("The file is not well-formed XML.")
    if "constructioninfo" not in _local(root.tag):
        return unreadable("The file is XML but not an exocad construction info file.")
    return ConstructionInfoSummary(
        project_name=_project_name(root),
        teeth=tuple(_tooth(element) for element in _teeth(root)),
        patient=tuple(_patient_fields(root)),
    )


def read_construction_info(field_file) -> ConstructionInfoSummary:
    """Summarise a stored file (a Django FieldFile), reading at most MAX_BYTES + 1 bytes."""
    try:
        data = _read_start(field_file)
    except OSError:
        return unreadable("The file could not be opened.")
    return parse_construction_info(data)


def _read_start(field_file) -> bytes:
    """The first MAX_BYTES + 1 bytes of a stored file: enough to tell it is too large."""
    with field_file.open("rb") as handle:
        return handle.read(MAX_BYTES + 1)


def _local(tag) -> str:
    """The lower-case local name of a tag ('{namespace}Tooth' -> 'tooth'); '' for comments."""
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1].lower()


def _text(element: Element | None) -> str:
    if element is None:
        return ""
    return " ".join((element.text or "").split())


def _value(element: Element, names: tuple[str, ...]) -> str:
    """The first non-empty value among the element's attributes and direct children named
    like one of `names` (in that order of preference)."""
    attributes = {_local(key): " ".join(value.split()) for key, value in element.attrib.items()}
    children: dict[str, Element] = {}
    for child in element:
        children.setdefault(_local(child.tag), child)
    for name in names:
        if attributes.get(name):
            return attributes[name]
        child = children.get(name)
        if child is not None and len(child) == 0 and _text(child):
            return _text(child)
    return ""


def _project_name(root: Element) -> str:
    name = _value(root, PROJECT_NAME_TAGS)
    if name:
        return name
    for element in root.iter():
        if _local(element.tag) == "projectname" and _text(element):
            return _text(element)
    return ""


def _teeth(root: Element) -> list[Element]:
    return [element for element in root.iter() if _local(element.tag) in TOOTH_TAGS]


def _tooth(element: Element) -> Tooth:
    implant = _value(element, IMPLANT_TAGS)
    if not implant:
        for child in element:
            if _local(child.tag) == "implant" and len(child):
                implant = _value(child, IMPLANT_NAME_TAGS)
                break
    return Tooth(
        number=_value(element, NUMBER_TAGS),
        reconstruction_type=_value(element, RECONSTRUCTION_TAGS),
        material=_value(element, MATERIAL_TAGS),
        implant_type=implant,
    )


def _is_patient_tag(name: str) -> bool:
    return name.startswith(PATIENT_TAG_PREFIX) or name in PATIENT_TAGS


def _label(tag: str) -> str:
    """'PatientFirstName' -> 'Patient first name'."""
    local = tag.rsplit("}", 1)[-1]
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+", local) or [local]
    text = " ".join(word if word.isupper() and len(word) > 1 else word.lower() for word in words)
    return text[:1].upper() + text[1:]


def _patient_fields(root: Element) -> list[PatientField]:
    """Leaf values that identify the patient, wherever they are: a patient-named tag or
    attribute, or any leaf inside a <Patient> element."""
    found: list[PatientField] = []
    seen: set[tuple[str, str]] = set()

    def add(label: str, value: str) -> None:
        value = " ".join(value.split())
        if value and (label, value) not in seen:
            seen.add((label, value))
            found.append(PatientField(label=label, value=value))

    def walk(element: Element, inside_patient: bool) -> None:
        name = _local(element.tag)
        patient_here = inside_patient or _is_patient_tag(name)
        for key, value in element.attrib.items():
            if patient_here or _is_patient_tag(_local(key)):
                add(_label(key) if _is_patient_tag(_local(key)) else f"Patient {_label(key).lower()}", value)
        if len(element) == 0 and patient_here and name:
            label = _label(element.tag) if _is_patient_tag(name) else f"Patient {_label(element.tag).lower()}"
            add(label, element.text or "")
        for child in element:
            walk(child, patient_here)

    walk(root, False)
    return found




# --- the copy without the patient data ---------------------------------------------------------------


class PatientDataUnchecked(ApplicationError):
    """A .constructionInfo file in which the patient fields could not be found for sure: it
    cannot be passed on to someone who may not see them. `message` says why, for people."""


# Elements emptied wherever they are; PROJECT_NAME_TAGS ("name" too) only as the root's children.
PROJECT_NAME_ANYWHERE = {"projectname", "projecttitle"}
# Attributes that describe the XML itself, not the patient, kept inside patient elements:
# namespace declarations, and the XML Schema instance's own (xsi:nil, xsi:type, ...), known by
# the namespace their prefix is bound to, not by the prefix.
XSI_NAMESPACE = "http://www.w3.org/2001/XMLSchema-instance"
_SCHEMA_ATTRIBUTES = {"nil", "type", "schemalocation", "nonamespaceschemalocation"}
# A value shorter than this is not looked for elsewhere in the file ("Al" is in too many words).
_SHORTEST_REPEATED_VALUE = 3

_DECLARED_ENCODING = re.compile(rb"""\A<\?xml[^>]*?\sencoding\s*=\s*["']([A-Za-z][A-Za-z0-9._-]*)["']""")
# A start tag the parser already found well-formed: its name, then its attributes.
_START_TAG = re.compile(rb"""<[^\s/>]+(?P<attributes>(?:\s+[^\s=/>]+\s*=\s*(?:"[^"]*"|'[^']*'))*)\s*/?>""")
_ATTRIBUTE = re.compile(rb"""\s+(?P<name>[^\s=/>]+)\s*=\s*(?P<quote>["'])(?P<value>.*?)(?P=quote)""", re.S)


def blank_patient_data(data: bytes) -> bytes:
    """The bytes of a .constructionInfo file with the patient data blanked, everything else
    left byte for byte as it was (the XML is not re-serialised: exocad gets back its own
    prefixes, order, quotes, line ends and encoding).

    Blanked, matching what the summary calls patient data: the text (CDATA, comments and
    processing instructions included) of every element whose local name is a patient tag
    (`PatientFirstName`, `PatientBirthdate`, `DateOfBirth`, ...) and of everything inside it,
    with the values of its attributes; every attribute with a patient name on any element;
    and the project name (`ProjectName`/`ProjectTitle` anywhere, as elements or attributes;
    `Name` as the root's child or attribute), which exocad usually makes from the patient's
    name. Then any other text or attribute that repeats one of the values blanked (a project
    folder in a file path, say) is blanked too. Element tags stay, so
    `<PatientFirstName>Anna</PatientFirstName>` becomes `<PatientFirstName></PatientFirstName>`.

    expat finds the spans (its byte offsets), with DTDs refused as defusedxml does. UTF-8
    (with or without a byte order mark), UTF-16 with a byte order mark, and the single-byte
    encodings Python knows are read; the copy keeps the file's encoding and BOM.

    Raises PatientDataUnchecked when the file is too large, not well-formed, declares a DTD,
    or is not a construction info file: then nothing can be passed on safely."""
    if len(data) > MAX_BYTES:
        raise PatientDataUnchecked("The file is too large to check for patient data.")
    bom, encoding, body = _split_encoding(data)
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        raise PatientDataUnchecked(f"The file is not valid {encoding.upper()} text.") from error
    utf8 = body if encoding == "utf-8" else text.encode("utf-8")
    blanked = _Blanker(utf8).run()
    if encoding == "utf-8":
        return bom + blanked
    return bom + blanked.decode("utf-8").encode(encoding)


def _split_encoding(data: bytes) -> tuple[bytes, str, bytes]:
    """(byte order mark, Python codec, the rest) of an XML file, as XML 1.0 appendix F guesses it."""
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
                          (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return bom, encoding, data[len(bom):]
    if data.startswith(b"<\x00"):
        return b"", "utf-16-le", data
    if data.startswith(b"\x00<"):
        return b"", "utf-16-be", data
    declared = _DECLARED_ENCODING.match(data)
    if declared is None:
        return b"", "utf-8", data
    try:
        encoding = codecs.lookup(declared.group(1).decode("ascii")).name
    except LookupError as error:
        raise PatientDataUnchecked("The file is written in an unknown text encoding.") from error
    if encoding.startswith(("utf-16", "utf-32")):  # declared, but the bytes say otherwise
        raise PatientDataUnchecked("The file is not well-formed XML.")
    return b"", encoding, data


class _Blanker:
    """One pass of expat over UTF-8 bytes, collecting the byte spans to empty.

    expat gives the byte offset where each event starts (CurrentByteIndex). Text, a comment
    or a processing instruction inside a patient element runs until the next event starts,
    since every kind of markup that can follow it has a handler here. Attribute values are
    found in the start tag, whose bytes expat has already checked."""

    def __init__(self, data: bytes):
        self.data = data
        self.spans: list[tuple[int, int]] = []
        self.scopes: list[bool] = []  # for each open element: is its content blanked?
        self.open_span: int | None = None  # where blanked content started, until the next event
        self.open_kind = ""  # "text", "cdata" or "markup": what that content is
        self.plain_open: int | None = None  # where kept text started, until the next event
        self.plain_kind = ""
        self.kept: list[tuple[int, int, str]] = []  # text and attribute values kept: (start, end, kind)
        self.secrets: set[str] = set()  # the values blanked, looked for in what is kept
        self.in_cdata = False
        parser = expat.ParserCreate(encoding="UTF-8", namespace_separator=" ")
        parser.StartElementHandler = self._start
        parser.EndElementHandler = self._end
        parser.CharacterDataHandler = self._text
        parser.CommentHandler = self._comment_or_instruction
        parser.ProcessingInstructionHandler = self._comment_or_instruction
        parser.StartCdataSectionHandler = self._cdata_start
        parser.EndCdataSectionHandler = self._cdata_end
        parser.StartDoctypeDeclHandler = self._refuse_dtd
        parser.EntityDeclHandler = self._refuse_dtd
        self.parser = parser
        self.root_seen = False

    def run(self) -> bytes:
        try:
            self.parser.Parse(self.data, True)
        except expat.ExpatError as error:
            raise PatientDataUnchecked("The file is not well-formed XML.") from error
        if not self.root_seen:
            raise PatientDataUnchecked("The file is not well-formed XML.")
        self._blank_repeated_values()
        pieces, position = [], 0
        for start, end in sorted(self.spans):
            pieces.append(self.data[position:start])
            position = end
        pieces.append(self.data[position:])
        return b"".join(pieces)

    def _blank_repeated_values(self) -> None:
        """Blank kept text (adjacent pieces joined) and attribute values that contain a value
        already blanked, compared without case."""
        secrets = [secret for secret in self.secrets if len(secret) >= _SHORTEST_REPEATED_VALUE]
        if not secrets:
            return
        joined: list[list[int]] = []
        for start, end, kind in sorted(self.kept):
            if kind == "text" and joined and joined[-1][1] == start and joined[-1][2] == 1:
                joined[-1][1] = end
            else:
                joined.append([start, end, 1 if kind == "text" else 0])
        for start, end, _ in joined:
            value = self.data[start:end].decode("utf-8", "replace").lower()
            if any(secret in value for secret in secrets):
                self.spans.append((start, end))

    # Events

    def _here(self) -> int:
        """The offset of the event being handled, closing the content before it."""
        index = self.parser.CurrentByteIndex
        if self.open_span is not None:
            self._close(self.open_span, index, self.open_kind)
            self.spans.append((self.open_span, index))
            self.secrets.add(self.data[self.open_span:index].decode("utf-8", "replace").strip().lower())
            self.open_span = None
        if self.plain_open is not None:
            self._close(self.plain_open, index, self.plain_kind)
            self.kept.append((self.plain_open, index, self.plain_kind))
            self.plain_open = None
        return index

    def _close(self, start: int, end: int, kind: str) -> None:
        piece = self.data[start:end]
        # Offsets are trusted only when they land where the markup says they should.
        safe = (
            (kind == "text" and b"<" not in piece)
            or (kind == "cdata" and b"]]>" not in piece)
            or (kind == "markup" and piece.startswith((b"<!--", b"<?")) and piece.endswith((b"-->", b"?>")))
        )
        if not safe:
            raise PatientDataUnchecked("The file's patient data could not be located reliably.")

    def _blanking(self) -> bool:
        return bool(self.scopes) and self.scopes[-1]

    def _start(self, name: str, attributes) -> None:
        index = self._here()
        local = name.rsplit(" ", 1)[-1].lower()
        depth = len(self.scopes)
        if depth == 0:
            if "constructioninfo" not in local:
                raise PatientDataUnchecked("The file is XML but not an exocad construction info file.")
            self.root_seen = True
        blanked = (
            self._blanking() or _is_patient_tag(local) or local in PROJECT_NAME_ANYWHERE
            or (depth == 1 and local in PROJECT_NAME_TAGS)
        )
        self._blank_attributes(index, list(attributes), inside_patient=blanked, root=depth == 0)
        self.scopes.append(blanked)

    def _blank_attributes(self, index: int, expanded: list[str], *, inside_patient: bool, root: bool) -> None:
        """`expanded`: expat's names of the tag's attributes, in order ("namespace local"),
        without the namespace declarations."""
        tag = _START_TAG.match(self.data, index)
        if tag is None:
            raise PatientDataUnchecked("The file's patient data could not be located reliably.")
        found = [attribute for attribute in _ATTRIBUTE.finditer(self.data, *tag.span("attributes"))
                 if not attribute["name"].lower().startswith(b"xmlns")]
        if len(found) != len(expanded):
            raise PatientDataUnchecked("The file's patient data could not be located reliably.")
        for attribute, name in zip(found, expanded, strict=True):
            namespace, _, local = name.rpartition(" ")
            local = local.lower()
            if namespace == XSI_NAMESPACE and local in _SCHEMA_ATTRIBUTES:
                continue
            named_for_patient = (_is_patient_tag(local) or local in PROJECT_NAME_ANYWHERE
                                 or (root and local in PROJECT_NAME_TAGS))
            if named_for_patient or inside_patient:
                self.spans.append(attribute.span("value"))
                self.secrets.add(attribute["value"].decode("utf-8", "replace").strip().lower())
            else:
                self.kept.append((*attribute.span("value"), "attribute"))

    def _end(self, name: str) -> None:
        self._here()
        self.scopes.pop()

    def _text(self, text: str) -> None:
        index = self._here()
        kind = "cdata" if self.in_cdata else "text"
        if self._blanking() and text.strip():
            self.open_span, self.open_kind = index, kind
        elif text.strip():
            self.plain_open, self.plain_kind = index, kind

    def _comment_or_instruction(self, *args) -> None:
        index = self._here()
        if self._blanking():
            self.open_span, self.open_kind = index, "markup"

    def _cdata_start(self) -> None:
        self._here()
        self.in_cdata = True

    def _cdata_end(self) -> None:
        self._here()
        self.in_cdata = False

    def _refuse_dtd(self, *args) -> None:
        raise PatientDataUnchecked("The file declares a DTD or entities, which exocad files never do.")


def blank_patient_data_in(field_file) -> bytes:
    """`blank_patient_data` of a stored file (a Django FieldFile), reading at most MAX_BYTES + 1 bytes."""
    try:
        data = _read_start(field_file)
    except OSError as error:
        raise PatientDataUnchecked("The file could not be opened.") from error
    return blank_patient_data(data)

"""A summary of an exocad `.constructionInfo` file: project, teeth, and the patient fields
kept apart so a page can leave them out.

The file is XML written by exocad DentalCAD. Its tag names vary between versions and
exporters (`ConstructionInfo` or `ProjectConstructionInfo` as root, `Number` or
`ToothNumber`, values in child elements or attributes, sometimes a namespace), so tags are
matched by their local name, case-insensitively, through the alias lists below.

Parsing is safe for untrusted uploads: defusedxml with DTDs forbidden (no entities, so no
"billion laughs" and no external entity or network access) and a size limit before
parsing. A file that cannot be read gives a summary with `error` set, never an exception.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from xml.etree.ElementTree import Element, ParseError

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import fromstring

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
        with field_file.open("rb") as handle:
            data = handle.read(MAX_BYTES + 1)
    except OSError:
        return unreadable("The file could not be opened.")
    return parse_construction_info(data)


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



"""The copy of an exocad .constructionInfo without the patient data (`blank_patient_data`):
patient fields and the project name emptied, every other byte as it was, and files that
cannot be checked refused rather than passed on."""

import codecs

import pytest

from cadcam.construction_info import (
    MAX_BYTES,
    PatientDataUnchecked,
    Tooth,
    blank_patient_data,
    parse_construction_info,
)

# A file in the shape exocad writes (.NET XmlSerializer: declaration, xsi/xsd namespaces, CRLF).
EXOCAD = (
    '<?xml version="1.0" encoding="utf-8"?>\r\n'
    '<ProjectConstructionInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xmlns:xsd="http://www.w3.org/2001/XMLSchema">\r\n'
    "  <ProjectName>Kowalski_Anna_2026-11-20</ProjectName>\r\n"
    "  <ProjectGuid>{5b1f8a0e-1111-2222-3333-444455556666}</ProjectGuid>\r\n"
    "  <PatientFirstName>Anna</PatientFirstName>\r\n"
    "  <PatientLastName>Kowalski</PatientLastName>\r\n"
    "  <PatientBirthdate>1975-03-14T00:00:00</PatientBirthdate>\r\n"
    "  <PatientId>P-48213</PatientId>\r\n"
    "  <ClientName>Dr. Weiss Dental</ClientName>\r\n"
    "  <Teeth>\r\n"
    "    <Tooth>\r\n"
    "      <Number>36</Number>\r\n"
    "      <ReconstructionType>Crown</ReconstructionType>\r\n"
    "      <Material>Zirconia</Material>\r\n"
    "    </Tooth>\r\n"
    "    <Tooth>\r\n"
    "      <Number>46</Number>\r\n"
    "      <ReconstructionType>Abutment</ReconstructionType>\r\n"
    "      <Implant><Name>Straumann BLX RB</Name><Library>straumann</Library></Implant>\r\n"
    "    </Tooth>\r\n"
    "  </Teeth>\r\n"
    "</ProjectConstructionInfo>\r\n"
)

EXOCAD_BLANKED = (
    EXOCAD.replace("Kowalski_Anna_2026-11-20", "")
    .replace(">Anna<", "><")
    .replace(">Kowalski<", "><")
    .replace("1975-03-14T00:00:00", "")
    .replace("P-48213", "")
)

PATIENT_WORDS = ("Anna", "Kowalski", "1975", "P-48213")


def blanked(text: str, encoding: str = "utf-8") -> str:
    return blank_patient_data(text.encode(encoding)).decode(encoding)


def refusal(data: bytes) -> str:
    with pytest.raises(PatientDataUnchecked) as refused:
        blank_patient_data(data)
    return refused.value.message


# What is blanked, and that nothing else moves


def test_patient_fields_and_project_name_are_emptied_and_every_other_byte_kept():
    assert blanked(EXOCAD) == EXOCAD_BLANKED


def test_the_copy_still_reads_with_the_same_teeth_and_no_patient_data():
    before = parse_construction_info(EXOCAD.encode())
    after = parse_construction_info(blank_patient_data(EXOCAD.encode()))

    assert before.patient and before.project_name
    assert after.error == ""
    assert after.patient == () and after.project_name == ""
    assert after.teeth == before.teeth == (
        Tooth(number="36", reconstruction_type="Crown", material="Zirconia"),
        Tooth(number="46", reconstruction_type="Abutment", implant_type="Straumann BLX RB"),
    )


def test_a_file_without_patient_data_comes_back_identical():
    data = EXOCAD_BLANKED.encode()

    assert blank_patient_data(data) == data


def test_nested_tooth_names_and_the_client_are_untouched():
    """`Name` counts as the project name only as the root's child: an implant's name stays."""
    copy = blanked(EXOCAD)

    assert "<Implant><Name>Straumann BLX RB</Name><Library>straumann</Library></Implant>" in copy
    assert "<ClientName>Dr. Weiss Dental</ClientName>" in copy
    assert "<ProjectGuid>{5b1f8a0e-1111-2222-3333-444455556666}</ProjectGuid>" in copy


def test_namespaced_tags_keep_their_prefixes_and_declarations():
    text = (
        '<ex:ConstructionInfo xmlns:ex="http://exocad.com/ci" xmlns="http://exocad.com/default">'
        "<ex:PatientName>Anna Kowalski</ex:PatientName><PatientId>7</PatientId>"
        "<ex:Teeth><ex:Tooth><ex:Number>11</ex:Number></ex:Tooth></ex:Teeth></ex:ConstructionInfo>"
    )

    assert blanked(text) == (
        '<ex:ConstructionInfo xmlns:ex="http://exocad.com/ci" xmlns="http://exocad.com/default">'
        "<ex:PatientName></ex:PatientName><PatientId></PatientId>"
        "<ex:Teeth><ex:Tooth><ex:Number>11</ex:Number></ex:Tooth></ex:Teeth></ex:ConstructionInfo>"
    )


def test_attributes_with_patient_names_are_emptied_wherever_they_are():
    text = (
        "<ConstructionInfo ProjectName='Kowalski_Anna' name=\"Anna\" version=\"3\">"
        '<Case patientName="Anna Kowalski" DOB = "1975-03-14" lab="North"/>'
        '<Teeth><Tooth Number="36" PatientRef="P-1" Material="Zirconia"/></Teeth></ConstructionInfo>'
    )

    assert blanked(text) == (
        "<ConstructionInfo ProjectName='' name=\"\" version=\"3\">"
        '<Case patientName="" DOB = "" lab="North"/>'
        '<Teeth><Tooth Number="36" PatientRef="" Material="Zirconia"/></Teeth></ConstructionInfo>'
    )


def test_everything_inside_a_patient_element_is_emptied_but_its_markup_kept():
    text = (
        '<ConstructionInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '  <Patient id="P-48213" xsi:nil="false" xml:lang="pl">\n'
        "    <First>Anna</First>\n"
        "    <!-- Anna Kowalski, Warsaw -->\n"
        '    <Born year="1975">14 March 1975</Born>\n'
        "    <Address/>\n"
        "  </Patient>\n"
        "  <Teeth><Tooth><Number>36</Number></Tooth></Teeth>\n"
        "</ConstructionInfo>"
    )

    assert blanked(text) == (
        '<ConstructionInfo xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">\n'
        '  <Patient id="" xsi:nil="false" xml:lang="">\n'
        "    <First></First>\n"
        "    \n"
        '    <Born year=""></Born>\n'
        "    <Address/>\n"
        "  </Patient>\n"
        "  <Teeth><Tooth><Number>36</Number></Tooth></Teeth>\n"
        "</ConstructionInfo>"
    )


def test_cdata_entities_and_character_references_are_emptied_whole():
    text = (
        "<ConstructionInfo><PatientName><![CDATA[Anna <Kowalski>]]></PatientName>"
        "<PatientLastName>Kowalska &amp; Nowak&#x41;</PatientLastName>"
        "<ProjectName> <![CDATA[Kowalski]]> crown </ProjectName>"
        "<Note><![CDATA[Keep <this> & that]]></Note></ConstructionInfo>"
    )

    assert blanked(text) == (
        "<ConstructionInfo><PatientName><![CDATA[]]></PatientName>"
        "<PatientLastName></PatientLastName>"
        "<ProjectName> <![CDATA[]]></ProjectName>"
        "<Note><![CDATA[Keep <this> & that]]></Note></ConstructionInfo>"
    )


def test_self_closing_and_empty_patient_tags_stay_as_written():
    text = '<ConstructionInfo><PatientFirstName/><PatientLastName></PatientLastName><PatientId xsi:nil="true" ' \
           'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" /></ConstructionInfo>'

    assert blanked(text) == text


def test_non_ascii_names_are_emptied_and_other_text_kept():
    text = "<ConstructionInfo><PatientName>Zoë Łukasiewicz-Müller</PatientName><Material>Vita® Enamic</Material>" \
           "</ConstructionInfo>"

    assert blanked(text) == "<ConstructionInfo><PatientName></PatientName><Material>Vita® Enamic</Material>" \
                            "</ConstructionInfo>"


# Encodings


def test_a_utf8_byte_order_mark_is_kept():
    data = codecs.BOM_UTF8 + EXOCAD.encode()

    assert blank_patient_data(data) == codecs.BOM_UTF8 + EXOCAD_BLANKED.encode()


@pytest.mark.parametrize(("bom", "codec"), [(codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")])
def test_utf16_files_are_blanked_in_utf16(bom, codec):
    text = EXOCAD.replace('encoding="utf-8"', 'encoding="utf-16"')
    expected = EXOCAD_BLANKED.replace('encoding="utf-8"', 'encoding="utf-16"')

    assert blank_patient_data(bom + text.encode(codec)) == bom + expected.encode(codec)


def test_a_declared_single_byte_encoding_is_kept():
    text = EXOCAD.replace('encoding="utf-8"', 'encoding="ISO-8859-1"').replace("Anna", "Zoë")
    expected = EXOCAD_BLANKED.replace('encoding="utf-8"', 'encoding="ISO-8859-1"')

    assert blank_patient_data(text.encode("latin-1")) == expected.encode("latin-1")


# Refused: never passed on unchecked


def test_broken_xml_is_refused():
    assert refusal(b"<ConstructionInfo><PatientName>Anna</ConstructionInfo>") == "The file is not well-formed XML."
    assert refusal(b"<ConstructionInfo><PatientName>Anna") == "The file is not well-formed XML."
    assert refusal(b"") == "The file is not well-formed XML."
    assert refusal(b"<ex:ConstructionInfo/>") == "The file is not well-formed XML."  # unbound prefix


def test_a_dtd_is_refused_before_any_entity_is_expanded():
    laughs = (
        b'<?xml version="1.0"?><!DOCTYPE ConstructionInfo [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><ConstructionInfo><PatientName>&b;</PatientName>'
        b"</ConstructionInfo>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE ConstructionInfo [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        b"<ConstructionInfo>&x;</ConstructionInfo>"
    )

    for data in (laughs, external, b"<!DOCTYPE ConstructionInfo><ConstructionInfo/>"):
        assert refusal(data) == "The file declares a DTD or entities, which exocad files never do."


def test_an_undeclared_entity_is_refused():
    assert refusal(b"<ConstructionInfo><PatientName>&anna;</PatientName></ConstructionInfo>") == (
        "The file is not well-formed XML."
    )


def test_xml_that_is_not_a_construction_info_is_refused():
    assert refusal(b"<DentalProject><PatientName>Anna</PatientName></DentalProject>") == (
        "The file is XML but not an exocad construction info file."
    )


def test_a_file_over_the_size_limit_is_refused():
    data = EXOCAD.replace("</ProjectConstructionInfo>", "<Pad>" + "x" * MAX_BYTES + "</Pad></ProjectConstructionInfo>")

    assert refusal(data.encode()) == "The file is too large to check for patient data."


def test_text_that_does_not_decode_is_refused():
    assert refusal(b"<ConstructionInfo><PatientName>\xff\xfe</PatientName></ConstructionInfo>") == (
        "The file is not valid UTF-8 text."
    )
    assert refusal(b'<?xml version="1.0" encoding="x-klingon"?><ConstructionInfo/>') == (
        "The file is written in an unknown text encoding."
    )
    assert refusal(b'<?xml version="1.0" encoding="utf-16"?><ConstructionInfo/>') == "The file is not well-formed XML."


def test_garbage_is_refused():
    assert refusal(b"\x00\x01\x02 not xml at all") == "The file is not well-formed XML."
    assert refusal(b"ConstructionInfo = yes") == "The file is not well-formed XML."

"""The exocad .constructionInfo summary, on files written here in the shapes exocad versions use."""

import time

import pytest

from cadcam.construction_info import (
    MAX_BYTES,
    PROJECT_NAME_HIDDEN,
    ConstructionInfoSummary,
    PatientField,
    Tooth,
    parse_construction_info,
)


def construction_info(teeth: str, *, root: str = "ConstructionInfo", head: str = "", extra: str = "") -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?>\n'
        f'<{root} xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{head}'
        f"<Teeth>{teeth}</Teeth>{extra}</{root}>"
    ).encode()


BRIDGE_AND_IMPLANT = construction_info(
    """
    <Tooth><Number>14</Number><ReconstructionType>Crown</ReconstructionType><Material>Zirconia</Material>
      <ImplantType></ImplantType></Tooth>
    <Tooth><Number>15</Number><ReconstructionType>Pontic</ReconstructionType><Material>Zirconia</Material></Tooth>
    <Tooth><Number>16</Number><ReconstructionType>AnatomicCrown</ReconstructionType>
      <Material>Lithium disilicate</Material><ImplantType>Straumann BLT RC 4.1</ImplantType></Tooth>
    """,
    head="""<ProjectName>Smith_John_2026-11-20</ProjectName>
    <ProjectGuid>{5b1f8a0e-1111-2222-3333-444455556666}</ProjectGuid>
    <PatientFirstName>John</PatientFirstName><PatientLastName>Smith</PatientLastName>
    <PatientBirthdate>1961-04-09</PatientBirthdate><PatientRefNo>P-48213</PatientRefNo>
    <ClientName>Dr. Weiss Dental</ClientName>""",
)


def test_project_teeth_and_patient_fields_are_read():
    summary = parse_construction_info(BRIDGE_AND_IMPLANT)

    assert summary.error == ""
    assert summary.project_name == "Smith_John_2026-11-20"
    assert summary.teeth == (
        Tooth(number="14", reconstruction_type="Crown", material="Zirconia", implant_type=""),
        Tooth(number="15", reconstruction_type="Pontic", material="Zirconia", implant_type=""),
        Tooth(
            number="16", reconstruction_type="AnatomicCrown", material="Lithium disilicate",
            implant_type="Straumann BLT RC 4.1",
        ),
    )
    assert summary.patient == (
        PatientField("Patient first name", "John"),
        PatientField("Patient last name", "Smith"),
        PatientField("Patient birthdate", "1961-04-09"),
        PatientField("Patient ref no", "P-48213"),
    )
    assert summary.has_patient_data


def test_without_patient_data_drops_the_fields_and_the_project_name():
    hidden = parse_construction_info(BRIDGE_AND_IMPLANT).without_patient_data()

    assert hidden.patient == ()
    assert not hidden.has_patient_data
    assert hidden.project_name == PROJECT_NAME_HIDDEN
    assert len(hidden.teeth) == 3


@pytest.mark.parametrize("project", ["SmithJohn_crown", "SMITHJ_11", "4711_crown", "Case 7"])
def test_the_project_name_is_hidden_whatever_form_the_patient_s_name_takes(project):
    data = f"""<?xml version="1.0"?><ConstructionInfo><ProjectName>{project}</ProjectName>
      <PatientFirstName>John</PatientFirstName><PatientLastName>Smith</PatientLastName>
      <PatientId>P4711</PatientId></ConstructionInfo>""".encode()
    hidden = parse_construction_info(data).without_patient_data()
    assert hidden.project_name == PROJECT_NAME_HIDDEN
    assert hidden.patient == ()


def test_other_versions_casing_attributes_namespaces_and_a_patient_element():
    data = b"""<?xml version="1.0"?>
    <ex:projectConstructionInfo xmlns:ex="http://exocad.com/ns">
      <ex:PROJECTNAME>Case 7</ex:PROJECTNAME>
      <ex:Patient><ex:FirstName>Ana</ex:FirstName><ex:LastName>Ruiz</ex:LastName><ex:DateOfBirth>1990-01-02</ex:DateOfBirth>
      </ex:Patient>
      <ex:teeth>
        <ex:tooth toothNumber="36" constructionType="Crown" materialName="PMMA"/>
        <ex:TOOTH><ex:ToothNumber>46</ex:ToothNumber><ex:ReconstructionType>Abutment</ex:ReconstructionType>
          <ex:Implant><ex:Name>Nobel Active NP</ex:Name></ex:Implant></ex:TOOTH>
      </ex:teeth>
    </ex:projectConstructionInfo>"""

    summary = parse_construction_info(data)

    assert summary.project_name == "Case 7"
    assert summary.teeth == (
        Tooth(number="36", reconstruction_type="Crown", material="PMMA", implant_type=""),
        Tooth(number="46", reconstruction_type="Abutment", material="", implant_type="Nobel Active NP"),
    )
    assert [field.value for field in summary.patient] == ["Ana", "Ruiz", "1990-01-02"]
    assert summary.without_patient_data().project_name == PROJECT_NAME_HIDDEN


def test_missing_fields_are_empty_not_errors():
    summary = parse_construction_info(construction_info("<Tooth><Number>21</Number></Tooth><Tooth/>"))

    assert summary.error == ""
    assert summary.project_name == ""
    assert summary.teeth == (Tooth(number="21"), Tooth())
    assert summary.patient == ()


def test_a_file_without_teeth_has_an_empty_tooth_list():
    summary = parse_construction_info(b"<ConstructionInfo><ProjectName>Empty</ProjectName></ConstructionInfo>")

    assert summary == ConstructionInfoSummary(project_name="Empty")


def test_malformed_xml_gives_a_summary_with_an_error():
    summary = parse_construction_info(b"<ConstructionInfo><Teeth><Tooth><Number>11</Teeth>")

    assert summary.error == "The file is not well-formed XML."
    assert summary.teeth == ()


def test_binary_garbage_and_empty_files_give_an_error():
    assert parse_construction_info(b"\x00\xff\xfe garbage").error
    assert parse_construction_info(b"").error


def test_xml_that_is_not_a_construction_info_is_refused():
    summary = parse_construction_info(b"<DentalProject><Teeth/></DentalProject>")

    assert summary.error == "The file is XML but not an exocad construction info file."


def test_external_entities_are_refused_without_reading_the_file(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    data = (
        f'<?xml version="1.0"?><!DOCTYPE ConstructionInfo [<!ENTITY leak SYSTEM "file://{secret}">]>'
        "<ConstructionInfo><ProjectName>&leak;</ProjectName></ConstructionInfo>"
    ).encode()

    summary = parse_construction_info(data)

    assert "DTD" in summary.error
    assert "TOP-SECRET" not in repr(summary)


def test_billion_laughs_is_refused_quickly():
    entities = '<!ENTITY lol0 "lol">' + "".join(f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10}">' for n in range(1, 10))
    data = (
        f'<?xml version="1.0"?><!DOCTYPE ConstructionInfo [{entities}]>'
        "<ConstructionInfo><ProjectName>&lol9;</ProjectName></ConstructionInfo>"
    ).encode()

    started = time.monotonic()
    summary = parse_construction_info(data)

    assert time.monotonic() - started < 1
    assert summary.error
    assert summary.project_name == ""


def test_files_over_the_limit_are_not_parsed():
    data = construction_info("<Tooth><Number>11</Number></Tooth>", extra="<Pad>" + "x" * MAX_BYTES + "</Pad>")

    assert parse_construction_info(data).error == "The file is too large to summarise."

from django.db import migrations
from django.utils.text import slugify

CATEGORIES = [
    ("Crowns & Bridges", "Anatomic and reduced crowns, bridges, copings and temporaries."),
    ("Inlays, Onlays & Veneers", "Minimally invasive restorations and veneers for press or milling."),
    ("Implant Abutments & Screw-Retained Crowns", "Custom abutments, ti-base crowns and screw-retained restorations."),
    ("All-on-X / Hybrid Bars", "Full-arch implant bars, hybrids and prettau bridges."),
    ("Full Dentures", "Digital complete dentures, try-ins and copy dentures."),
    ("Partial Dentures & RPD Frameworks", "Cast and printed RPD frameworks, clasps and partials."),
    ("Night Guards & Splints", "Occlusal splints, night guards and sports guards."),
    ("Surgical Guides", "Implant planning and guided-surgery templates."),
    ("Smile Design", "Digital smile design, wax-ups and mock-ups."),
    ("Orthodontic Models & Aligners", "Setups, aligner models, retainers and indirect bonding trays."),
    ("Models & Dies", "Printable models, dies and articulated model bases."),
]

SOFTWARE = [
    "exocad DentalCAD",
    "3Shape Dental System",
    "Dental Wings DWOS",
    "inLab/CEREC",
    "Medit",
    "Blender for Dental",
    "Zirkonzahn",
    "Carestream",
    "Shining 3D",
    "coDiagnostiX",
    "Blue Sky Plan",
]


def seed(apps, schema_editor):
    Category = apps.get_model("listings", "Category")
    CadSoftware = apps.get_model("listings", "CadSoftware")
    for position, (name, description) in enumerate(CATEGORIES):
        Category.objects.update_or_create(
            slug=slugify(name), defaults={"name": name, "description": description, "position": position}
        )
    for position, name in enumerate(SOFTWARE):
        CadSoftware.objects.update_or_create(slug=slugify(name), defaults={"name": name, "position": position})


class Migration(migrations.Migration):
    dependencies = [("listings", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]

from django import template

from cadcam import previews
from cadcam.files import extension_of

register = template.Library()


@register.filter
def preview_kind(name: str) -> str:
    """'mesh', 'image', 'pdf', 'construction_info' or '' (see cadcam.previews.preview_kind)."""
    return previews.preview_kind(name) or ""


@register.filter
def file_extension(name: str) -> str:
    return extension_of(name or "")


@register.filter
def inline_url(download_url: str) -> str:
    return previews.inline_url(download_url)


@register.simple_tag(takes_context=True)
def patient_copy_note(context, name: str, hidden: bool, uploader_id: int | None) -> str:
    """Which copy of an exocad file the request's user downloads (cadcam.previews.patient_copy_note)."""
    viewer = getattr(context.get("request"), "user", None)
    return previews.patient_copy_note(name=name, hidden=hidden, uploader_id=uploader_id, viewer=viewer)


@register.simple_tag(takes_context=True)
def patient_safe_name(context, name: str, hidden: bool, uploader_id: int | None) -> str:
    """The file name the request's user sees (cadcam.previews.patient_safe_name)."""
    viewer = getattr(context.get("request"), "user", None)
    return previews.patient_safe_name(name=name, hidden=hidden, uploader_id=uploader_id, viewer=viewer)

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

from django import template

from cadcam.money import format_cents

register = template.Library()


@register.filter
def cents(value) -> str:
    """{{ 3878|cents }} -> $38.78"""
    return format_cents(int(value))

"""`{% page_url number param %}`: the current page's query string with one page number changed,
so a page with several paged lists (or a filter, a search) keeps the others in its links.
templates/_pagination.html uses it."""

from django import template

register = template.Library()


@register.simple_tag(takes_context=True)
def page_url(context, number, param: str = "page") -> str:
    query = context["request"].GET.copy()
    query[param] = number
    return f"?{query.urlencode()}"

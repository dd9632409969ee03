"""Template helpers for reviews: the order page's review block (the orders view does not
know about reviews; its template includes reviews/_order_reviews.html), a listing's reviews,
and star strings."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django import template

from reviews.forms import ReplyForm, ReviewForm
from reviews.selectors import order_reviews_for, ratings_of, reviews_of_listing

register = template.Library()


@register.simple_tag(takes_context=True)
def order_reviews(context, order):
    return order_reviews_for(order, context["request"].user)


@register.simple_tag
def form_or_new(form, kind: str):
    """The form the view sent back (bound, with errors) or an empty one."""
    if form is not None and form != "":
        return form
    return ReviewForm() if kind == "review" else ReplyForm()


@register.simple_tag
def listing_reviews(listing):
    return reviews_of_listing(listing)


@register.filter
def stars(rating) -> str:
    """★★★★☆ for 4; the number is given to screen readers separately."""
    try:
        full = max(0, min(5, int(rating)))
    except (TypeError, ValueError):
        return ""
    return "★" * full + "☆" * (5 - full)


@register.filter
def one_decimal(value) -> str:
    """4.67 -> "4.7" (ratings are shown with one decimal)."""
    try:
        return str(Decimal(value).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP))
    except (TypeError, ValueError, InvalidOperation):
        return ""


@register.simple_tag
def rating_of(user, role: str):
    """The person's rating in one role ("freelancer" or "employer")."""
    return ratings_of(user)[role]

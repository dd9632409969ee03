from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from cadcam.errors import ApplicationError
from orders.selectors import order_for
from reviews.forms import ReplyForm, ReviewForm
from reviews.models import Review
from reviews.selectors import order_reviews_for
from reviews.services import review_create, review_reply


def _is_htmx(request) -> bool:
    return bool(request.headers.get("HX-Request"))


def _answer(request, order, form, *, form_name: str, success: str, failed: bool):
    """With htmx: the review block again (with the typed text and errors if refused).
    Without: back to the order page with a message."""
    if _is_htmx(request):
        context = {"order": order, "reviews_panel": order_reviews_for(order, request.user),
                   "notice": "" if failed else success, form_name: form if failed else None}
        return render(request, "reviews/_order_panel.html", context)
    if failed:
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
    else:
        messages.success(request, success)
    return redirect("orders:detail", order.pk)


@login_required
@require_POST
def create(request, pk: int):
    order = order_for(request.user, pk)
    form = ReviewForm(request.POST)
    success = ""
    if form.is_valid():
        try:
            review = review_create(order=order, author=request.user, rating=form.cleaned_data["rating"],
                                   comment=form.cleaned_data["comment"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            success = "Thank you for your review. " + (
                "Both reviews are now visible." if review.visible_at
                else "It becomes visible when the other side has reviewed too, or when the 14 days end."
            )
    return _answer(request, order, form, form_name="review_form", success=success, failed=bool(form.errors))


@login_required
@require_POST
def reply(request, pk: int):
    review = get_object_or_404(Review.objects.select_related("order"), pk=pk)
    order = order_for(request.user, review.order_id)
    if request.user.pk not in (order.employer_id, order.freelancer_id):
        raise Http404
    form = ReplyForm(request.POST)
    if form.is_valid():
        try:
            review_reply(review=review, by=request.user, text=form.cleaned_data["reply"])
        except ApplicationError as error:
            form.add_error(None, error.message)
    return _answer(request, order, form, form_name="reply_form", success="Your reply is published.",
                   failed=bool(form.errors))

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from cadcam.errors import ApplicationError
from cadcam.uploads import form_valid_with_uploads
from disputes.forms import DisputeForm
from disputes.services import dispute_may_open, dispute_open
from orders.selectors import order_for


@login_required
@require_http_methods(["GET", "POST"])
def open_dispute(request, pk: int):
    order = order_for(request.user, pk)  # 404 for anyone who may not see the order
    if not dispute_may_open(order, request.user):
        messages.error(request, "A dispute cannot be opened on this order now.")
        return redirect("orders:detail", order.pk)
    form = DisputeForm(request.POST or None, request.FILES or None, uploader=request.user)
    if form_valid_with_uploads(request, form):
        try:
            dispute_open(order=order, by=request.user, reason=form.cleaned_data["reason"],
                         description=form.cleaned_data["description"], files=form.cleaned_data["files"],
                         hide_patient_data=form.cleaned_data["hide_patient_data"])
        except ApplicationError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, "Your dispute is open. The designer was told, and our team will answer in "
                                      "the dispute thread, usually within one working day.")
            return redirect("orders:detail", order.pk)
    return render(request, "disputes/open.html", {"order": order, "form": form})

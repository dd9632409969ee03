import json

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.exports import account_export
from accounts.forms import AccountDeleteForm, ProfileForm, VerificationRequestForm
from accounts.selectors import verification_document_for, verification_requests_of
from accounts.services import (
    profile_get_or_create,
    profile_update,
    user_delete,
    verification_request_create,
)
from cadcam.errors import ApplicationError
from cadcam.files import private_file_response
from cadcam.uploads import form_valid_with_uploads


@login_required
@require_http_methods(["GET", "POST"])
def profile_edit(request):
    profile = profile_get_or_create(user=request.user)
    form = ProfileForm(request.POST or None, request.FILES or None, instance=profile)
    if form_valid_with_uploads(request, form, field="photo"):
        try:
            profile_update(
                profile=profile, data=form.profile_fields(), photo=form.cleaned_data.get("photo")
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Your profile is saved.")
            return redirect("accounts:profile")
    profile.refresh_from_db()
    return render(request, "accounts/profile_edit.html", {"form": form, "profile": profile})


@login_required
@require_http_methods(["GET", "POST"])
def verification(request):
    profile = profile_get_or_create(user=request.user)
    history = verification_requests_of(request.user)
    pending = next((item for item in history if item.status == item.Status.PENDING), None)
    form = VerificationRequestForm(request.POST or None, request.FILES or None)
    if form_valid_with_uploads(request, form, field="document"):
        try:
            verification_request_create(
                user=request.user,
                document_type=form.cleaned_data["document_type"],
                document=form.cleaned_data["document"],
            )
        except ApplicationError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, "Thank you. Your document is with our team; we will e-mail you the decision.")
            return redirect("accounts:verification")
    context = {"profile": profile, "history": history, "pending": pending, "form": form}
    return render(request, "accounts/verification.html", context)


def id_document_response(verification_request):
    """An ID document shown in the browser, sandboxed: nothing in it may run or load."""
    response = private_file_response(
        verification_request.document, filename=verification_request.document_name, as_attachment=False
    )
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
    return response


@login_required
def verification_document(request, pk: int):
    """The owner's own document; staff open documents in the admin, where it is recorded."""
    return id_document_response(verification_document_for(viewer=request.user, pk=pk))


@login_required
@require_http_methods(["GET", "POST"])
def account_delete(request):
    form = AccountDeleteForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user_delete(user=request.user, password=form.cleaned_data["password"])
        except ApplicationError as error:
            form.add_error("password", error.message)
        else:
            logout(request)
            messages.success(request, "Your account is deleted. Thank you for using CadCam Masters.")
            return redirect("home")
    return render(request, "accounts/account_delete.html", {"form": form})


@login_required
def data_export(request):
    data = account_export(user=request.user)
    response = HttpResponse(
        json.dumps(data, cls=DjangoJSONEncoder, indent=2, ensure_ascii=False),
        content_type="application/json; charset=utf-8",
    )
    stamp = timezone.now().strftime("%Y-%m-%d")
    response["Content-Disposition"] = f'attachment; filename="cadcam-masters-data-{stamp}.json"'
    response["Cache-Control"] = "private, no-store"
    return response

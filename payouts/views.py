"""Payout preferences: choosing the bank's country, the gateway's hosted onboarding (a
fresh link each time: links are single-use and expire), the return from it, and the
freelancer's Express dashboard. In test mode the simulated gateway's onboarding and
dashboard are local pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from cadcam.errors import ApplicationError
from payments.backends import get_gateway
from payments.models import SimulatedAccount
from payments.simulated import simulated_account_onboard
from payouts.forms import PayoutCountryForm, SimulatedOnboardingForm
from payouts.models import PayoutAccount
from payouts.services import (
    payout_account_dashboard_link,
    payout_account_onboarding_link,
    payout_account_start,
    payout_account_sync,
)
from payouts.tasks import transfer_payouts_of

# What Stripe's requirement names mean, for the freelancer (others are shown as they come).
REQUIREMENT_WORDS = {
    "external_account": "Bank account for payouts",
    "individual.verification.document": "Photo ID",
    "individual.verification.additional_document": "Proof of address",
    "individual.id_number": "Personal ID number",
    "individual.dob.day": "Date of birth",
    "individual.address.line1": "Home address",
    "business_profile.url": "Website or profile link",
    "business_profile.mcc": "Type of business",
    "tos_acceptance.date": "Accept Stripe's terms",
}


def describe_requirement(name: str) -> str:
    if name in REQUIREMENT_WORDS:
        return REQUIREMENT_WORDS[name]
    return name.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def preferences_context(request) -> dict:
    """What the payout preferences block on /payouts/ needs."""
    account = PayoutAccount.objects.filter(user=request.user).first()
    return {
        "payout_account": account,
        "payout_state": account.state if account else "not_started",
        "payout_requirements": [describe_requirement(r) for r in account.requirements_due] if account else [],
        "payout_country_form": PayoutCountryForm(),
        "payout_test_mode": get_gateway().name == "simulated",
    }


def _onboarding_redirect(request):
    try:
        url = payout_account_onboarding_link(
            user=request.user,
            refresh_url=request.build_absolute_uri(reverse("payouts:onboarding")),
            return_url=request.build_absolute_uri(reverse("payouts:onboarding_return")),
        )
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("payouts:index")
    return redirect(url)


@login_required
@require_POST
def connect(request):
    form = PayoutCountryForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(form.errors["country"]))
        return redirect("payouts:index")
    try:
        payout_account_start(user=request.user, country=form.cleaned_data["country"].country.code)
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("payouts:index")
    return _onboarding_redirect(request)


@login_required
@require_http_methods(["GET", "POST"])
def onboarding(request):
    """Continue onboarding; also the refresh URL Stripe sends people to when a link expired."""
    return _onboarding_redirect(request)


@login_required
def onboarding_return(request):
    account = PayoutAccount.objects.filter(user=request.user).first()
    if account is None:
        return redirect("payouts:index")
    try:
        account = payout_account_sync(account_id=account.gateway_account_id, on_enabled=transfer_payouts_of.delay)
    except ApplicationError as error:
        messages.warning(request, f"{error.message} Your payout status will update shortly.")
        return redirect("payouts:index")
    if account.state == PayoutAccount.State.ENABLED:
        messages.success(request, "Payouts are enabled: completed orders are paid to your bank.")
    elif account.state == PayoutAccount.State.PENDING_VERIFICATION:
        messages.info(request, "Thanks. Stripe is verifying your details; this usually takes a few minutes.")
    else:
        messages.warning(request, "Some details are still missing. Continue the setup to receive payouts.")
    return redirect("payouts:index")


@login_required
@require_POST
def dashboard(request):
    try:
        return redirect(payout_account_dashboard_link(user=request.user))
    except ApplicationError as error:
        messages.error(request, error.message)
        return redirect("payouts:index")


def _own_simulated_account(request, account_id: str) -> SimulatedAccount:
    """The simulated account behind the signed-in user's payout account; 404 for anyone else,
    and always when Stripe is configured."""
    if get_gateway().name != "simulated":
        raise Http404
    if not PayoutAccount.objects.filter(user=request.user, gateway_account_id=account_id).exists():
        raise Http404
    prefix = "sim_acct_"
    suffix = account_id[len(prefix):] if account_id.startswith(prefix) else ""
    account = SimulatedAccount.objects.filter(pk=int(suffix)).first() if suffix.isdigit() else None
    if account is None:
        raise Http404
    return account


@login_required
@require_http_methods(["GET", "POST"])
def simulated_onboarding(request, account_id: str):
    account = _own_simulated_account(request, account_id)
    form = SimulatedOnboardingForm(request.POST or None, initial={"account_holder": request.user.display_name})
    if request.method == "POST" and form.is_valid():
        simulated_account_onboard(account_id=account_id, account_holder=form.cleaned_data["account_holder"],
                                  iban=form.cleaned_data["iban"])
        # What Stripe does next: send the person back to our return URL.
        return redirect("payouts:onboarding_return")
    return render(request, "payouts/simulated_onboarding.html", {"form": form, "account": account})


@login_required
def simulated_dashboard(request, account_id: str):
    account = _own_simulated_account(request, account_id)
    transfers = account.transfers.order_by("-created_at")[:50]
    return render(request, "payouts/simulated_dashboard.html", {"account": account, "transfers": transfers})

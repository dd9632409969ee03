from dataclasses import replace
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.messages import get_messages
from django.core.paginator import Page
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from cadcam.errors import ApplicationError
from cadcam.uploads import form_valid_with_uploads
from listings import browse_cache
from listings.cards import Card, cards_for
from listings.contacts import recipient_choices, sent_ids
from listings.forms import BrowseForm, ListingForm, OptionFormSet
from listings.models import Listing
from listings.prechecks import listing_problems
from listings.selectors import (
    CappedPaginator,
    browse_reference,
    favorite_ids_of,
    listing_owned_by,
    listing_pending_edit,
    listing_visible_to,
    listings_browse_ids_page,
    remembered_reference,
    search_words,
    sees_only_public,
)
from listings.services import (
    ListingNotReady,
    OptionData,
    favorite_toggle,
    listing_archive,
    listing_create,
    listing_edit,
    listing_submit,
)
from payments.fees import freelancer_net_cents

PAGE_SIZE = 24


def _results(request, filters, number, versions) -> Page:
    """One page of result cards, from the cache when this viewer sees what everyone sees.
    What goes into the cache is read from the primary database: a lagging replica could
    otherwise store rows older than the version they are filed under."""
    shared = versions is not None and not filters.private_only and sees_only_public(request.user)
    key = browse_cache.key("results", filters.normalised(), number) if shared else None
    cached = browse_cache.lookup(key, versions) if key else None
    if cached is not None:
        paginator = CappedPaginator((), PAGE_SIZE)
        paginator.count = cached["count"]
        return Page([Card(*card) for card in cached["cards"]], cached["number"], paginator)
    page = listings_browse_ids_page(viewer=request.user, filters=filters, number=number, per_page=PAGE_SIZE,
                                    replica=not shared)
    page.object_list = cards_for(page.object_list, versions)
    if key:
        browse_cache.store(key, versions, {"count": page.paginator.count, "number": page.number,
                                           "cards": [(card.pk, card.title, card.html) for card in page.object_list]})
    return page


def _page_token(number: str | None) -> int | str:
    """The requested page as the paginator will read it, so "01", "+1" and "abc" share page 1's
    cache entries; numbers past any page there can be (or below 1) all mean the last page."""
    try:
        wanted = int(number)
    except (TypeError, ValueError):
        return 1
    return wanted if 1 <= wanted <= CappedPaginator.most_pages(PAGE_SIZE) else "last"


def _browse_form(request, reference) -> tuple[BrowseForm, object]:
    """The filter form and its filters. A value that does not validate (price_min=abc) is
    dropped from the form as well, so the page shows, links and caches only what applies."""
    form = BrowseForm(request.GET or None, reference=reference)
    filters = form.filters()
    if form.is_bound and form.errors:
        valid = request.GET.copy()
        for name in form.errors:
            valid.pop(name, None)
        form = BrowseForm(valid, reference=reference)
        filters = form.filters()
    return form, filters


# What each query string this process has seen means as filters (per reference version), so a
# page served from the cache costs a dictionary lookup here rather than building the form.
_canonical = browse_cache.Recent(1024)


def _query_key(request, held) -> tuple:
    return held and held[0], tuple((name, tuple(values)) for name, values in request.GET.lists())


def _is_fragment(request) -> bool:
    """htmx asks for the results only, except when it restores a page from history."""
    return bool(request.headers.get("HX-Request") and not request.headers.get("HX-History-Restore-Request"))


def _page_key(request, versions, held) -> str | None:
    """The anonymous page's cache key, if this process knows what the query string means."""
    canonical = _canonical.get(_query_key(request, held))
    if canonical is None:
        return None
    return browse_cache.key("page", _is_fragment(request), *canonical, _page_token(request.GET.get("page")))


def cached_anonymous_page(request) -> HttpResponse | None:
    """The whole response for a visitor without a session, if this process has the page under
    the current tokens (listings.middleware.AnonymousBrowseCacheMiddleware serves it)."""
    versions = browse_cache.current_versions_or_none()
    held = remembered_reference()
    if versions is None or held is None or held[0] != versions.reference:
        return None
    key = _page_key(request, versions, held)
    stored = browse_cache.lookup_page(key, versions) if key else None
    if stored is None:
        return None
    headers, content = stored
    response = HttpResponse(content)
    for name, value in headers:
        response[name] = value
    return response


def _filter_pairs(form) -> list[tuple[str, str]]:
    """The filters' own valid parameters that say something: no `q=&category=&…`, so the
    address bar, shared links and the page links stay short (and the same for everyone)."""
    if not form.is_bound:
        return []
    return [(name, value) for name in form.fields for value in form.data.getlist(name) if value != ""]


def _browse_url(pairs) -> str:
    """/listings/ with these parameters, the empty ones left out."""
    kept = [(name, value) for name, value in pairs if value != ""]
    return reverse("listings:browse") + (f"?{urlencode(kept)}" if kept else "")


def browse(request):
    if not _is_fragment(request) and any(value == "" for _, values in request.GET.lists() for value in values):
        # The form sent without JavaScript names every field: the same page under its short address.
        return redirect(_browse_url((name, value) for name, values in request.GET.lists() for value in values))
    number = _page_token(request.GET.get("page"))
    versions = browse_cache.current_versions_or_none()
    held = remembered_reference()
    if versions is not None and (held is None or held[0] != versions.reference):  # categories changed
        browse_reference(versions.reference)
        held = remembered_reference()
    form, filters = _browse_form(request, held and held[1])
    _canonical.put(_query_key(request, held), (filters.normalised(), filters.q))
    unsearchable = bool(filters.q) and not search_words(filters.q)
    if unsearchable:  # "the", "a", "!!!": nothing PostgreSQL indexes; show the best rated instead
        filters = replace(filters, q="", sort="rating" if filters.sort == "relevance" else filters.sort)
    page = _results(request, filters, number, versions)
    context = {
        "form": form,
        "filters": filters,
        "unsearchable": form.cleaned_data.get("q") if unsearchable else "",
        "page": page,
        "favorite_ids": favorite_ids_of(request.user, page.object_list),
        # the filters' own valid parameters only: the same for everyone who shares the page
        "query_string": urlencode(_filter_pairs(form)),
    }
    template = "listings/_results.html" if _is_fragment(request) else "listings/browse.html"
    response = _vary(render(request, template, context))
    if _is_fragment(request):  # what htmx puts in the address bar (hx-push-url): the short address
        response["HX-Push-Url"] = _browse_url([*_filter_pairs(form), ("page", request.GET.get("page", ""))])
    if versions is not None and not request.user.is_authenticated and not len(get_messages(request)):
        # The middleware keeps it once the rest of the stack has added its headers.
        response.browse_page = (_page_key(request, versions, held), versions)
    return response


def _vary(response):
    patch_vary_headers(response, ["HX-Request", "HX-History-Restore-Request"])
    return response


def detail(request, pk: int, slug: str):
    listing = listing_visible_to(request.user, pk)
    if slug != listing.slug:
        return redirect(listing, permanent=True)
    is_owner = request.user.is_authenticated and listing.owner_id == request.user.pk
    context = {
        "listing": listing,
        "seller": listing.owner,
        "is_owner": is_owner,
        "pending_edit": listing_pending_edit(listing) if is_owner else None,
        "is_favorite": bool(favorite_ids_of(request.user, [listing])),
        "owner_net_cents": freelancer_net_cents(listing.price_cents) if is_owner else None,
    }
    return render(request, "listings/detail.html", context)


def _options_from(formset) -> list[OptionData]:
    return [
        OptionData(name=form.cleaned_data["name"], price_cents=form.cleaned_data["price_cents"])
        for form in formset.forms
        if form.cleaned_data.get("name") and not form.cleaned_data.get("DELETE")
    ]


def _option_initial(listing: Listing | None) -> list[dict]:
    if listing is None:
        return []
    return [{"name": option.name, "price_cents": option.price_cents} for option in listing.options.all()]


def _image_places(request, count: int) -> tuple[list[int], list[int]]:
    """The order typed in the position boxes and the images ticked for removal, as places
    in the list shown (0 first). Places, not ids: the first change to a live listing creates
    its edit copy, whose images have new ids but the same places."""

    def typed_position(place: int) -> int:
        try:
            return int(request.POST.get(f"position_{place}", place + 1))
        except ValueError:
            return place + 1

    order = sorted(range(count), key=lambda place: (typed_position(place), place))
    removed = [place for place in range(count) if request.POST.get(f"remove_{place}")]
    return order, removed


def _save_and_maybe_submit(request, form, formset, *, listing: Listing | None) -> Listing | None:
    """Save the content (create, update, or start an edit of a live listing), then submit it
    for review if asked. Returns the row now being edited, or None when saving was refused."""
    common = {
        "data": form.content(),
        "software": form.cleaned_data["software"],
        "options": _options_from(formset),
        "recipients": form.cleaned_data["recipients"],
    }
    try:
        if listing is None:
            target = listing_create(owner=request.user, images=form.cleaned_data["new_images"], **common)
        else:
            shown = listing_pending_edit(listing) or listing
            order, removed = _image_places(request, shown.images.count())
            target = listing_edit(
                listing=listing, by=request.user, image_order=order, removed_images=removed,
                new_images=form.cleaned_data["new_images"], **common,
            )
    except ApplicationError as error:
        messages.error(request, error.message)
        return None
    if request.POST.get("action") != "submit":
        messages.success(request, "Saved as a draft. Submit it for review when it is ready.")
        return target
    try:
        listing_submit(listing=target, by=request.user)
    except ListingNotReady as error:
        messages.error(request, "Saved, but not submitted yet. Fix these first:")
        for problem in error.problems:
            messages.error(request, problem.message)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Submitted for review. We will e-mail you when staff have looked at it.")
    return target


@login_required
@require_http_methods(["GET", "POST"])
def create(request):
    form = ListingForm(request.POST or None, request.FILES or None, owner=request.user)
    formset = OptionFormSet(request.POST or None, prefix="options")
    form_valid = form_valid_with_uploads(request, form, field="new_images")
    if form_valid and formset.is_valid():
        target = _save_and_maybe_submit(request, form, formset, listing=None)
        if target is not None:
            return redirect("listings:edit", target.pk)
    return render(request, "listings/form.html", {"form": form, "formset": formset, "listing": None})


@login_required
@require_http_methods(["GET", "POST"])
def edit(request, pk: int):
    listing = listing_owned_by(request.user, pk)
    # A live listing is edited through its pending copy; show that copy's content if there is one.
    editing = listing_pending_edit(listing) or listing
    form = ListingForm(request.POST or None, request.FILES or None, instance=editing, owner=request.user)
    formset = OptionFormSet(request.POST or None, prefix="options", initial=_option_initial(editing))
    form_valid = form_valid_with_uploads(request, form, field="new_images")
    if form_valid and formset.is_valid():
        if _save_and_maybe_submit(request, form, formset, listing=listing) is not None:
            return redirect("listings:edit", listing.pk)
        editing.refresh_from_db()
    context = {
        "form": form,
        "formset": formset,
        "listing": listing,
        "editing": editing,
        "problems": listing_problems(editing) if editing.status in {"draft", "rejected"} else [],
    }
    return render(request, "listings/form.html", context)


@login_required
@require_GET
def recipient_search(request, pk: int | None = None):
    """The client picker's htmx fragment (listings/_recipient_choices.html): the clients already
    chosen (the listing's, and those checked on the page, sent back as `recipients`), then the
    seller's own contacts matching `q`. Someone else's listing is a 404; a seller who types a
    stranger's name finds nobody."""
    current = None
    if pk is not None:
        listing = listing_owned_by(request.user, pk)
        current = (listing_pending_edit(listing) or listing).recipients.values("pk")
    query = request.GET.get("q", "")[:100]  # NUL and other control characters never get here (cadcam.middleware)
    picker = recipient_choices(request.user, current=current, checked=sent_ids(request.GET.getlist("recipients")),
                               text=query)
    return render(request, "listings/_recipient_choices.html", {"picker": picker})


@login_required
@require_http_methods(["GET", "POST"])
def archive(request, pk: int):
    """Asks first (GET), archives on POST: an archived listing leaves browse and cannot be ordered."""
    listing = listing_owned_by(request.user, pk)
    if request.method == "GET":
        return render(request, "listings/archive_confirm.html", {"listing": listing})
    try:
        listing_archive(listing=listing, by=request.user)
    except ApplicationError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"“{listing.title}” is archived: nobody can order it any more.")
    return redirect("dashboard")


@login_required
@require_POST
def favorite(request, pk: int):
    listing = listing_visible_to(request.user, pk)
    if not listing.is_live:
        return HttpResponseBadRequest("Only live listings can be saved.")
    saved = favorite_toggle(user=request.user, listing=listing)
    if request.headers.get("HX-Request"):
        return render(request, "listings/_favorite_button.html", {"listing": listing, "is_favorite": saved})
    messages.success(request, "Saved to your favorites." if saved else "Removed from your favorites.")
    return redirect(listing)


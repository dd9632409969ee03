"""Anonymous visitors' browse pages, answered from the cache before the rest of the stack."""

from django.conf import settings
from django.contrib.messages.storage.cookie import CookieStorage
from django.urls import reverse

from listings import browse_cache, views


class AnonymousBrowseCacheMiddleware:
    """Serves /listings/ to a visitor with no session and no message waiting straight from the
    browse cache (listings/browse_cache.py), headers and all, and keeps the pages the view
    marks as shareable once every inner middleware has added its headers (policy, framing,
    Vary). It sits just inside SecurityMiddleware and WhiteNoise, whose headers every answer
    gets. Sessions, CSRF, authentication and messages have nothing to do for such a visitor:
    the page holds no token and no name. A query string this process has not rendered yet goes
    to the view, which validates it."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.path = reverse("listings:browse")

    def __call__(self, request):
        visitor = (
            request.method == "GET" and request.path_info == self.path and browse_cache.enabled()
            and settings.SESSION_COOKIE_NAME not in request.COOKIES and CookieStorage.cookie_name not in request.COOKIES
        )
        if visitor:
            cached = views.cached_anonymous_page(request)
            if cached is not None:
                return cached
        response = self.get_response(request)
        page = getattr(response, "browse_page", None)
        if visitor and page and page[0] and response.status_code == 200 and not response.cookies:
            headers = [(name, value) for name, value in response.items() if name.lower() != "content-length"]
            browse_cache.store_page(page[0], page[1], (headers, response.content))
        return response

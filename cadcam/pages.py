"""The site's fixed pages: how it works, FAQ, terms and privacy."""

from django.conf import settings
from django.urls import path
from django.views.generic import TemplateView

app_name = "pages"


class TermsView(TemplateView):
    template_name = "pages/terms.html"

    def get_context_data(self, **kwargs):
        return {**super().get_context_data(**kwargs), "terms_version": settings.TERMS_VERSION}


urlpatterns = [
    path("how-it-works/", TemplateView.as_view(template_name="pages/how_it_works.html"), name="how_it_works"),
    path("faq/", TemplateView.as_view(template_name="pages/faq.html"), name="faq"),
    path("terms/", TermsView.as_view(), name="terms"),
    path("privacy/", TemplateView.as_view(template_name="pages/privacy.html"), name="privacy"),
]

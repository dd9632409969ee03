import pytest
from django.test import override_settings
from django.urls import reverse

from listings.models import Category

pytestmark = pytest.mark.django_db


def test_home_lists_active_categories_with_its_own_title(client):
    Category.objects.filter(slug="smile-design").update(is_active=False)

    response = client.get(reverse("home"))

    assert response.status_code == 200
    body = response.content.decode()
    assert "<title>Dental CAD design services · CadCam Masters</title>" in body
    assert "Crowns &amp; Bridges" in body
    assert "All-on-X / Hybrid Bars" in body
    assert "Smile Design" not in body


def test_home_category_list_is_one_query(client, django_assert_num_queries):
    with django_assert_num_queries(1):
        client.get(reverse("home"))


def test_security_headers(client):
    response = client.get(reverse("home"))

    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "stripe" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_have_no_inline_scripts_or_styles(client):
    body = client.get(reverse("account_login")).content.decode() + client.get(reverse("home")).content.decode()

    assert "<style" not in body
    assert " style=" not in body
    for chunk in body.split("<script")[1:]:
        assert chunk.lstrip().startswith("src="), "inline <script> found"


def test_unknown_url_renders_the_site_404_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert "We couldn't find that page" in response.content.decode()
    assert "<title>Page not found · CadCam Masters</title>" in response.content.decode()


@override_settings(DEBUG=False)
def test_server_error_page_renders_without_context():
    from django.template.loader import render_to_string

    html = render_to_string("500.html")

    assert "Something went wrong on our side" in html
    assert "/static/css/site.css" in html

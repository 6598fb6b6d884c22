"""Site-wide pages: health check, robots.txt, favicon, error pages, static files."""

from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.urls import path

from tilsite import views


def boom(request):
    raise RuntimeError("simulated failure")


handler500 = "tilsite.views.server_error"
urlpatterns = [path("boom/", boom)]


def test_healthz_answers_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.content == b"ok\n"
    assert "no-cache" in response["Cache-Control"]


def test_healthz_reports_a_database_outage(client, db):
    with mock.patch.object(views.connection, "cursor", side_effect=OperationalError("down")):
        response = client.get("/healthz")
    assert response.status_code == 503


def test_robots_txt_points_to_the_sitemap(client, settings):
    settings.SITE_URL = "https://til.example.org"
    response = client.get("/robots.txt")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: https://til.example.org/sitemap.xml" in response.text


def test_favicon_redirects_to_the_static_icon(client):
    response = client.get("/favicon.ico")
    assert response.status_code == 301
    assert response["Location"].endswith("favicon.svg")


def test_unknown_url_gets_the_site_404_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert 'href="#main"' in response.text  # in the site layout


@override_settings(ROOT_URLCONF=__name__)
def test_server_error_page_is_in_the_site_layout(client):
    client.raise_request_exception = False
    response = client.get("/boom/")
    assert response.status_code == 500
    assert "something went wrong on our side" in response.text
    assert "emergency number" in response.text


@pytest.mark.parametrize(
    ("handler", "status", "text"),
    [
        (views.bad_request, 400, "could not understand"),
        (views.permission_denied, 403, "cannot see"),
    ],
)
def test_400_and_403_pages(rf, handler, status, text):
    response = handler(rf.get("/"))
    assert response.status_code == status
    assert text in response.content.decode()


def test_security_headers_on_a_page(client):
    response = client.get("/")
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_stylesheet_is_served(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert b"@media print" in b"".join(response.streaming_content)

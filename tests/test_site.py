"""Site-wide pages: health check, robots.txt, favicon, error pages, static files."""

import logging
import re
from unittest import mock

import pytest
from django.db import OperationalError
from django.test import override_settings
from django.urls import path, resolve

from tilsite import urls as site_urls
from tilsite import views


def boom(request):
    raise RuntimeError("simulated failure")


handler500 = "tilsite.views.server_error"
# The site's own addresses too: the error page links to them.
# (Added to the site's patterns, not included: i18n_patterns must stay in a root URLconf.)
urlpatterns = [path("boom/", boom), *site_urls.urlpatterns]


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


def test_robots_txt_keeps_crawlers_off_the_question_confirmation_page(client):
    (disallowed,) = re.findall(r"^Disallow: (\S+)$", client.get("/robots.txt").text, re.M)
    assert resolve(disallowed).view_name == "inquiries:thanks"


def test_favicon_is_a_short_lived_redirect_to_the_static_icon(client):
    """Not a permanent one: browsers would keep it for ever, and the icon's hashed file name
    changes with each deploy."""
    response = client.get("/favicon.ico")
    assert response.status_code == 302
    assert response["Location"].endswith("favicon.svg")
    assert "max-age=3600" in response["Cache-Control"]


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


def test_stylesheet_is_served(client):
    response = client.get("/static/css/site.css")
    assert response.status_code == 200
    assert b"@media print" in b"".join(response.streaming_content)


@pytest.mark.django_db
def test_the_admin_is_where_the_admin_url_setting_puts_it(client, custom_admin_url):
    assert client.get(f"/{custom_admin_url}login/").status_code == 200
    assert client.get("/admin/login/").status_code == 404


def test_a_wrong_host_header_is_logged_in_one_line(client, caplog):
    """Robots send these all day: one line each, no traceback burying the real errors."""
    caplog.set_level(logging.INFO)
    response = client.get("/", headers={"host": "evil.example"})
    assert response.status_code == 400
    (record,) = [r for r in caplog.records if r.name.startswith("django.security")]
    assert record.name == "django.security.DisallowedHost"
    assert record.exc_info is None
    assert "Traceback" not in caplog.text


@override_settings(ROOT_URLCONF=__name__)
def test_a_server_error_is_still_logged_with_its_traceback(client, caplog):
    client.raise_request_exception = False
    assert client.get("/boom/").status_code == 500
    assert "RuntimeError: simulated failure" in caplog.text

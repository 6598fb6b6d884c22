"""The pages nginx shows when no app server answers (`manage.py render_offline_pages`): static
files in the site's layout that link the stylesheet collectstatic wrote, one for each address
deploy/nginx/tilsite-server.conf sends there, accessible in a real browser."""

import re

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command

from tilsite.management.commands.render_offline_pages import OFFLINE_PAGES

SERVER_CONF = settings.BASE_DIR / "deploy" / "nginx" / "tilsite-server.conf"
# Hashed names as in production (whitenoise's storage adds compression, which takes seconds).
MANIFEST_STORAGE = "django.contrib.staticfiles.storage.ManifestStaticFilesStorage"


@pytest.fixture
def static_root(tmp_path, settings):
    settings.STATIC_ROOT = tmp_path / "staticfiles"
    return settings.STATIC_ROOT


@pytest.fixture
def collected(static_root, settings):
    """STATIC_ROOT of the test's own, filled by collectstatic with hashed names."""
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    call_command("collectstatic", "--noinput", verbosity=0)
    return static_root


def test_form_page_is_the_site_layout_with_the_hashed_stylesheet(collected):
    call_command("render_offline_pages", stdout=None)
    html = (collected / "offline" / "contact.html").read_text(encoding="utf-8")

    assert "<h1>We cannot take questions for a few minutes</h1>" in html
    assert "Nothing you sent before this was lost" in html
    assert "<title>We cannot take questions for a few minutes \N{EN DASH} " in html
    # The real base.html: skip link, header with the menu, the footer's notice.
    assert '<a class="skip-link" href="#main">Skip to main content</a>' in html
    assert '<nav class="site-nav" aria-label="Main">' in html
    assert '<a href="/contact/" aria-current="page">Ask a question</a>' in html
    assert "This site does not give medical advice." in html
    # It links the stylesheet collectstatic has just written, under its hashed name.
    stylesheet = re.search(
        r'<link rel="stylesheet" href="/static/(css/site\.[0-9a-f]{12}\.css)"', html
    )
    assert stylesheet, html
    assert (collected / stylesheet.group(1)).is_file()
    # Nothing that needs the app: no form to post, no token, no script.
    for absent in ('method="post"', "csrfmiddlewaretoken", "<script"):
        assert absent not in html


def test_general_page_says_try_again_and_where_to_get_help(collected):
    call_command("render_offline_pages", stdout=None)
    html = (collected / "offline" / "unavailable.html").read_text(encoding="utf-8")

    assert "<h1>Please try again in a few minutes</h1>" in html
    assert "contact your treatment team now" in html
    assert 'aria-current="page"' not in html


def test_the_spanish_form_address_has_the_page_in_spanish(collected):
    call_command("render_offline_pages", stdout=None)
    html = (collected / "offline" / "es" / "contact.html").read_text(encoding="utf-8")
    assert '<html lang="es">' in html
    assert "<h1>No podemos recibir preguntas durante unos minutos</h1>" in html
    assert "error_page 502 504 =503 /_offline/es/contact.html;" in SERVER_CONF.read_text()


def test_refuses_before_collectstatic(static_root, settings):
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {"BACKEND": MANIFEST_STORAGE}}
    with pytest.raises(CommandError, match="collectstatic"):
        call_command("render_offline_pages", stdout=None)
    assert not (static_root / "offline" / "contact.html").exists()


def test_nginx_serves_exactly_the_files_the_command_writes():
    served = set(re.findall(r"/_offline/([\w/-]+\.html)", SERVER_CONF.read_text()))
    assert served == set(OFFLINE_PAGES)
    # The form's address has its own page; everything else the general one.
    assert "error_page 502 504 =503 /_offline/contact.html;" in SERVER_CONF.read_text()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_form_page_served_as_nginx_serves_it_is_accessible(static_root, page, live_server, axe):
    """The file, answered with nginx's 503 at the form's address; its stylesheet comes from the
    site (the test settings' plain names, served by whitenoise)."""
    call_command("render_offline_pages", stdout=None)
    html = (static_root / "offline" / "contact.html").read_text(encoding="utf-8")
    page.route(
        live_server.url + "/contact/",
        lambda route: route.fulfill(status=503, body=html, content_type="text/html; charset=utf-8"),
    )

    response = page.goto(live_server.url + "/contact/")

    assert response.status == 503
    heading = page.get_by_role("heading", level=1)
    assert heading.inner_text() == "We cannot take questions for a few minutes"
    # The site's stylesheet applies (the skip link is moved off screen until focused).
    assert page.evaluate("getComputedStyle(document.querySelector('.skip-link')).position") == (
        "absolute"
    )
    axe(page)
    page.set_viewport_size({"width": 320, "height": 640})
    assert page.evaluate("document.documentElement.scrollWidth") <= 320

"""Security: headers on every kind of page, hostile paths, sign-in throttling, staff sessions."""

import datetime

import pytest
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.test import override_settings
from django.utils import timezone

PAGES = ["/", "/what-is-til-therapy/", "/sources/", "/no-such-page/", "/healthz"]


@pytest.mark.django_db
@pytest.mark.parametrize("path", PAGES)
def test_strict_security_headers_on_each_kind_of_page(client, path):
    response = client.get(path)
    csp = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
        if directive.strip()
    )
    assert csp["default-src"] == "'self'"
    assert csp["script-src"] == "'self'"
    assert csp["style-src"] == "'self'"
    assert csp["frame-ancestors"] == "'none'"
    assert csp["form-action"] == "'self'"
    assert csp["base-uri"] == "'self'"
    assert csp["object-src"] == "'none'"
    assert "unsafe-inline" not in response["Content-Security-Policy"]
    assert "unsafe-eval" not in response["Content-Security-Policy"]
    assert response["Referrer-Policy"] == "strict-origin-when-cross-origin"
    permissions = response["Permissions-Policy"]
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"


@pytest.mark.django_db
def test_admin_login_page_has_the_same_headers(client, settings):
    response = client.get(f"/{settings.ADMIN_URL}login/")
    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response["Content-Security-Policy"]
    assert "camera=()" in response["Permissions-Policy"]


HOSTILE_PATHS = [
    "/../../etc/passwd",
    "/..%2F..%2Fetc%2Fpasswd/",
    "/%2e%2e/%2e%2e/settings.py",
    "/content/index.md",
    "/sources.yaml",
    "/what-is-til-therapy%00/",
    "/what-is-til-therapy/%00",
    "/" + "a" * 5000 + "/",
    "/caf\u00e9/",
    "/\u202etxt.exe/",
    "/%ff%fe/",
    "/index.md/",
    "/static/../tilsite/settings.py",
    "/what-is-til-therapy/?q=%00%ff<script>",
    "/sources/?page=../../etc",
    "/sitemap.xml?section=pages%00",
    "//evil.example/",
]


@pytest.mark.django_db
@pytest.mark.parametrize("path", HOSTILE_PATHS)
def test_hostile_paths_never_cause_a_server_error(client, path):
    client.raise_request_exception = True
    response = client.get(path)
    assert response.status_code in {200, 301, 400, 404}, response.status_code
    assert b"root:" not in response.content
    assert b"SECRET_KEY" not in response.content


@pytest.mark.django_db
@pytest.mark.parametrize("path", ["/", "/what-is-til-therapy/", "/sources/", "/sitemap.xml"])
def test_query_strings_on_pages_are_harmless(client, path):
    response = client.get(path, {"x": "<script>alert(1)</script>", "y": "\x00"})
    assert response.status_code == 200
    assert b"<script>alert(1)" not in response.content


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_repeated_failed_logins_are_throttled_with_a_clear_message(client, settings):
    User.objects.create_user("staff", password="right-horse-battery-staple", is_staff=True)
    login_url = f"/{settings.ADMIN_URL}login/"
    for _ in range(3):
        response = client.post(login_url, {"username": "staff", "password": "wrong"})
    assert response.status_code == 429
    assert "Too many sign-in attempts" in response.text
    # Now locked: even the right password is refused until the cool-off ends.
    response = client.post(
        login_url, {"username": "staff", "password": "right-horse-battery-staple"}
    )
    assert response.status_code == 429


@pytest.mark.django_db
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3, TRUSTED_PROXY_COUNT=1)
def test_throttling_is_per_client_as_the_proxy_saw_it(client, settings):
    """Each wrong password comes with a different forged address on the left of
    X-Forwarded-For; the client is still the one the proxy saw, and only it is paused.
    (Which entry is the client: the table in test_inquiries_form.py.)"""
    login_url = f"/{settings.ADMIN_URL}login/"

    def sign_in(username, forwarded):
        data = {"username": username, "password": "wrong"}
        return client.post(login_url, data, headers={"x-forwarded-for": forwarded})

    for number, name in enumerate(("a", "b", "c")):
        sign_in(name, f"6.6.6.{number}, 203.0.113.9")
    assert sign_in("d", "6.6.6.9, 203.0.113.9").status_code == 429
    assert sign_in("e", "203.0.113.10").status_code == 200


@pytest.mark.django_db
def test_a_staff_session_ends_with_the_browser_or_after_a_working_day(client, settings):
    User.objects.create_user("staff", password="right-horse-battery-staple", is_staff=True)
    signed_in_at = timezone.now()
    response = client.post(
        f"/{settings.ADMIN_URL}login/",
        {"username": "staff", "password": "right-horse-battery-staple"},
    )
    assert response.status_code == 302
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]
    assert (cookie["expires"], cookie["max-age"]) == ("", "")  # the browser forgets it on close
    session = Session.objects.get()  # and the site forgets it after a working day
    working_day = datetime.timedelta(hours=9)
    assert session.expire_date <= timezone.now() + working_day
    assert session.expire_date >= signed_in_at + working_day

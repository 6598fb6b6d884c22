"""Security: headers on every kind of page, hostile paths, sign-in throttling, client IPs."""

import pytest
from django.contrib.auth.models import User
from django.test import RequestFactory, override_settings

from tilsite.client_ip import client_ip

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
@override_settings(AXES_ENABLED=True, AXES_FAILURE_LIMIT=3)
def test_throttling_is_per_client_too(client, settings):
    login_url = f"/{settings.ADMIN_URL}login/"
    for name in ("a", "b", "c"):
        client.post(login_url, {"username": name, "password": "wrong"}, REMOTE_ADDR="10.0.0.9")
    response = client.post(
        login_url, {"username": "d", "password": "wrong"}, REMOTE_ADDR="10.0.0.9"
    )
    assert response.status_code == 429
    other = client.post(login_url, {"username": "e", "password": "x"}, REMOTE_ADDR="10.0.0.10")
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "1.2.3.4", "127.0.0.1", "127.0.0.1"),
        (1, "", "127.0.0.1", "127.0.0.1"),
        (1, "1.2.3.4", "127.0.0.1", "1.2.3.4"),
        (1, "6.6.6.6, 1.2.3.4", "127.0.0.1", "1.2.3.4"),  # a forged left entry is ignored
        (2, "6.6.6.6, 1.2.3.4, 10.0.0.1", "127.0.0.1", "1.2.3.4"),
        (1, "not-an-ip", "127.0.0.1", "127.0.0.1"),
    ],
)
def test_client_ip_behind_trusted_proxies(settings, proxies, forwarded, remote, expected):
    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected


def test_staff_sessions_end_after_a_working_day_and_on_browser_close(settings):
    assert settings.SESSION_COOKIE_AGE <= 9 * 60 * 60
    assert settings.SESSION_EXPIRE_AT_BROWSER_CLOSE is True

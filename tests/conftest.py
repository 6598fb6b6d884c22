"""Shared fixtures: a real Chromium for browser tests, and an axe-core accessibility check."""

import os
import shutil

import pytest

# Playwright's sync API runs an event loop in the test thread; Django's ORM must be allowed
# to run beside it (pytest-django's live_server serves from another thread).
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not os.path.exists(CHROMIUM):
        pytest.fail(
            f"Chromium not found at {CHROMIUM}: run `make test` (it installs Debian's chromium) "
            "or set CHROMIUM_PATH."
        )
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS}


@pytest.fixture(autouse=True)
def _migration_data(request, django_db_blocker):
    """A transactional test (a browser or a live server) empties every table when it ends,
    the rows data migrations made included (the "Inquiry reviewers" group). Tests run in
    random order: before each test that uses the database, make those rows again if gone."""
    uses_db = {"db", "transactional_db", "admin_client", "admin_user", "live_server"}
    if request.node.get_closest_marker("django_db") is None and not (
        uses_db & set(request.fixturenames)
    ):
        return
    from django.contrib.auth.models import Group

    from tests.inquiries_helpers import reviewers_group

    with django_db_blocker.unblock():
        if not Group.objects.filter(name="Inquiry reviewers").exists():
            reviewers_group()


@pytest.fixture
def site(tmp_path, settings):
    """A content folder and sources file of the test's own (tests/content_helpers.py), with
    a fresh page registry built from them."""
    from tests.content_helpers import SiteFiles
    from tilsite.pages import reset_registry

    settings.CONTENT_DIR = tmp_path / "content"
    settings.SOURCES_FILE = tmp_path / "sources.yaml"
    files = SiteFiles(tmp_path)
    reset_registry()
    yield files
    reset_registry()


@pytest.fixture
def custom_admin_url():
    """The admin moved to /staff-desk/ for one test. The URLconf reads ADMIN_URL when it is
    imported, so it is imported again with the new value, and again afterwards."""
    import importlib

    from django.test import override_settings
    from django.urls import clear_url_caches

    import tilsite.urls

    def reload_urls():
        importlib.reload(tilsite.urls)
        clear_url_caches()

    try:
        with override_settings(ADMIN_URL="staff-desk/"):
            reload_urls()
            yield "staff-desk/"
    finally:
        reload_urls()


@pytest.fixture
def smtp(settings):
    """A real mail server (aiosmtpd) on a free loopback port, wired into the site's settings,
    not started yet: call .start() to bring it up. Staff notifications go to staff@example.org."""
    from aiosmtpd.controller import Controller

    from tests.inquiries_helpers import Inbox, free_port

    port = free_port()
    settings.MAILERS = {
        "default": {
            "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            "OPTIONS": {"host": "127.0.0.1", "port": port, "timeout": 5},
        }
    }
    settings.INQUIRY_NOTIFY_EMAILS = ["staff@example.org"]
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    inbox.controller = controller
    inbox.start = controller.start
    yield inbox
    if controller.server is not None:
        controller.stop()


@pytest.fixture
def console_errors(page):
    """Errors the page reports in the browser, such as a Content-Security-Policy violation."""
    errors = []
    page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors


@pytest.fixture
def axe():
    """Call axe(page) to fail the test on any WCAG violation axe-core finds on the page."""
    from axe_playwright_python.sync_playwright import Axe

    checker = Axe()

    def check(page, context=None):
        results = checker.run(page, context=context) if context else checker.run(page)
        assert results.violations_count == 0, results.generate_report()
        return results

    return check


def pytest_terminal_summary(terminalreporter):
    """Print each page's reading grade, so that a drop is visible in every run."""
    from tests.readability import (
        IN_SHORT_MAX_GRADE,
        INFLESZ_IN_SHORT_MIN,
        INFLESZ_PAGE_MIN,
        PAGE_MAX_GRADE,
        READING_GRADES,
        READING_GRADES_ES,
    )

    if READING_GRADES_ES:
        terminalreporter.section(
            f"Spanish reading level (INFLESZ; at least: En resumen {INFLESZ_IN_SHORT_MIN}, "
            f"page {INFLESZ_PAGE_MIN})"
        )
        terminalreporter.write_line(f"{'page':52} {'en resumen':>10} {'page':>6} {'words':>6}")
        for slug, in_short, page, words in READING_GRADES_ES:
            terminalreporter.write_line(f"{slug:52} {in_short:>10} {page:>6} {words:>6}")

    if not READING_GRADES:
        return
    terminalreporter.section(
        f"Reading level (Flesch-Kincaid grade; limits: In short {IN_SHORT_MAX_GRADE}, "
        f"page {PAGE_MAX_GRADE})"
    )
    terminalreporter.write_line(f"{'page':40} {'in short':>8} {'page':>6} {'words':>6}")
    for slug, in_short, page, words in READING_GRADES:
        terminalreporter.write_line(f"{slug:40} {in_short:>8} {page:>6} {words:>6}")

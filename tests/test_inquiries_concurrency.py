"""Twenty people asking at the same moment, against the real set-up: gunicorn with several
worker processes, the task worker, a real SMTP server, and the suite's database engine.

The server runs in separate processes, as in production, so that the rate limit and the
queue are shown to live in the database rather than in one process's memory. On SQLite the
processes share a file database in WAL mode with IMMEDIATE transactions (the suite's own
SQLite database lives in this process's memory, which other processes cannot open); on
PostgreSQL (DATABASE_URL=postgres://...) they use the suite's test database.
"""

import http.cookiejar
import os
import re
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from aiosmtpd.controller import Controller
from django.db import connection

from tests.inquiries_helpers import Inbox, form_data, free_port

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parent.parent
PEOPLE = 20
RATE_LIMIT = 3


class Site:
    """The site served by gunicorn in child processes, on its own database and mail server."""

    def __init__(self, tmp_path, smtp_port):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.sqlite_file = None
        if connection.vendor == "sqlite":
            self.sqlite_file = tmp_path / "site.sqlite3"
            database_url = f"sqlite:///{self.sqlite_file}"
        else:
            db = connection.settings_dict
            credentials = quote(db["USER"] or "")
            if db["PASSWORD"]:
                credentials += ":" + quote(db["PASSWORD"])
            database_url = (
                f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
                f"/{db['NAME']}"
            )
        self.env = {
            **{k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"},
            "DJANGO_SETTINGS_MODULE": "tilsite.settings_test",
            "DATABASE_URL": database_url,
            "EMAIL_URL": f"smtp://127.0.0.1:{smtp_port}",
            "INQUIRY_NOTIFY_EMAILS": "staff@example.org",
            "INQUIRY_MIN_FILL_SECONDS": "0",
            "INQUIRY_RATE_LIMIT": str(RATE_LIMIT),
            "TRUSTED_PROXY_COUNT": "1",
            "GUNICORN_BIND": f"127.0.0.1:{self.port}",
            "WEB_CONCURRENCY": "3",
            "GUNICORN_THREADS": "2",
            "DJANGO_DEBUG": "false",
            "LOG_LEVEL": "WARNING",
        }
        self.log = tmp_path / "gunicorn.log"
        self.server = None

    def manage(self, *args, timeout=120):
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=True,
        )

    def start(self):
        if self.sqlite_file:
            self.manage("migrate", "--noinput", "--skip-checks", "-v", "0")
        with self.log.open("w") as log:
            self.server = subprocess.Popen(
                [sys.executable, "-m", "gunicorn", "tilsite.wsgi"],
                cwd=REPO,
                env=self.env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as response:  # noqa: S310
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("gunicorn did not start:\n" + self.log.read_text())

    def stop(self):
        if self.server and self.server.poll() is None:
            self.server.terminate()
            self.server.wait(timeout=30)

    def query(self, sql):
        """One value from the site's database (the suite's own connection on PostgreSQL)."""
        if self.sqlite_file:
            with sqlite3.connect(self.sqlite_file) as db:
                return db.execute(sql).fetchone()[0]
        with connection.cursor() as cursor:
            cursor.execute(sql)
            return cursor.fetchone()[0]


@pytest.fixture(scope="module")
def mail_server():
    inbox = Inbox()
    inbox.port = free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture(scope="module")
def live_site(django_db_setup, django_db_blocker, tmp_path_factory, mail_server):
    """One server for the module (starting one takes seconds); tests tell their rows apart
    by the email addresses they use."""
    live_site = Site(tmp_path_factory.mktemp("site"), mail_server.port)
    try:
        live_site.start()
        yield live_site
    finally:
        live_site.stop()


def ask(live_site, person, client_address, barrier=None, group="crowd"):
    """Fetch the form like a browser (cookie, CSRF token, stamp), then send a question."""
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    headers = {"X-Forwarded-For": client_address}
    request = urllib.request.Request(live_site.url + "/contact/", headers=headers)  # noqa: S310
    html = opener.open(request, timeout=30).read().decode()
    fields = {
        name: re.search(rf'name="{name}" value="([^"]+)"', html).group(1)
        for name in ("csrfmiddlewaretoken", "form_stamp")
    }
    data = form_data(name=f"Person {person}", email=f"{group}{person}@example.org", **fields)
    if barrier:
        barrier.wait(timeout=30)
    request = urllib.request.Request(  # noqa: S310
        live_site.url + "/contact/", data=urlencode(data).encode(), headers=headers
    )
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, response.url, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.url, error.read().decode()


def test_twenty_people_asking_at_once_are_all_stored_and_notified(live_site, mail_server):
    barrier = threading.Barrier(PEOPLE)
    with ThreadPoolExecutor(max_workers=PEOPLE) as pool:
        futures = [
            pool.submit(ask, live_site, person, f"198.51.100.{person + 1}", barrier)
            for person in range(PEOPLE)
        ]
        results = [future.result() for future in futures]

    for status, url, html in results:
        assert status == 200, html[:2000]
        assert "/contact/thank-you/?ref=" in url
        assert "Question sent" in html
    references = {re.search(r"TIL-[0-9A-Z]{4}-[0-9A-Z]{4}", html).group(0) for *_, html in results}
    assert len(references) == PEOPLE

    crowd_count = "SELECT COUNT(*) FROM inquiries_inquiry WHERE email LIKE 'crowd%'"
    assert live_site.query(crowd_count) == PEOPLE
    deliveries = (
        "SELECT COUNT(*) FROM inquiries_emaildelivery WHERE inquiry_id IN "
        "(SELECT id FROM inquiries_inquiry WHERE email LIKE 'crowd%')"
    )
    assert live_site.query(deliveries) == 2 * PEOPLE

    live_site.manage("send_emails", "--batch")
    assert live_site.query(deliveries + " AND status = 'sent' AND attempts = 1") == 2 * PEOPLE
    ours = [
        (rcpt[0], message)
        for rcpt, message in mail_server.messages
        if any(reference in message["Subject"] for reference in references)
    ]
    recipients = sorted(address for address, _ in ours)
    assert recipients.count("staff@example.org") == PEOPLE
    assert sorted(set(recipients) - {"staff@example.org"}) == sorted(
        f"crowd{n}@example.org" for n in range(PEOPLE)
    )
    assert len(recipients) == 2 * PEOPLE
    assert len({message["Message-ID"] for _, message in ours}) == 2 * PEOPLE

    log = live_site.log.read_text()
    assert "locked" not in log.lower(), log
    assert not re.search(r'" 5\d\d ', log), log


def test_the_rate_limit_holds_across_server_processes(live_site):
    # Connections close after each request, so the requests spread over the 3 processes.
    statuses = [
        ask(live_site, n, "203.0.113.99", group="limited")[0] for n in range(RATE_LIMIT + 2)
    ]
    assert statuses == [200] * RATE_LIMIT + [429, 429]
    count = "SELECT COUNT(*) FROM inquiries_inquiry WHERE email LIKE 'limited%'"
    assert live_site.query(count) == RATE_LIMIT
    assert ask(live_site, 99, "203.0.113.100", group="limited")[0] == 200  # another client
    assert live_site.query(count) == RATE_LIMIT + 1


def test_simultaneous_posts_from_one_client_cannot_pass_the_limit_together(live_site):
    """The limit is decided in the transaction that stores the question: posts that arrive
    at the same moment from one client cannot all read "under the limit" and all be stored."""
    attempts = RATE_LIMIT + 5
    barrier = threading.Barrier(attempts)
    with ThreadPoolExecutor(max_workers=attempts) as pool:
        results = list(
            pool.map(
                lambda n: ask(live_site, n, "203.0.113.77", barrier=barrier, group="racing"),
                range(attempts),
            )
        )
    statuses = sorted(status for status, *_ in results)
    assert statuses == [200] * RATE_LIMIT + [429] * (attempts - RATE_LIMIT)
    count = "SELECT COUNT(*) FROM inquiries_inquiry WHERE email LIKE 'racing%'"
    assert live_site.query(count) == RATE_LIMIT

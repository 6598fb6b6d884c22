"""Production rehearsal: the production shape on one machine, broken on purpose, then counted.

    make rehearsal                      # or: .venv/bin/python deploy/rehearsal.py --help

Everything listens on 127.0.0.1 only. The script:

1. makes sure nginx (apt) and PostgreSQL (pg_ctlcluster) are there, copies the working tree to
   var/rehearsal/<time>/app/ (the release: the app runs from there, and the deploy below
   changes files there, never in the working tree), creates a scratch database, and runs the
   release steps with production settings: migrate, collectstatic, render_offline_pages, check
   --deploy;
2. starts a mail server (aiosmtpd, in this process) that records every message it accepts, two
   gunicorn instances on their own ports, nginx in front of them (deploy/nginx/rehearsal.conf.in
   around the same tilsite-http.conf and tilsite-server.conf production uses, page cache
   included, run by deploy/localnginx.py with its own -c and -p so the system's nginx is never
   touched) and the outbox worker (send_emails, started the way
   deploy/systemd/tilsite-worker.service starts it); reads every page nginx may keep in each
   encoding, and checks what nginx keeps and what it never keeps;
3. submits questions through nginx without pause (GET /contact/, then POST with the CSRF cookie
   and token and the signed form stamp; a 302 to the confirmation page is "accepted") while
   readers read the kept pages, and meanwhile: SIGKILLs one gunicorn instance and restarts it,
   stops the mail server for a while so that sends fail and are retried (with shortened
   delays), SIGKILLs the worker in the middle of a batch and restarts it, SIGKILLs both gunicorn
   instances for 20 s (every page read must get its page from nginx's copy; questions sent
   meanwhile get the calm page, and are sent again once the instances are back), and deploys a
   release (a content file and the base template changed, both instances reloaded with SIGHUP)
   and reads every page until all show it;
4. waits (bounded) for the email queue to drain, then checks: every accepted question is stored
   exactly once (by reference), and both emails of every stored question reached the mail server
   at least once (by reference, recipient and Message-ID);
5. prints a summary, stops every process it started, drops the scratch database, and exits 1 if
   anything was lost, stored twice or delivered twice without the worker kill to explain it, if
   a page read did not get its page, if a question sent with no app server up was not turned
   away with the calm page (or was stored), if any client saw a bare 502/504, if a cache rule
   did not hold, or if the release did not show on every page within DEPLOY_PROMISE_SECONDS.

A POST is sent again by the client only when it is certain the app never saw it: the connection
to nginx was refused, or nginx answered with its own page and "X-Upstream-Reached: no" (not one
byte went to any gunicorn instance). Every other failure is counted, never retried, and checked
afterwards. Logs of every process are kept in var/rehearsal/<time>/.
"""

import argparse
import base64
import contextlib
import email
import email.policy
import gzip
import html
import http.client
import itertools
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import localnginx

try:
    import brotli
    import psycopg
    from aiosmtpd.controller import Controller
    from psycopg import sql
except ImportError as missing:  # pragma: no cover - run with the project's virtualenv
    sys.exit(f"rehearsal: {missing}. Run it with the project's environment: make rehearsal")

BASE_DIR = Path(__file__).resolve().parent.parent
DEPLOY_DIR = BASE_DIR / "deploy"
VENV_BIN = Path(sys.executable).parent
RUNS_DIR = BASE_DIR / "var" / "rehearsal"
KEEP_RUNS = 5

HOST = "127.0.0.1"
STAFF_ADDRESS = "staff@rehearsal.example.org"
WORKER_ID = "rehearsal-tilsite-worker"
# Shortened backoff for the rehearsal (production: 60,300,1800,...): 75 s in all, so a 15 s
# mail outage is ridden out with attempts to spare.
RETRY_DELAYS = "1,2,3,4,5,5,5,5,5,5,5,5,5,5,5,5,5"
REFERENCE = re.compile(r"TIL-[2-9A-Z]{4}-[2-9A-Z]{4}")
# The page cache (deploy/nginx/tilsite-server.conf): what the rehearsal holds nginx to.
ENCODINGS = ("br", "gzip", "identity")
# deploy/README.md, "The page cache": after a release, every page is new within this time.
DEPLOY_PROMISE_SECONDS = 60
# The calm page nginx shows at the form's address with no app server (templates/offline/).
CALM_PAGE_TEXT = "We cannot take questions for a few minutes"
# Questions held ready before every app server is killed, sent during the outage, and sent
# again once the servers are back, as a person would.
OUTAGE_POSTERS = 4


# --- Output ------------------------------------------------------------------------------------

START = time.monotonic()


def log(message: str) -> None:
    print(f"[{time.monotonic() - START:6.1f}s] {message}", flush=True)


def clock() -> str:
    return datetime.now().strftime("%H:%M:%S.%f")[:-3]


class SetupError(Exception):
    """Something the rehearsal needs is missing or would not start."""


class Interrupted(Exception):
    """SIGTERM or SIGHUP: stop and clean up, as after Ctrl+C."""


# --- Prerequisites -----------------------------------------------------------------------------


def as_root(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return command
    sudo = shutil.which("sudo")
    if not sudo:
        raise SetupError(f"need root (or sudo) to run: {' '.join(command)}")
    return [sudo, *command]


def run(command: list[str], log_file: Path | None = None, **kwargs) -> None:
    """Run a command to completion; its output goes to log_file (or is shown on failure)."""
    result = subprocess.run(  # noqa: S603 (fixed commands, absolute paths)
        command, capture_output=True, text=True, check=False, **kwargs
    )
    output = result.stdout + result.stderr
    if log_file is not None:
        with log_file.open("a") as handle:
            handle.write(f"$ {' '.join(command)}\n{output}\n")
    if result.returncode != 0:
        raise SetupError(f"{' '.join(command)} failed ({result.returncode}):\n{output[-3000:]}")


def ensure_postgres(admin_url: str) -> None:
    try:
        psycopg.connect(admin_url, connect_timeout=3).close()
        return
    except psycopg.OperationalError as error:
        first_error = error
    pg_ctlcluster = shutil.which("pg_ctlcluster")
    if not pg_ctlcluster:
        raise SetupError(f"cannot reach PostgreSQL ({admin_url}): {first_error}")
    version, cluster = "15", "main"
    lsclusters = shutil.which("pg_lsclusters")
    if lsclusters:
        listing = subprocess.run(  # noqa: S603
            [lsclusters, "--no-header"], capture_output=True, text=True, check=False
        ).stdout.split("\n")
        for line in listing:
            parts = line.split()
            if len(parts) >= 3 and parts[2] == "5432":
                version, cluster = parts[0], parts[1]
    log(f"PostgreSQL is down: starting cluster {version}/{cluster}")
    run(as_root([pg_ctlcluster, "--skip-systemctl-redirect", version, cluster, "start"]))
    for _ in range(30):
        try:
            psycopg.connect(admin_url, connect_timeout=3).close()
            return
        except psycopg.OperationalError:
            time.sleep(0.5)
    raise SetupError(f"PostgreSQL did not come up at {admin_url}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((HOST, 0))
        return probe.getsockname()[1]


# --- Scratch database --------------------------------------------------------------------------


class ScratchDatabase:
    PREFIX = "tilsite_rehearsal_"

    def __init__(self, admin_url: str):
        self.admin_url = admin_url
        self.name = f"{self.PREFIX}{os.getpid()}_{secrets.token_hex(3)}"
        parts = urlsplit(admin_url)
        self.url = parts._replace(path=f"/{self.name}").geturl()

    def _admin(self):
        return psycopg.connect(self.admin_url, autocommit=True, connect_timeout=5)

    def drop_leftovers(self) -> None:
        """Drop scratch databases of earlier runs whose script is no longer running."""
        with self._admin() as conn:
            names = [
                row[0]
                for row in conn.execute(
                    "SELECT datname FROM pg_database WHERE datname LIKE %s",
                    (self.PREFIX + "%",),
                )
            ]
            for name in names:
                pid = name.removeprefix(self.PREFIX).split("_")[0]
                if pid.isdigit() and not Path(f"/proc/{pid}").exists():
                    conn.execute(
                        sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(
                            sql.Identifier(name)
                        )
                    )
                    log(f"dropped {name}, left behind by an earlier run")

    def create(self) -> None:
        with self._admin() as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(self.name)))

    def drop(self) -> None:
        with self._admin() as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name))
            )


# --- The mail server ---------------------------------------------------------------------------


@dataclass
class Received:
    at: float  # time.monotonic()
    message_id: str
    recipients: tuple[str, ...]
    reference: str


class Inbox:
    """aiosmtpd handler: keeps the Message-ID, recipients and reference of every message."""

    def __init__(self):
        self.messages: list[Received] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        subject = str(message.get("Subject", ""))
        found = REFERENCE.search(subject)
        record = Received(
            at=time.monotonic(),
            message_id=str(message.get("Message-ID", "")).strip(),
            recipients=tuple(address.lower() for address in envelope.rcpt_tos),
            reference=found.group(0) if found else "",
        )
        with self.lock:
            self.messages.append(record)
        return "250 2.0.0 Message accepted for delivery"


class MailServer:
    def __init__(self, port: int):
        self.port = port
        self.inbox = Inbox()
        self.controller: Controller | None = None

    @property
    def up(self) -> bool:
        return self.controller is not None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname=HOST, port=self.port, ready_timeout=10)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


# --- Processes ---------------------------------------------------------------------------------


class Service:
    """A child process in its own process group, so that a kill takes all of it at once."""

    def __init__(self, name: str, command: list[str], env: dict, log_path: Path, cwd: Path):
        self.name, self.command, self.env, self.log_path = name, command, env, log_path
        self.cwd = cwd
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        with self.log_path.open("a") as handle:
            handle.write(f"\n=== {clock()} start: {' '.join(self.command)}\n")
            handle.flush()
            self.process = subprocess.Popen(  # noqa: S603 (fixed command, absolute path)
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=handle,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def kill(self) -> None:
        """SIGKILL the whole process group (master and workers), as a crash would."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self, timeout: float = 15) -> None:
        """SIGTERM, then SIGKILL whatever is left of the group."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(5)
        self.process = None


def http_get(port: int, path: str, timeout: float = 5) -> int:
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        return conn.getresponse().status
    finally:
        conn.close()


def wait_healthy(port: int, service: Service | None = None, timeout: float = 60) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if service is not None and not service.running:
            raise SetupError(f"{service.name} exited; see {service.log_path}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            if http_get(port, "/healthz") == 200:
                return time.monotonic() - started
        time.sleep(0.2)
    raise SetupError(f"nothing healthy on {HOST}:{port}/healthz after {timeout:.0f} s")


def wait_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.monotonic()))


def connections_to(port: int) -> int:
    """Established TCP connections to this local port (requests in progress), from /proc."""
    try:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
    except OSError:
        return 0
    wanted = f":{port:04X}"
    return sum(1 for line in table if line.split()[1].endswith(wanted) and line.split()[3] == "01")


def check_production_nginx_config(nginx: str, run_dir: Path, setup_log: Path) -> None:
    """nginx -t on deploy/nginx/til.conf, with a throwaway certificate in place of the real one."""
    openssl = shutil.which("openssl")
    if not openssl:
        log("openssl missing: skipped the syntax check of deploy/nginx/til.conf")
        return
    check_dir = run_dir / "til-conf-check"
    check_dir.mkdir()
    cert, key = check_dir / "cert.pem", check_dir / "key.pem"
    run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=til.example.org", "-keyout", str(key), "-out", str(cert)),
        ],
        setup_log,
    )
    site = (DEPLOY_DIR / "nginx" / "til.conf").read_text()
    site = site.replace("/etc/letsencrypt/live/til.example.org/fullchain.pem", str(cert))
    site = site.replace("/etc/letsencrypt/live/til.example.org/privkey.pem", str(key))
    site = site.replace("/srv/tilsite/app", str(BASE_DIR))
    site = site.replace("/var/log/nginx/", f"{check_dir}/")
    site = site.replace("/var/cache/nginx/tilsite", f"{check_dir}/cache")
    (check_dir / "til.conf").write_text(site)
    (check_dir / "nginx.conf").write_text(
        f"pid {check_dir}/nginx.pid;\nerror_log {check_dir}/error.log;\nevents {{}}\n"
        f"http {{\n    include {localnginx.mime_types(nginx)};\n"
        f"    include {check_dir}/til.conf;\n}}\n"
    )
    run(
        [
            *(nginx, "-t", "-q", "-c", f"{check_dir}/nginx.conf"),
            *("-p", f"{check_dir}/", "-e", f"{check_dir}/error.log"),
        ],
        setup_log,
    )
    shutil.rmtree(check_dir)
    log("deploy/nginx/til.conf (production, TLS) passes nginx -t")


# --- The visitors ------------------------------------------------------------------------------

NAMES = [
    "Ada Lovelace",
    "Zoë Ó Briain",
    "María José García",
    "Łukasz Nowak",
    "Nguyễn Thị Minh",
    "Siobhán O'Connor",
    "Jean-Luc d'Arcy",
    "Ngozi Okafor",
    "李小龍",
    "Amir Hussein",
]
ASKING_AS = ["patient", "caregiver", "professional", "other"]
TOPICS = [
    "is-til-right",
    "treatment-process",
    "side-effects",
    "costs",
    "clinical-trials",
    "other",
]
CANCER_TYPES = ["", "melanoma", "cervical cancer", "non-small cell lung cancer", "uveal melanoma"]
CAME_FROM = ["", "/", "/side-effects/", "/what-is-til-therapy/", "/treatment-journey/"]
QUESTIONS = [
    "How long does the whole TIL treatment take, from surgery to going home?",
    "My father has stage IV melanoma.\r\nIs he too old for TIL therapy? He is 78.",
    "What side effects should we expect from the chemotherapy before the infusion? "
    "I read about low blood counts & infections <and> I am worried.",
    "Does insurance cover this — and who pays for travel to the hospital?",
    "Are there clinical trials for cervical cancer that use TIL? "
    + "I would like to understand the phases. " * 20,
]


def form_value(page: str, name: str) -> str | None:
    tag = re.search(rf'<input[^>]*\bname="{re.escape(name)}"[^>]*>', page)
    if not tag:
        return None
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else None


def reference_from_location(location: str) -> str | None:
    """The reference inside the confirmation link's signed token (signing.dumps, not secret)."""
    token = parse_qs(urlsplit(location).query).get("ref", [""])[0]
    payload = token.split(":", 1)[0]
    if not payload or payload.startswith("."):
        return None
    try:
        value = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except ValueError:
        return None
    return value.get("ref") if isinstance(value, dict) else None


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    body: str


class NotSent(Exception):
    """The connection to nginx was refused: the request certainly reached nothing."""


class Visitor:
    """One browser: its own cookies, talking to nginx over plain HTTP on the loopback."""

    def __init__(self, port: int):
        self.port = port
        self.origin = f"https://{HOST}:{port}"  # what the browser sees behind TLS
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: str | None = None) -> Response:
        headers = {"Host": f"{HOST}:{self.port}", "User-Agent": "tilsite-rehearsal"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["Origin"] = self.origin
            headers["Referer"] = f"{self.origin}/contact/"
        conn = http.client.HTTPConnection(HOST, self.port, timeout=30)
        try:
            try:
                conn.connect()
            except ConnectionRefusedError as error:
                raise NotSent(str(error)) from error
            conn.request(method, path, body=body.encode() if body else None, headers=headers)
            response = conn.getresponse()
            text = response.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for cookie in response.headers.get_all("Set-Cookie") or []:
            name, _, rest = cookie.partition("=")
            self.cookies[name.strip()] = rest.split(";", 1)[0]
        return Response(response.status, response.headers, text)


@dataclass
class Submission:
    number: int
    email: str
    reference: str = ""
    accepted_at: float = 0.0


@dataclass
class LoadStats:
    lock: threading.Lock = field(default_factory=threading.Lock)
    counts: Counter = field(default_factory=Counter)
    accepted: list[Submission] = field(default_factory=list)
    ambiguous: list[Submission] = field(default_factory=list)
    # Never reached any app server (nginx said so), and the client gave up: must not be stored.
    turned_away: list[Submission] = field(default_factory=list)
    post_seconds: list[float] = field(default_factory=list)

    def count(self, key: str, amount: int = 1) -> None:
        with self.lock:
            self.counts[key] += amount


class Load:
    """Submit valid, varied questions through nginx from several threads, at a steady pace."""

    MAX_POST_TRIES = 4

    def __init__(self, port: int, clients: int, rate: float, run_tag: str):
        self.port, self.clients, self.rate, self.run_tag = port, clients, rate, run_tag
        self.stop_event = threading.Event()
        self.stats = LoadStats()
        self.numbers = itertools.count(1)
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.clients):
            thread = threading.Thread(target=self.loop, args=(index,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=40)

    def loop(self, index: int) -> None:
        rng = random.Random(f"{self.run_tag}-{index}")
        visitor = Visitor(self.port)
        interval = self.clients / self.rate
        next_at = time.monotonic() + rng.random() * interval
        while not self.stop_event.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and self.stop_event.wait(delay):
                break
            next_at = max(next_at + interval, time.monotonic() - interval)
            try:
                self.submit_one(visitor, rng)
            except Exception as error:  # keep the load going; count what went wrong
                self.stats.count(f"client bug: {type(error).__name__}")

    def form_data(self, number: int, rng: random.Random) -> dict[str, str]:
        wants_phone = rng.random() < 0.3
        return {
            "name": rng.choice(NAMES),
            "email": f"visitor-{number:05d}.{self.run_tag}@rehearsal.example.org",
            "phone": f"+44 20 7946 {number % 10000:04d}"
            if wants_phone or rng.random() < 0.2
            else "",
            "preferred_contact": "phone" if wants_phone else "email",
            "asking_as": rng.choice(ASKING_AS),
            "cancer_type": rng.choice(CANCER_TYPES),
            "topic": rng.choice(TOPICS),
            "question": f"{rng.choice(QUESTIONS)}\r\n\r\n(rehearsal question {number})",
            "consent": "on",
            "website": "",
            "came_from": rng.choice(CAME_FROM),
        }

    def submit_one(self, visitor: Visitor, rng: random.Random) -> None:
        stats = self.stats
        try:
            page = visitor.request("GET", "/contact/")
        except (OSError, http.client.HTTPException, NotSent):
            stats.count("GET /contact/ failed (connection)")
            return
        if page.status != 200:
            if page.status == 503 and CALM_PAGE_TEXT in page.body:
                stats.count("GET /contact/: the calm page (no app server answered)")
            else:
                stats.count(f"GET /contact/ answered {page.status}")
            return
        token = form_value(page.body, "csrfmiddlewaretoken")
        stamp = form_value(page.body, "form_stamp")
        if not token or stamp is None:
            stats.count("GET /contact/ without CSRF token or form stamp")
            return

        number = next(self.numbers)
        data = self.form_data(number, rng)
        data |= {"csrfmiddlewaretoken": token, "form_stamp": stamp, "send": "Send question"}
        submission = Submission(number=number, email=data["email"])
        body = urlencode(data)
        stats.count("submissions attempted")

        for attempt in range(1, self.MAX_POST_TRIES + 1):
            started = time.monotonic()
            try:
                response = visitor.request("POST", "/contact/", body)
            except NotSent:
                stats.count("POST retried: connection to nginx refused")
                time.sleep(0.5 * attempt)
                continue
            except (OSError, http.client.HTTPException):
                stats.count("POST failed: connection broke, may have reached the app")
                with stats.lock:
                    stats.ambiguous.append(submission)
                return
            with stats.lock:
                stats.post_seconds.append(time.monotonic() - started)
            # Only nginx's own pages (no app server answered) carry X-Upstream-Reached.
            reached = response.headers.get("X-Upstream-Reached", "")
            if reached == "no":
                calm = response.status == 503 and CALM_PAGE_TEXT in response.body
                stats.count(
                    "POST turned away by the calm page (no app server saw it), sent again"
                    if calm
                    else f"POST {response.status} from nginx (no app server saw it), sent again"
                )
                time.sleep(0.5 * attempt)
                continue
            if reached:
                stats.count(f"POST {response.status} from nginx, may have reached the app")
                with stats.lock:
                    stats.ambiguous.append(submission)
                return
            if response.status == 302:
                self.accepted(visitor, submission, response.headers.get("Location", ""))
                return
            stats.count(f"POST answered {response.status} (not accepted)")
            with stats.lock:
                stats.ambiguous.append(submission)  # checked later: must not be stored
            return
        stats.count("POST given up after retries (never reached the app)")
        with stats.lock:
            stats.turned_away.append(submission)

    def accepted(self, visitor: Visitor, submission: Submission, location: str) -> None:
        stats = self.stats
        reference = reference_from_location(location)
        if not reference or "/contact/thank-you/" not in location:
            stats.count("302 without a readable reference")
            with stats.lock:
                stats.ambiguous.append(submission)
            return
        submission.reference = reference
        submission.accepted_at = time.monotonic()
        with stats.lock:
            stats.accepted.append(submission)
        try:
            page = visitor.request("GET", urlsplit(location).path + "?" + urlsplit(location).query)
        except (OSError, http.client.HTTPException, NotSent):
            stats.count("confirmation page: connection failed")
            return
        shown = re.search(r'class="inquiry-reference">\s*([^<\s]+)', page.body)
        if page.status == 200 and shown and shown.group(1) == reference:
            stats.count("confirmation page showed the reference")
        else:
            stats.count(f"confirmation page: {page.status}, reference not shown")


# --- Pages through nginx's cache ---------------------------------------------------------------


@dataclass
class Fetched:
    status: int
    headers: http.client.HTTPMessage
    text: str  # decoded from br or gzip


def fetch_page(
    port: int, path: str, encoding: str = "identity", cookie: str = "", timeout: float = 10
) -> Fetched:
    """GET through nginx as a browser that accepts `encoding`."""
    headers = {"Host": f"{HOST}:{port}", "Accept-Encoding": encoding}
    if cookie:
        headers["Cookie"] = cookie
    conn = http.client.HTTPConnection(HOST, port, timeout=timeout)
    try:
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        raw = response.read()
    finally:
        conn.close()
    coding = response.getheader("Content-Encoding", "")
    if coding == "br":
        raw = brotli.decompress(raw)
    elif coding == "gzip":
        raw = gzip.decompress(raw)
    return Fetched(response.status, response.headers, raw.decode("utf-8", "replace"))


TITLE = re.compile(r"<title>(.*?)</title>", re.DOTALL)


def page_identity(path: str, text: str) -> str:
    """What tells one kept page from another: its title, or the sitemap's root element."""
    if path.endswith(".xml"):
        return "urlset" if "<urlset" in text else ""
    found = TITLE.search(text)
    return html.unescape(found.group(1).strip()) if found else ""


@dataclass
class Read:
    at: float  # time.monotonic() when asked
    path: str
    encoding: str
    status: int  # 0: no answer
    cache: str  # nginx's X-Cache, or the error's name
    right: bool  # 200 with the page asked for
    found: str = ""  # what the answer was: its title, or the error
    seconds: float = 0.0  # how long the answer took


class Readers:
    """People reading the pages nginx keeps (every content page, /sources/ and the sitemap, in
    each encoding) from a few threads, each answer checked to be the page asked for. They wait
    as a browser would: longer than nginx waits for an app server (proxy_read_timeout, 35 s)
    before it serves its copy."""

    TIMEOUT = 60

    def __init__(self, port: int, expected: dict[str, str], threads: int = 2):
        self.port, self.expected, self.thread_count = port, expected, threads
        self.reads: list[Read] = []
        self.lock = threading.Lock()
        self.stop_event = threading.Event()
        self.threads: list[threading.Thread] = []

    def start(self) -> None:
        for index in range(self.thread_count):
            thread = threading.Thread(target=self.loop, args=(index,), daemon=True)
            self.threads.append(thread)
            thread.start()

    def stop(self) -> None:
        self.stop_event.set()
        for thread in self.threads:
            thread.join(timeout=15)

    def loop(self, index: int) -> None:
        rng = random.Random(index)
        addresses = [(path, encoding) for path in self.expected for encoding in ENCODINGS]
        while not self.stop_event.is_set():
            path, encoding = rng.choice(addresses)
            started = time.monotonic()
            try:
                got = fetch_page(self.port, path, encoding, timeout=self.TIMEOUT)
                found = page_identity(path, got.text)
                right = got.status == 200 and found == self.expected[path]
                cache = got.headers.get("X-Cache") or "-"
                read = Read(started, path, encoding, got.status, cache, right, found[:60])
            except (OSError, EOFError, http.client.HTTPException, brotli.error) as error:
                problem = f"{type(error).__name__}: {error}"[:60]
                read = Read(started, path, encoding, 0, type(error).__name__, False, problem)
            read.seconds = time.monotonic() - started
            with self.lock:
                self.reads.append(read)
            self.stop_event.wait(0.02)  # about 40 pages a second per thread

    def between(self, start: float, end: float) -> list[Read]:
        with self.lock:
            return [read for read in self.reads if start <= read.at < end]


@dataclass
class HeldQuestion:
    """A form loaded just before every app server is killed, sent while they are down, and
    sent again once they are back, as a person told "send it again in a few minutes" would."""

    visitor: Visitor
    submission: Submission
    body: str
    during: str = ""  # what the POST during the outage got
    turned_away: bool = False  # the calm page, and no app server saw the POST
    accepted_after: float | None = None  # seconds from the servers' return to acceptance


# --- The release -------------------------------------------------------------------------------


def copy_release(target: Path) -> int:
    """Copy the working tree as git sees it (tracked and new files, nothing ignored) to target:
    the rehearsal runs the app from this copy, as production runs it from /srv/tilsite/app,
    and deploys its change there, never in the working tree. Returns the number of files."""
    git = shutil.which("git")
    if not git:
        raise SetupError("git is needed to copy the working tree")
    listing = subprocess.run(  # noqa: S603 (fixed command)
        [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=BASE_DIR,
        capture_output=True,
        check=False,
    )
    if listing.returncode != 0:
        raise SetupError(f"git ls-files failed: {listing.stderr.decode(errors='replace')}")
    copied = 0
    for name in listing.stdout.decode().split("\0"):
        source = BASE_DIR / name
        if not name or not source.is_file():  # deleted in the working tree, or a folder
            continue
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination)
        copied += 1
    return copied


# --- Watching the database ---------------------------------------------------------------------


class Queue:
    """Read-only queries on the scratch database: the outbox (inquiries_emaildelivery)."""

    def __init__(self, url: str):
        self.conn = psycopg.connect(url, autocommit=True)

    def snapshot(self) -> dict[str, int]:
        row = self.conn.execute(
            """
            SELECT
              count(*) FILTER (WHERE status = 'pending' AND next_attempt_at <= now()
                               AND (claimed_until IS NULL OR claimed_until < now())),
              count(*) FILTER (WHERE status = 'pending' AND next_attempt_at > now()),
              count(*) FILTER (WHERE status = 'pending' AND claimed_until >= now()),
              count(*) FILTER (WHERE status = 'pending'),
              count(*) FILTER (WHERE status = 'sent'),
              count(*) FILTER (WHERE status = 'failed')
            FROM inquiries_emaildelivery
            """
        ).fetchone()
        keys = ("ready", "waiting", "running", "pending", "sent", "failed")
        return dict(zip(keys, row, strict=True))

    def running_task(self) -> tuple[str, dict] | None:
        """The email the worker holds now (claimed, not finished), if any."""
        row = self.conn.execute(
            "SELECT id, inquiry_id, kind FROM inquiries_emaildelivery "
            "WHERE status = 'pending' AND claimed_by = %s AND claimed_until >= now() LIMIT 1",
            (WORKER_ID,),
        ).fetchone()
        return (str(row[0]), {"inquiry_id": row[1], "kind": row[2]}) if row else None

    def task_status(self, task_id: str) -> str:
        """RUNNING while the worker still holds the email, else its delivery status."""
        row = self.conn.execute(
            "SELECT status, claimed_by FROM inquiries_emaildelivery WHERE id = %s", (task_id,)
        ).fetchone()
        if row is None:
            return "gone"
        return "RUNNING" if row[0] == "pending" and row[1] == WORKER_ID else row[0]

    def reference(self, inquiry_id: int) -> str:
        row = self.conn.execute(
            "SELECT reference FROM inquiries_inquiry WHERE id = %s", (inquiry_id,)
        ).fetchone()
        return row[0] if row else f"inquiry id {inquiry_id}"

    def inquiries(self) -> list[tuple[int, str, str]]:
        return self.conn.execute("SELECT id, reference, email FROM inquiries_inquiry").fetchall()

    def deliveries(self) -> dict[tuple[str, str], tuple[str, int, str]]:
        rows = self.conn.execute(
            "SELECT i.reference, d.kind, d.status, d.attempts, d.message_id "
            "FROM inquiries_emaildelivery d JOIN inquiries_inquiry i ON i.id = d.inquiry_id"
        ).fetchall()
        return {(ref, kind): (status, attempts, mid) for ref, kind, status, attempts, mid in rows}


# --- The rehearsal -----------------------------------------------------------------------------


@dataclass
class Fault:
    at: float
    wall: str
    what: str


class Rehearsal:
    def __init__(self, args: argparse.Namespace, stack: contextlib.ExitStack):
        self.args = args
        self.stack = stack
        stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.run_dir = RUNS_DIR / stamp
        self.run_tag = secrets.token_hex(2)
        self.faults: list[Fault] = []
        self.load_started = 0.0
        self.web_killed_at = 0.0
        self.worker_killed_at: float | None = None
        self.worker_restarted_at: float | None = None
        self.killed_task: tuple[str, str] | None = None
        # The release the app runs from: a copy of the working tree (copy_release).
        self.app_dir = self.run_dir / "app"
        self.expected_pages: dict[str, str] = {}  # path: its title, for the readers
        self.cache_checks: list[tuple[str, bool, str]] = []
        self.all_down: tuple[float, float] | None = None  # killed, healthy again
        self.held: list[HeldQuestion] = []
        self.poster_threads: list[threading.Thread] = []
        self.deploy_result: dict = {}

    # --- Setting up -----------------------------------------------------------------------

    def fault(self, what: str) -> None:
        offset = time.monotonic() - self.load_started
        self.faults.append(Fault(offset, clock(), what))
        log(f"FAULT +{offset:5.1f}s  {what}")

    def prepare(self) -> None:
        RUNS_DIR.mkdir(parents=True, exist_ok=True)
        for old in sorted(RUNS_DIR.glob("2*"))[:-KEEP_RUNS]:
            shutil.rmtree(old, ignore_errors=True)
        self.run_dir.mkdir()
        self.setup_log = self.run_dir / "setup.log"
        log(f"logs: {self.run_dir.relative_to(BASE_DIR)}/")
        copied = copy_release(self.app_dir)
        self.stack.callback(shutil.rmtree, self.app_dir, ignore_errors=True)
        log(f"release: {copied} files of the working tree copied to {self.app_dir.name}/")

        try:
            self.nginx = localnginx.find_nginx(log)
        except localnginx.NginxError as error:
            raise SetupError(str(error)) from error
        ensure_postgres(self.args.pg_url)
        self.database = ScratchDatabase(self.args.pg_url)
        self.database.drop_leftovers()
        self.database.create()
        self.stack.callback(self.drop_database)
        log(f"scratch database {self.database.name} created")

        self.http_port, self.smtp_port = free_port(), free_port()
        self.web_ports = [free_port(), free_port()]
        self.env = self.environment()

        # The release steps of deploy/README.md, section 6, in the release's folder.
        manage = [str(VENV_BIN / "python"), "manage.py"]
        for step in (
            ["migrate", "--noinput"],
            ["collectstatic", "--noinput", "--verbosity", "0"],
            ["render_offline_pages"],
            ["check", "--deploy", "--fail-level", "ERROR"],
        ):
            run([*manage, *step], self.setup_log, cwd=self.app_dir, env=self.env)
        log(
            "migrate, collectstatic, render_offline_pages and check --deploy done "
            "(production settings)"
        )
        check_production_nginx_config(self.nginx, self.run_dir, self.setup_log)

    def environment(self) -> dict[str, str]:
        keep = ("PATH", "HOME", "LANG", "LC_ALL", "TZ")
        env = {name: os.environ[name] for name in keep if name in os.environ}
        env |= {
            "PYTHONUNBUFFERED": "1",
            # Production mode: no DJANGO_DEBUG. Everything below is in README's table.
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
            "DJANGO_ALLOWED_HOSTS": f"{HOST},localhost",
            "DATABASE_URL": self.database.url,
            "EMAIL_URL": f"smtp://{HOST}:{self.smtp_port}?timeout=5",
            "DEFAULT_FROM_EMAIL": "TIL rehearsal <noreply@rehearsal.example.org>",
            "INQUIRY_NOTIFY_EMAILS": STAFF_ADDRESS,
            "SITE_URL": f"https://{HOST}:{self.http_port}",
            "TRUSTED_PROXY_COUNT": "1",
            "WEB_CONCURRENCY": "2",
            "GUNICORN_THREADS": "1",
            "LOG_LEVEL": "INFO",
            # Relaxed for a machine posting questions: no minimum fill time, no rate limit
            # to speak of, and retry delays of seconds instead of minutes.
            "INQUIRY_MIN_FILL_SECONDS": "0",
            "INQUIRY_RATE_LIMIT": "1000000",
            "INQUIRY_RATE_LIMIT_WINDOW_SECONDS": "600",
            "INQUIRY_EMAIL_RETRY_DELAYS": RETRY_DELAYS,
            # How long a worker's claim on an email lasts (production: 300 s), short enough
            # to expire within the run when the worker restarts under another id
            # (--no-requeue).
            "INQUIRY_STALLED_SEND_SECONDS": "10",
        }
        return env

    def start_services(self) -> None:
        self.mail = MailServer(self.smtp_port)
        self.mail.start()
        self.stack.callback(self.mail.stop)
        log(f"mail server (aiosmtpd) on {HOST}:{self.smtp_port}")

        gunicorn = str(VENV_BIN / "gunicorn")
        self.webs = []
        for index, port in enumerate(self.web_ports, start=1):
            web = Service(
                f"web{index}",
                [gunicorn, "--bind", f"{HOST}:{port}", "tilsite.wsgi"],
                self.env,
                self.run_dir / f"web{index}.log",
                self.app_dir,
            )
            web.start()
            self.stack.callback(web.stop)
            self.webs.append(web)
        for web, port in zip(self.webs, self.web_ports, strict=True):
            wait_healthy(port, web)
            log(f"{web.name}: gunicorn (2 workers) on {HOST}:{port}, healthy")

        try:
            config = localnginx.write_config(
                self.nginx,
                self.run_dir / "nginx",
                self.app_dir / "staticfiles",
                self.http_port,
                self.web_ports,
            )
        except localnginx.NginxError as error:
            raise SetupError(str(error)) from error
        self.proxy = Service(
            "nginx",
            localnginx.command(self.nginx, config),
            self.env,
            self.run_dir / "nginx.log",
            self.app_dir,
        )
        self.proxy.start()
        self.stack.callback(self.proxy.stop)
        wait_healthy(self.http_port, self.proxy)
        log(f"nginx on {HOST}:{self.http_port} -> {self.web_ports[0]}, {self.web_ports[1]}")

        self.worker = Service(
            "worker",
            self.worker_command(WORKER_ID),
            self.env,
            self.run_dir / "worker.log",
            self.app_dir,
        )
        self.start_worker()
        self.stack.callback(self.worker.stop)
        log(f"outbox worker (send_emails --worker-id {WORKER_ID}) running")
        self.queue = Queue(self.database.url)
        self.stack.callback(self.queue.conn.close)
        self.warm_page_cache()
        self.check_cache_rules()

    @staticmethod
    def worker_command(worker_id: str) -> list[str]:
        return [str(VENV_BIN / "python"), "manage.py", "send_emails", "--worker-id", worker_id]

    def start_worker(self) -> None:
        """As tilsite-worker.service does: the worker releases what its id held, then starts.
        With --no-requeue a restart uses another id, so the killed worker's claim must expire
        (INQUIRY_STALLED_SEND_SECONDS) before any worker takes that email up."""
        if self.args.no_requeue and self.worker_killed_at is not None:
            self.worker.command = self.worker_command(f"{WORKER_ID}-restarted")
        self.worker.start()

    def drop_database(self) -> None:
        if self.args.keep_db:
            log(f"kept the scratch database {self.database.name} (--keep-db)")
            return
        self.database.drop()
        log(f"dropped the scratch database {self.database.name}")

    # --- The page cache -----------------------------------------------------------------------

    def warm_page_cache(self) -> None:
        """Read every address nginx may keep (the sitemap's pages, /sources/, the sitemap) once
        in each encoding, as the first readers after a release would, and remember each page's
        title for the readers' checks."""
        sitemap = fetch_page(self.http_port, "/sitemap.xml")
        if sitemap.status != 200:
            raise SetupError(f"/sitemap.xml answered {sitemap.status} through nginx")
        listed = [urlsplit(loc).path for loc in re.findall(r"<loc>([^<]+)</loc>", sitemap.text)]
        for path in dict.fromkeys([*listed, "/sources/", "/sitemap.xml"]):
            for encoding in ENCODINGS:
                got = fetch_page(self.http_port, path, encoding)
                identity = page_identity(path, got.text)
                if got.status != 200 or not identity:
                    raise SetupError(f"{path} ({encoding}) through nginx: {got.status}")
                self.expected_pages.setdefault(path, identity)
        log(
            f"page cache: {len(self.expected_pages)} addresses read through nginx in "
            f"{len(ENCODINGS)} encodings ({', '.join(ENCODINGS)})"
        )

    def content_page(self) -> str:
        """The address of an English content page, from its own file in content/."""
        for path in self.expected_pages:
            slug = path.strip("/")
            if re.fullmatch(r"[a-z0-9-]+", slug) and (self.content_file(slug)).is_file():
                return path
        raise SetupError("no content page in the sitemap")

    def content_file(self, slug: str) -> Path:
        return self.app_dir / "content" / f"{slug}.md"

    def check_cache_rules(self) -> None:
        """What nginx keeps and what it never keeps, asked of the real app through nginx."""
        port, kept = self.http_port, {"HIT", "STALE", "UPDATING", "REVALIDATED"}
        page = self.content_page()
        form = fetch_page(port, "/contact/")
        cookie = "; ".join(
            header.split(";", 1)[0] for header in form.headers.get_all("Set-Cookie") or []
        )

        def check(label: str, path: str, wanted: Callable[[Fetched, str], bool], **kw) -> None:
            fetch_page(port, path, **kw)  # the first may fill the cache
            got = fetch_page(port, path, **kw)
            cache = got.headers.get("X-Cache") or "none"
            detail = f"{path}: {got.status}, X-Cache {cache}"
            self.cache_checks.append((label, wanted(got, cache), detail))

        def hit(got: Fetched, cache: str) -> bool:
            return got.status == 200 and cache == "HIT"

        def never(got: Fetched, cache: str) -> bool:
            return cache not in kept

        check("a content page is served from nginx's copy", page, hit, encoding="br")
        check("/sources/ too", "/sources/", hit, encoding="gzip")
        check("the sitemap too", "/sitemap.xml", hit)
        check("a link with ?fbclid= finds the same copy", page + "?fbclid=x", hit, encoding="br")
        check("a reader with the form's CSRF cookie gets it", page, hit, cookie=cookie)
        check(
            "kept pages tell shared caches s-maxage and stale-if-error",
            page,
            lambda got, cache: (
                "s-maxage=" in (got.headers.get("Cache-Control") or "")
                and "stale-if-error=" in (got.headers.get("Cache-Control") or "")
            ),
        )
        check(
            "the question form is never kept (it sets a cookie)",
            "/contact/",
            lambda got, cache: never(got, cache) and bool(got.headers.get("Set-Cookie")),
        )
        check("its confirmation page is never kept", "/contact/thank-you/", never)
        check("search results are never kept", "/search/?q=melanoma", never)
        check("page feedback is never kept", "/feedback/", never)
        check("the admin is never kept", "/admin/login/", never)
        check(
            "an address that is not a page (404) is never kept",
            "/no-such-page-in-the-rehearsal/",
            lambda got, cache: got.status == 404 and never(got, cache),
        )
        failed = [label for label, ok, _detail in self.cache_checks if not ok]
        log(
            f"cache rules: {len(self.cache_checks) - len(failed)} of {len(self.cache_checks)} hold"
            + (f"; FAILED: {'; '.join(failed)}" if failed else "")
        )

    # --- Faults -------------------------------------------------------------------------------

    def kill_web(self) -> None:
        """SIGKILL web1, preferably while it is serving requests (up to 5 s to catch one)."""
        web, port = self.webs[0], self.web_ports[0]
        deadline = time.monotonic() + 5
        busy = 0
        while time.monotonic() < deadline and not (busy := connections_to(port)):
            time.sleep(0.002)
        web.kill()
        self.web_killed_at = time.monotonic()
        self.fault(
            f"SIGKILL {web.name} (gunicorn master and workers, port {port}) "
            f"with {busy} request(s) in progress"
        )

    def restart_web(self) -> None:
        web = self.webs[0]
        wait_until(self.web_killed_at + self.args.web_down)
        web.start()
        took = wait_healthy(self.web_ports[0], web)
        self.fault(f"restarted {web.name}; healthy after {took:.1f} s")

    def stop_mail(self) -> None:
        self.mail.stop()
        self.fault("mail server stopped (connections refused: sends fail and are retried)")

    def start_mail(self) -> None:
        self.mail.start()
        self.fault("mail server started again")

    def kill_worker(self) -> None:
        """SIGKILL the worker in the middle of a batch, as soon as it is seen running a task."""
        deadline = time.monotonic() + 10
        task = None
        while time.monotonic() < deadline:
            if self.queue.snapshot()["ready"] >= 1 and (task := self.queue.running_task()):
                break
            time.sleep(0.002)
        self.worker.kill()
        self.worker_killed_at = time.monotonic()
        ready = self.queue.snapshot()["ready"]
        if task is None:
            self.fault(f"SIGKILL worker (no send seen in progress in 10 s); {ready} email(s) due")
            return
        task_id, kwargs = task
        kind, reference = kwargs.get("kind"), self.queue.reference(kwargs.get("inquiry_id"))
        status = self.queue.task_status(task_id)
        if status == "RUNNING":
            self.killed_task = (reference, kind)
            self.fault(
                f"SIGKILL worker mid-batch, in the middle of sending the {kind} email of "
                f"{reference} (its claim is left behind); {ready} more email(s) due"
            )
        else:
            self.fault(
                f"SIGKILL worker mid-batch, between two tasks (the {kind} email of {reference} "
                f"had just ended: {status}); {ready} email(s) due"
            )

    def restart_worker(self) -> None:
        wait_until(self.worker_killed_at + 3)
        self.start_worker()
        self.worker_restarted_at = time.monotonic()
        note = (
            " under another id: the killed worker's claim must expire first"
            if self.args.no_requeue
            else ": it released what it held when killed"
        )
        self.fault(f"worker restarted{note}")

    def kill_all_webs(self) -> None:
        """Every app server at once, under load. A few visitors load the form first; each sends
        it while the servers are down (it must be turned away with the calm page) and again
        once they are back (it must be accepted)."""
        rng = random.Random(f"{self.run_tag}-held")
        self.held = []
        for _ in range(OUTAGE_POSTERS):
            visitor = Visitor(self.http_port)
            with contextlib.suppress(OSError, http.client.HTTPException, NotSent):
                page = visitor.request("GET", "/contact/")
                token = form_value(page.body, "csrfmiddlewaretoken")
                stamp = form_value(page.body, "form_stamp")
                if page.status == 200 and token and stamp is not None:
                    number = next(self.load.numbers)
                    data = self.load.form_data(number, rng) | {
                        "csrfmiddlewaretoken": token,
                        "form_stamp": stamp,
                        "send": "Send question",
                    }
                    submission = Submission(number=number, email=data["email"])
                    self.held.append(HeldQuestion(visitor, submission, urlencode(data)))
                    self.load.stats.count("submissions attempted")
        for web in self.webs:
            web.kill()
        killed = time.monotonic()
        self.all_down = (killed, killed + self.args.all_down)
        self.fault(
            f"SIGKILL web1 and web2: no app server at all for {self.args.all_down:g} s; "
            f"{len(self.held)} visitors hold a loaded form"
        )
        thread = threading.Thread(target=self.send_held_questions, args=(killed,), daemon=True)
        self.poster_threads.append(thread)
        thread.start()

    def send_held_questions(self, killed: float) -> None:
        spacing = self.args.all_down / (len(self.held) + 1)
        for index, held in enumerate(self.held, start=1):
            wait_until(killed + spacing * index)
            try:
                response = held.visitor.request("POST", "/contact/", held.body)
            except (OSError, http.client.HTTPException, NotSent) as error:
                held.during = f"no answer ({type(error).__name__})"
                continue
            calm = response.status == 503 and CALM_PAGE_TEXT in response.body
            reached = response.headers.get("X-Upstream-Reached", "-")
            held.during = (
                f"{response.status}{' calm page' if calm else ''}, X-Upstream-Reached {reached}"
            )
            held.turned_away = calm and reached == "no"

    def restart_all_webs(self) -> None:
        killed = self.all_down[0] if self.all_down else time.monotonic()
        wait_until(killed + self.args.all_down)
        for web in self.webs:
            web.start()
        for web, port in zip(self.webs, self.web_ports, strict=True):
            wait_healthy(port, web)
        back = time.monotonic()
        self.all_down = (killed, back)
        self.fault(
            "restarted web1 and web2 (as systemd's Restart=always would); healthy after "
            f"{back - killed - self.args.all_down:.1f} s"
        )
        thread = threading.Thread(target=self.send_held_again, args=(back,), daemon=True)
        self.poster_threads.append(thread)
        thread.start()

    def send_held_again(self, back: float) -> None:
        """Each turned-away visitor sends the same form again, until nginx hands it to an app
        server (it tries them again within fail_timeout, 5 s) or 30 s have passed."""
        self.poster_threads[0].join(timeout=60)
        for held in self.held:
            while time.monotonic() < back + 30:
                try:
                    response = held.visitor.request("POST", "/contact/", held.body)
                except (OSError, http.client.HTTPException, NotSent):
                    time.sleep(0.5)
                    continue
                if response.headers.get("X-Upstream-Reached") == "no":
                    time.sleep(0.5)  # nginx has not tried the app servers again yet
                    continue
                if response.status == 302:
                    held.accepted_after = time.monotonic() - back
                    self.load.accepted(
                        held.visitor, held.submission, response.headers.get("Location", "")
                    )
                break

    def deploy(self) -> None:
        """A release: a sentence added to a content page and a mark to the base template, in
        the release's folder; then each gunicorn instance reloaded with SIGHUP (what
        `systemctl reload tilsite-web@PORT` sends: new workers start on the new files, the old
        ones finish what they hold). Then every kept page is read through nginx, in each
        encoding, until all show the new version."""
        marker = "".join(random.Random(self.run_tag).choices(string.ascii_lowercase, k=12))
        changed = self.content_page()
        content_file = self.content_file(changed.strip("/"))
        with content_file.open("a", encoding="utf-8") as handle:
            handle.write(f"\n\nRelease check {marker}.\n")
        template = self.app_dir / "templates" / "base.html"
        comment = f"<!-- release {marker} -->"
        template.write_text(template.read_text().replace("</body>", f"{comment}\n</body>", 1))
        for web in self.webs:
            if web.process is not None:
                os.kill(web.process.pid, signal.SIGHUP)
        reloaded = time.monotonic()
        self.fault(
            f"deploy: content/{content_file.name} and templates/base.html changed, web1 and "
            f"web2 reloaded (SIGHUP)"
        )
        pending = {
            (path, encoding)
            for path in self.expected_pages
            if path.endswith("/")  # pages; the sitemap has no template
            for encoding in ENCODINGS
        }
        total, seen = len(pending), {}
        while pending and time.monotonic() < reloaded + DEPLOY_PROMISE_SECONDS + 15:
            for path, encoding in sorted(pending):
                with contextlib.suppress(OSError, EOFError, http.client.HTTPException):
                    got = fetch_page(self.http_port, path, encoding)
                    new = comment in got.text and (
                        path != changed or f"Release check {marker}" in got.text
                    )
                    if got.status == 200 and new:
                        seen[(path, encoding)] = time.monotonic() - reloaded
                        pending.discard((path, encoding))
            time.sleep(0.2)
        self.deploy_result = {
            "changed": changed,
            "changed_after": max(
                (at for (path, _e), at in seen.items() if path == changed), default=None
            ),
            "all_after": max(seen.values()) if not pending else None,
            "new": len(seen),
            "total": total,
        }
        self.fault(
            f"deploy: {len(seen)} of {total} page versions new through nginx"
            + (f", the last after {max(seen.values()):.1f} s" if seen else "")
        )

    # --- Running ------------------------------------------------------------------------------

    def schedule(self) -> list[tuple[float, str, Callable[[], None]]]:
        d = self.args.duration
        all_down = 0.52 * d
        events = [
            (0.10 * d, "kill web1", self.kill_web),
            (0.10 * d + self.args.web_down, "restart web1", self.restart_web),
            (0.24 * d, "stop mail", self.stop_mail),
            (0.24 * d + self.args.mail_outage, "start mail", self.start_mail),
            (0.42 * d, "kill worker", self.kill_worker),
            (0.42 * d + 3, "restart worker", self.restart_worker),
            (all_down, "kill every web", self.kill_all_webs),
            (all_down + self.args.all_down, "restart every web", self.restart_all_webs),
            (all_down + self.args.all_down + 12, "deploy", self.deploy),
        ]
        return sorted(events, key=lambda event: event[0])

    def progress(self, phase: str) -> None:
        snap = self.queue.snapshot()
        counts = self.load.stats.counts
        with self.mail.inbox.lock:
            received = len(self.mail.inbox.messages)
        log(
            f"{phase}: accepted {len(self.load.stats.accepted)}/"
            f"{counts['submissions attempted']}, emails received {received}, sent {snap['sent']}, "
            f"pending {snap['pending']} (due {snap['ready']}, waiting {snap['waiting']}, "
            f"being sent {snap['running']}), mail {'up' if self.mail.up else 'DOWN'}, "
            f"worker {'up' if self.worker.running else 'DOWN'}"
        )

    def run_load(self) -> None:
        self.load = Load(self.http_port, self.args.clients, self.args.rate, self.run_tag)
        self.stack.callback(self.load.stop)
        self.readers = Readers(self.http_port, self.expected_pages)
        self.stack.callback(self.readers.stop)
        log(
            f"load: {self.args.clients} clients, about {self.args.rate:g} questions/s, and "
            f"{self.readers.thread_count} readers of the kept pages, for {self.args.duration:g} s"
        )
        self.load_started = time.monotonic()
        self.load.start()
        self.readers.start()
        events = self.schedule()
        last_progress = 0.0
        while (elapsed := time.monotonic() - self.load_started) < self.args.duration or events:
            while events and events[0][0] <= elapsed:
                events.pop(0)[2]()
            if time.monotonic() - last_progress >= 5:
                self.progress("load")
                last_progress = time.monotonic()
            if elapsed >= self.args.duration and not events:
                break
            time.sleep(0.05)
        for thread in self.poster_threads:
            thread.join(timeout=60)
        self.load.stop()
        self.readers.stop()
        log("load stopped")

    def drain(self) -> float:
        """Wait for every delivery to be sent (or to fail for good), within the drain timeout."""
        started = time.monotonic()
        idle_since = None
        last_progress = 0.0
        while time.monotonic() - started < self.args.drain_timeout:
            snap = self.queue.snapshot()
            if snap["pending"] == 0 and snap["ready"] == 0 and snap["running"] == 0:
                log(f"queue drained in {time.monotonic() - started:.1f} s")
                return time.monotonic() - started
            # Pending emails with nothing queued that could ever send them: orphaned.
            if snap["ready"] == 0 and snap["waiting"] == 0 and snap["pending"] > 0:
                idle_since = idle_since or time.monotonic()
                if time.monotonic() - idle_since > 10:
                    log(f"{snap['pending']} email(s) pending with nothing due or held to send them")
                    return time.monotonic() - started
            else:
                idle_since = None
            if time.monotonic() - last_progress >= 5:
                self.progress("drain")
                last_progress = time.monotonic()
            time.sleep(0.5)
        log(f"drain timed out after {self.args.drain_timeout:g} s")
        return time.monotonic() - started

    # --- Counting -----------------------------------------------------------------------------

    def nginx_failovers(self) -> Counter:
        """From nginx's access log: requests passed on to the other instance, pages served from
        nginx's copy with no app server answering, and nginx's own pages."""
        seen: Counter = Counter()
        path = self.run_dir / "nginx" / "logs" / "nginx-access.log"
        pattern = re.compile(
            r'"(\w+) ([^"]*)" (\d{3}) .* upstream=(.*) upstream_status=(.*) upstream_sent=.*'
            r" cache=(\S*)$"
        )
        for line in path.read_text().splitlines() if path.exists() else []:
            match = pattern.search(line)
            if not match:
                continue
            method, address, status, upstreams, statuses, cache = match.groups()
            if cache == "STALE":
                seen[f"{method} answered {status} from nginx's copy, no app server answering"] += 1
            elif status == "503" and re.search(r"\b50[24]\b", statuses):
                page = "the calm page" if address == "/contact/" else "the try-again page"
                seen[
                    f"{method} {address if address == '/contact/' else '(other)'} answered "
                    f"503 with {page} by nginx"
                ] += 1
            elif "," in upstreams:
                seen[
                    f"{method} passed on to the other instance ({statuses}), answered {status}"
                ] += 1
            elif status in ("502", "504"):
                seen[f"{method} answered a bare {status} by nginx ({statuses})"] += 1
        return seen

    def tally(self, drain_seconds: float) -> bool:
        time.sleep(1)  # let the last SMTP transactions finish
        stats = self.load.stats
        rows = self.queue.inquiries()
        deliveries = self.queue.deliveries()
        with self.mail.inbox.lock:
            messages = list(self.mail.inbox.messages)

        by_reference = defaultdict(list)
        by_email = defaultdict(list)
        for _pk, reference, address in rows:
            by_reference[reference].append(address.lower())
            by_email[address.lower()].append(reference)

        accepted = stats.accepted
        stored = [s for s in accepted if s.email.lower() in by_reference.get(s.reference, [])]
        missing = [s for s in accepted if s not in stored]
        duplicate_rows = sum(len(refs) - 1 for refs in by_email.values() if len(refs) > 1)
        accepted_emails = {s.email.lower() for s in accepted}
        ambiguous_stored = [s for s in stats.ambiguous if s.email.lower() in by_email]
        unconfirmed_rows = [r for r in rows if r[2].lower() not in accepted_emails]

        # Deliveries at the mail server, per (reference, kind).
        copies: dict[tuple[str, str], list[Received]] = defaultdict(list)
        for message in messages:
            if STAFF_ADDRESS in message.recipients:
                copies[(message.reference, "staff")].append(message)
            if any(r != STAFF_ADDRESS for r in message.recipients):
                copies[(message.reference, "acknowledgement")].append(message)
        expected = [(ref, kind) for _pk, ref, _a in rows for kind in ("staff", "acknowledgement")]
        delivered = [key for key in expected if copies.get(key)]
        lost = [key for key in expected if not copies.get(key)]
        wrong_recipient = [
            (ref, kind)
            for (ref, kind), received in copies.items()
            if kind == "acknowledgement"
            and any(
                set(m.recipients) - {STAFF_ADDRESS} != {by_reference.get(ref, ["?"])[0]}
                for m in received
            )
        ]
        duplicates = {key: got for key, got in copies.items() if len(got) > 1}
        unstable_ids = [
            key for key, got in duplicates.items() if len({m.message_id for m in got}) > 1
        ]
        explained, unexplained = [], []
        for key, got in duplicates.items():
            first = min(m.at for m in got)
            killed, restarted = self.worker_killed_at, self.worker_restarted_at
            again = sorted(m.at for m in got)[1:]
            if (
                killed is not None
                and killed - 5 <= first <= killed
                and all(restarted is not None and at >= restarted for at in again)
                and key not in unstable_ids
            ):
                explained.append(key)
            else:
                unexplained.append(key)
        extra_copies = sum(len(got) - 1 for got in duplicates.values())
        recorded_sent = sum(1 for key in expected if deliveries.get(key, ("",))[0] == "sent")
        failed = [key for key in expected if deliveries.get(key, ("",))[0] == "failed"]
        retried = sum(1 for key in expected if deliveries.get(key, ("", 0))[1] > 1)
        not_recorded = [key for key in delivered if deliveries.get(key, ("",))[0] != "sent"]

        # The page cache, the outage of every app server, the deploy.
        reads = self.readers.between(0, float("inf"))
        wrong_reads = [read for read in reads if not read.right]
        down_from, down_to = self.all_down or (0.0, 0.0)
        during = self.readers.between(down_from, down_to)
        during_right = [read for read in during if read.right]
        during_cache = Counter(read.cache for read in during)
        after = [read for read in self.readers.between(down_to, float("inf")) if read.right]
        fresh_again = next(
            (read.at - down_to for read in after if read.cache not in ("STALE", "UPDATING")), None
        )
        turned_away_held = [h for h in self.held if h.turned_away]
        turned_away_main = sum(
            v for k, v in stats.counts.items() if k.startswith("POST turned away by the calm page")
        )
        turned_away_stored = [s for s in stats.turned_away if s.email.lower() in by_email]
        held_accepted = [h for h in self.held if h.accepted_after is not None]
        bare_errors = sum(v for k, v in stats.counts.items() if re.search(r"\b50[24]\b", k)) + sum(
            1 for read in reads if read.status in (502, 504)
        )
        deploy = self.deploy_result
        failed_rules = [(label, detail) for label, ok, detail in self.cache_checks if not ok]

        counts = stats.counts
        posts = sorted(stats.post_seconds)
        p50 = posts[len(posts) // 2] if posts else 0
        p95 = posts[int(len(posts) * 0.95)] if posts else 0
        table = [
            ("Questions submitted (POST attempted)", counts["submissions attempted"]),
            ("Accepted (302 to the confirmation page)", len(accepted)),
            (
                "  confirmation page showed the reference",
                counts["confirmation page showed the reference"],
            ),
            ("Stored (accepted, found by reference)", len(stored)),
            ("Missing (accepted, not stored)", len(missing)),
            ("Duplicates stored (one submission, more rows)", duplicate_rows),
            ("Stored without a confirmation (unclear POSTs)", len(unconfirmed_rows)),
            (
                "Client-visible errors, POST retried (app never saw it)",
                counts["POST retried: nginx said no app server saw it"]
                + counts["POST retried: connection to nginx refused"],
            ),
            ("Client-visible errors, POST not retried (may have arrived)", len(stats.ambiguous)),
            ("  of which stored after all", len(ambiguous_stored)),
            (
                "Client-visible errors, GET /contact/",
                sum(v for k, v in counts.items() if k.startswith("GET /contact/")),
            ),
            ("Emails expected (2 per stored question)", len(expected)),
            ("Delivered at least once (at the mail server)", len(delivered)),
            ("LOST (never reached the mail server)", len(lost)),
            ("Duplicate deliveries (same email again)", extra_copies),
            ("  explained by the worker kill", len(explained)),
            ("  unexplained", len(unexplained)),
            ("  with a different Message-ID (unstable)", len(unstable_ids)),
            ("Acknowledgements to a wrong address", len(wrong_recipient)),
            ("Recorded as sent in the database", recorded_sent),
            ("  delivered but not recorded as sent", len(not_recorded)),
            ("  marked failed (gave up)", len(failed)),
            ("Emails that needed more than one attempt", retried),
            ("Messages received by the mail server", len(messages)),
            ("POST latency p50 / p95 (s)", f"{p50:.3f} / {p95:.3f}"),
            ("Drain after the load (s)", f"{drain_seconds:.1f}"),
        ]

        def seconds(value: float | None) -> str:
            return "never" if value is None else f"{value:.1f}"

        cache_table = [
            (
                "Cache rules that hold (what is kept, what never is)",
                f"{len(self.cache_checks) - len(failed_rules)}/{len(self.cache_checks)}",
            ),
            ("Page requests by the readers (all run)", len(reads)),
            ("  not answered with the page asked for", len(wrong_reads)),
            (
                "  answered in more than 1 s / the slowest (s)",
                f"{sum(1 for read in reads if read.seconds > 1)} / "
                f"{max((read.seconds for read in reads), default=0):.1f}",
            ),
            (
                f"While no app server was up ({down_to - down_from:.0f} s): page requests",
                len(during),
            ),
            ("  answered 200 with the page asked for", len(during_right)),
            (
                "  served from nginx's copy (STALE / HIT / UPDATING)",
                f"{during_cache['STALE']} / {during_cache['HIT']} / {during_cache['UPDATING']}",
            ),
            (
                "  GET /contact/: the calm page",
                counts["GET /contact/: the calm page (no app server answered)"],
            ),
            ("  questions sent by visitors holding a form", len(self.held)),
            ("    turned away with the calm page (app never saw them)", len(turned_away_held)),
            ("    sent again after the outage and accepted", len(held_accepted)),
            ("  other POSTs turned away with the calm page", turned_away_main),
            ("  turned-away questions stored anyway", len(turned_away_stored)),
            ("Bare 502/504 answers seen by any client", bare_errors),
            (
                "Recovery after the servers were back (s): question accepted",
                seconds(min((h.accepted_after for h in held_accepted), default=None)),
            ),
            ("  page from a live app server again", seconds(fresh_again)),
            (
                f"Deploy: {deploy.get('changed', '?')} shows the new text after (s)",
                seconds(deploy.get("changed_after")),
            ),
            (
                f"  all {deploy.get('total', 0)} page versions new after (s), promise "
                f"{DEPLOY_PROMISE_SECONDS}",
                seconds(deploy.get("all_after")),
            ),
        ]
        width = max(len(label) for label, _ in table + cache_table)
        lines = ["", "=" * (width + 12), "PRODUCTION REHEARSAL SUMMARY", "=" * (width + 12)]
        lines += [f"{label:<{width}}  {value:>8}" for label, value in table]
        lines += ["", "Pages through nginx (the page cache, every app server down, a deploy):"]
        lines += [f"{label:<{width}}  {value:>8}" for label, value in cache_table]
        lines += ["", "Faults injected (offset from the start of the load, wall clock):"]
        lines += [f"  +{f.at:5.1f}s  {f.wall}  {f.what}" for f in self.faults]
        if self.killed_task:
            reference, kind = self.killed_task
            got = copies.get(self.killed_task, [])
            state = deliveries.get(self.killed_task, ("?", 0, ""))
            lines.append(
                f"  The email the worker was sending when killed ({reference} {kind}): "
                f"received {len(got)} time(s), recorded {state[0]} after {state[1]} attempt(s)"
            )
        failovers = self.nginx_failovers()
        if failovers:
            lines += ["", "nginx (access log):"]
            lines += [f"  {v:6d}  {k}" for k, v in sorted(failovers.items())]
        other = {k: v for k, v in counts.items() if k != "submissions attempted"}
        if other:
            lines += ["", "Client events:"]
            lines += [f"  {v:6d}  {k}" for k, v in sorted(other.items())]
        if self.cache_checks:
            lines += ["", "Cache rules (two requests each, through nginx):"]
            lines += [
                f"  {'ok  ' if ok else 'FAIL'}  {label}: {detail}"
                for label, ok, detail in self.cache_checks
            ]
        if self.held:
            lines += ["", "Visitors holding a form when every app server went down:"]
            lines += [
                f"  {h.submission.email.split('@')[0]}: "
                f"during the outage {h.during or 'not sent'}; "
                + (
                    f"accepted {h.accepted_after:.1f} s after the servers were back"
                    if h.accepted_after is not None
                    else "NOT accepted afterwards"
                )
                for h in self.held
            ]
        if wrong_reads:
            lines += ["", "Page requests not answered with the page asked for:"]
            lines += [
                f"  +{read.at - self.load_started:5.1f}s  {read.path} ({read.encoding}): "
                f"{read.status or 'no answer'} after {read.seconds:.1f} s, X-Cache {read.cache}, "
                f"found {read.found!r}"
                for read in wrong_reads[:20]
            ]
        for title, keys in (
            ("Missing (accepted, not stored)", [s.reference for s in missing]),
            ("Lost emails", [f"{r} {k}: db {deliveries.get((r, k))}" for r, k in lost]),
            ("Unexplained duplicate deliveries", [f"{r} {k}" for r, k in unexplained]),
            ("Delivered but not recorded as sent", [f"{r} {k}" for r, k in not_recorded]),
        ):
            if keys:
                lines += ["", f"{title}:"] + [f"  {key}" for key in keys[:20]]
                if len(keys) > 20:
                    lines.append(f"  ... and {len(keys) - 20} more")

        problems = []
        if not accepted:
            problems.append("nothing was accepted")
        if missing:
            problems.append(f"{len(missing)} accepted question(s) not stored")
        if duplicate_rows:
            problems.append(f"{duplicate_rows} question(s) stored twice")
        if lost:
            problems.append(f"{len(lost)} email(s) lost")
        if unexplained:
            problems.append(f"{len(unexplained)} unexplained duplicate email(s)")
        if unstable_ids:
            problems.append(f"{len(unstable_ids)} email(s) resent with a new Message-ID")
        if wrong_recipient:
            problems.append(f"{len(wrong_recipient)} acknowledgement(s) to a wrong address")
        if failed_rules:
            problems.append(f"{len(failed_rules)} cache rule(s) broken")
        if wrong_reads:
            problems.append(f"{len(wrong_reads)} page request(s) not answered with the page")
        if not during:
            problems.append("no page was read while every app server was down")
        if len(turned_away_held) != len(self.held) or not self.held:
            problems.append("a question sent with no app server up was not turned away kindly")
        if len(held_accepted) != len(self.held):
            problems.append("a turned-away question was not accepted once the servers were back")
        if turned_away_stored:
            problems.append(f"{len(turned_away_stored)} turned-away question(s) stored")
        if bare_errors:
            problems.append(f"{bare_errors} bare 502/504 answer(s)")
        if deploy.get("all_after") is None or deploy["all_after"] > DEPLOY_PROMISE_SECONDS:
            problems.append(
                f"the deploy did not show on every page within {DEPLOY_PROMISE_SECONDS} s"
            )
        lines.append("")
        lines.append(
            "RESULT: " + ("PASS, nothing lost" if not problems else "FAIL: " + "; ".join(problems))
        )
        text = "\n".join(lines)
        print(text, flush=True)
        (self.run_dir / "summary.txt").write_text(text + "\n")
        return not problems


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description="Stand the production shape up on loopback, inject faults, count.",
    )
    parser.add_argument("--duration", type=float, default=100, help="seconds of load (100)")
    parser.add_argument("--rate", type=float, default=8, help="questions per second (8)")
    parser.add_argument("--clients", type=int, default=4, help="concurrent visitors (4)")
    parser.add_argument(
        "--web-down",
        type=float,
        default=8,
        help="seconds web1 stays down (8: longer than nginx's fail_timeout of 5 s, so nginx "
        "tries it again and is refused)",
    )
    parser.add_argument(
        "--mail-outage", type=float, default=15, help="seconds the mail server is down (15)"
    )
    parser.add_argument(
        "--all-down",
        type=float,
        default=20,
        help="seconds every gunicorn instance stays down (20): pages from nginx's copy, "
        "questions turned away with the calm page",
    )
    parser.add_argument(
        "--drain-timeout", type=float, default=150, help="longest wait for the queue (150)"
    )
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("REHEARSAL_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres"),
        help="PostgreSQL admin connection (env REHEARSAL_PG_URL)",
    )
    parser.add_argument("--keep-db", action="store_true", help="do not drop the scratch database")
    parser.add_argument(
        "--no-requeue",
        action="store_true",
        help="restart the killed worker under another worker id: its claim on the email it "
        "was sending must expire (INQUIRY_STALLED_SEND_SECONDS, 10 s here) before it is sent",
    )
    args = parser.parse_args(argv)
    if args.duration < 60 or args.rate <= 0 or args.clients < 1 or args.all_down < 5:
        parser.error("need --duration >= 60, --rate > 0, --clients >= 1 and --all-down >= 5")
    host = urlsplit(args.pg_url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        parser.error("--pg-url must point at a loopback address")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)

    def interrupted(signum, frame):
        raise Interrupted(signal.strsignal(signum))

    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)
    with contextlib.ExitStack() as stack:
        rehearsal = Rehearsal(args, stack)
        try:
            rehearsal.prepare()
            rehearsal.start_services()
            rehearsal.run_load()
            drain_seconds = rehearsal.drain()
            passed = rehearsal.tally(drain_seconds)
        except SetupError as error:
            log(f"SETUP FAILED: {error}")
            return 2
        except (KeyboardInterrupt, Interrupted) as reason:
            log(f"interrupted ({str(reason) or 'Ctrl+C'}): cleaning up")
            return 130
        finally:
            # A second Ctrl+C must not cut the clean-up short.
            for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
                signal.signal(signum, signal.SIG_IGN)
            log("stopping every process started here")
    log(f"logs and summary: {rehearsal.run_dir.relative_to(BASE_DIR)}/")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())

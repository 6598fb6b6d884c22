"""The load benchmark behind `make bench`: the site under gunicorn, as in production, on loopback.

    .venv/bin/python -m bench.run [--duration 10] [--warmup 2] [--output bench/results/latest.md]

It runs, in one go:
  1. set-up: a fresh SQLite database in a temporary folder (migrated), collectstatic, and
     gunicorn started from gunicorn.conf.py with production settings (DEBUG off, whitenoise,
     hashed compressed static files) on a free loopback port;
  2. pages, one at a time, with wrk (16 connections, 2 threads, a warm-up, then --duration
     seconds, Accept-Encoding: gzip, br): the site's stylesheet served by whitenoise (the
     reference), the home page, the longest content page, /sources/, the form at /contact/
     and two searches (a plain and a misspelt query);
  3. the question form at the highest rate it sustains (bench/formload.py), then a check that
     stored inquiries and queued email tasks match the accepted submissions;
  4. the same pages through nginx with the committed configuration (deploy/nginx/, on loopback,
     no TLS; Debian's nginx is installed when missing): the stylesheet nginx serves from disk
     (the reference: the machine's limit) against the pages served from nginx's page cache;
  5. the memory of each gunicorn worker (RSS, and PSS), the bytes a browser receives for each
     page, and how the CPU was shared between server, load generator and the rest;
  6. steps 1 and 3 again on PostgreSQL (a scratch database, dropped afterwards) when
     DATABASE_URL points to PostgreSQL.
Before each load it waits (--quiet-timeout) for the machine to be idle. Results are printed and
written as markdown to --output. The benchmark asserts nothing: the targets are reported as met
or missed, and the exit status is 0 unless something broke.

Only for the benchmark, the form's spam protections are relaxed through the environment:
INQUIRY_MIN_FILL_SECONDS=0 (the load script sends the form at once) and INQUIRY_RATE_LIMIT
very high (each simulated visitor also comes from its own address).
"""

import argparse
import contextlib
import datetime
import gzip
import http.client
import json
import os
import platform
import re
import resource
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import brotli

from bench.formload import FormLoad, FormLoadResult
from bench.lib import (
    WrkResult,
    access_log_times,
    css_uses_web_fonts,
    kib,
    markdown_table,
    median,
    parse_wrk,
    percentile,
    scan_page,
)
from deploy import localnginx

REPO = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
GUNICORN = str(Path(sys.executable).parent / "gunicorn")
HOST = "127.0.0.1"
GIT = shutil.which("git") or "git"
CONNECTIONS, THREADS = 16, 2
BROWSER_HEADERS = {"Accept-Encoding": "gzip, br", "X-Forwarded-Proto": "https"}
# inquiries.outbox.queue_emails queues two email sends per question: the staff notification and
# the acknowledgement to the person, each a due row in the outbox.
TASKS_PER_INQUIRY = 2
FORM_SESSIONS = 16
# Targets, on a 2-core machine (README, "Performance").
TARGET_RATIO, TARGET_P99_MS, TARGET_FORM_RATE = 0.5, 50.0, 100.0
# Through nginx: kept pages against the static file nginx serves from disk (aim: 0.8).
TARGET_NGINX_RATIO, AIM_NGINX_RATIO, TARGET_NGINX_P99_MS = 0.5, 0.8, 10.0
TARGET_PAGE_BYTES, TARGET_RSS_MB = 50 * 1024, 120.0
# Search results (issue: p99 under 25 ms at 16 connections, no errors), a plain and a misspelt
# query; the view keeps recent results pages, so these measure the usual repeated queries.
SEARCHES = ("/search/?q=side+effects", "/search/?q=side+efects")
TARGET_SEARCH_P99_MS = 25.0


@dataclass
class Fetched:
    status: int
    headers: dict
    set_cookies: list
    wire_bytes: int  # the body as sent, compressed when the server compressed it
    text: str


@dataclass
class PageRun:
    name: str
    path: str
    content_page: bool
    wrk: WrkResult | None = None
    ratio: float = 0.0
    fetched: Fetched | None = None
    transfer: int = 0  # the page and what it loads (CSS, JS), as received
    transfer_parts: str = ""
    checks: list = field(default_factory=list)  # problems found on the page
    cpu: object = None  # a CpuMeter
    quiet: bool = True
    app_requests: int | None = None  # through nginx: requests that reached gunicorn meanwhile
    cache_status: str = ""  # through nginx: X-Cache of a request just before the load


@dataclass
class FormRun:
    database: str
    result: FormLoadResult | None = None
    counts: dict = field(default_factory=dict)
    skipped: str = ""
    cpu: object = None
    quiet: bool = True
    server_ms: dict = field(default_factory=dict)  # "GET /contact/ 200": [ms, ...]

    @property
    def stored_ok(self) -> bool:
        return bool(self.result) and self.counts.get("inquiries") == self.result.accepted_total

    @property
    def queued_ok(self) -> bool:
        expected = TASKS_PER_INQUIRY * self.result.accepted_total if self.result else -1
        return self.counts.get("send_tasks") == expected


@dataclass
class Report:
    machine: dict
    server: dict
    pages: list
    forms: list
    rss: dict  # database label: {pid: MB}
    pss: dict
    notes: list
    nginx_pages: list = field(default_factory=list)  # PageRun, through nginx


# --- Processes and HTTP ---------------------------------------------------------------------


def run(command: list[str], **options) -> subprocess.CompletedProcess:
    """subprocess.run for the commands built in this file (no shell, nothing from outside)."""
    return subprocess.run(command, **options)  # noqa: S603


def log(message: str) -> None:
    print(f"[bench] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def ensure_wrk() -> str:
    found = shutil.which("wrk")
    if found:
        return found
    log("wrk is missing: installing Debian's package (apt-get install -y wrk)")
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    install = [*sudo, "apt-get", "install", "-y", "-qq", "wrk"]
    if run(install, check=False).returncode != 0:
        run([*sudo, "apt-get", "update", "-qq"], check=True)
        run(install, check=True)
    return shutil.which("wrk") or "wrk"


def fetch(port: int, path: str, headers: dict | None = None) -> Fetched:
    connection = http.client.HTTPConnection(HOST, port, timeout=30)
    try:
        connection.request("GET", path, headers={**BROWSER_HEADERS, **(headers or {})})
        response = connection.getresponse()
        raw = response.read()
        encoding = response.getheader("Content-Encoding", "")
        body = raw
        if encoding == "gzip":
            body = gzip.decompress(raw)
        elif encoding == "br":
            body = brotli.decompress(raw)
        return Fetched(
            status=response.status,
            headers={name.lower(): value for name, value in response.getheaders()},
            set_cookies=response.headers.get_all("Set-Cookie") or [],
            wire_bytes=len(raw),
            text=body.decode("utf-8", "replace"),
        )
    finally:
        connection.close()


def run_django(env: dict, *args: str, capture: bool = False) -> str:
    result = run(
        [PYTHON, *args],
        cwd=REPO,
        env=env,
        check=True,
        text=True,
        stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
    )
    return result.stdout or ""


def probe(env: dict, command: str) -> dict:
    return json.loads(run_django(env, "-m", "bench.probe", command, capture=True))


class Gunicorn:
    """gunicorn as production runs it: `gunicorn tilsite.wsgi`, reading gunicorn.conf.py."""

    def __init__(self, env: dict, port: int, log_path: Path):
        self.env = env | {"GUNICORN_BIND": f"{HOST}:{port}"}
        self.port = port
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        self._log = open(self.log_path, "ab")
        # Its own control socket: by default every gunicorn of the user shares
        # ~/.gunicorn/gunicorn.ctl, and a command meant for another one would reach this one.
        control = self.log_path.with_suffix(".ctl")
        self.process = subprocess.Popen(  # noqa: S603 (our own gunicorn)
            [GUNICORN, "--control-socket", str(control), "tilsite.wsgi"],
            cwd=REPO,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn stopped at start-up; see {self.log_path}")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if fetch(self.port, "/healthz").status == 200 and len(self.workers()) >= 1:
                    return self
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer /healthz within 60 s; see {self.log_path}")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return []
        return sorted(int(child) for child in children)

    def rss_mb(self) -> dict[int, float]:
        """Resident memory of each worker (MB), as the brief's target counts it."""
        return {pid: self._memory(pid, "Rss") for pid in self.workers()}

    def pss_mb(self) -> dict[int, float]:
        """Proportional share: pages shared between processes (preload_app) counted in part."""
        return {pid: self._memory(pid, "Pss") for pid in self.workers()}

    @staticmethod
    def _memory(pid: int, field: str) -> float:
        try:
            rollup = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            return 0.0
        return int(re.search(rf"^{field}:\s+(\d+) kB", rollup, re.MULTILINE).group(1)) / 1024


class Nginx:
    """nginx with the committed configuration (deploy/nginx/rehearsal.conf.in around the
    production site's shared parts, page cache included) on a free loopback port, in front of
    the benchmark's gunicorn: both of its upstream lines point at that one instance."""

    def __init__(self, upstream_port: int):
        self.upstream_port = upstream_port
        # Its own folder, readable by nginx's workers: run as root, nginx's master starts them
        # as "nobody", who cannot enter the benchmark's private temporary folder.
        self.prefix = Path(tempfile.mkdtemp(prefix="tilbench-nginx-"))
        self.prefix.chmod(0o755)
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    def __enter__(self):
        try:
            binary = localnginx.find_nginx(log)
            config = localnginx.write_config(
                binary,
                self.prefix,
                REPO / "staticfiles",
                self.port,
                [self.upstream_port, self.upstream_port],
            )
        except localnginx.NginxError as error:
            raise SystemExit(f"nginx: {error}") from error
        printed = run([binary, "-v"], capture_output=True, text=True).stderr
        self.version = printed.strip().removeprefix("nginx version: nginx/")
        self._log = open(self.prefix / "nginx.log", "ab")
        self.process = subprocess.Popen(  # noqa: S603 (the system's nginx, our configuration)
            localnginx.command(binary, config), stdout=self._log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"nginx stopped at start-up; see {self.prefix}/logs/")
            with contextlib.suppress(OSError, http.client.HTTPException):
                if fetch(self.port, "/healthz").status == 200:
                    return self
            time.sleep(0.1)
        raise SystemExit(f"nginx did not answer /healthz within 20 s; see {self.prefix}/logs/")

    def __exit__(self, *exc):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)  # graceful: finish, then stop
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        shutil.rmtree(self.prefix, ignore_errors=True)

    def workers(self) -> list[int]:
        pid = self.process.pid
        try:
            return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
        except OSError:
            return []


def run_wrk(wrk: str, port: int, path: str, seconds: float) -> WrkResult:
    command = [wrk, f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{max(1, round(seconds))}s", "--latency"]
    for name, value in BROWSER_HEADERS.items():
        command += ["-H", f"{name}: {value}"]
    command.append(f"http://{HOST}:{port}{path}")
    result = run(command, check=True, capture_output=True, text=True)
    return parse_wrk(result.stdout)


def process_cpu_seconds(pids) -> float:
    """CPU time used so far by these processes."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def machine_busy_seconds() -> float:
    """CPU time the whole machine spent not idle: every process, and the kernel's own work
    (interrupts, the loopback network stack), from the first line of /proc/stat."""
    values = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = values[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def own_cpu_seconds() -> float:
    """This process (the form's load threads) and its finished children (wrk)."""
    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        usage = resource.getrusage(who)
        total += usage.ru_utime + usage.ru_stime
    return total


class CpuMeter:
    """Shares of the machine's cores used during a measurement: by the server (gunicorn), by
    the load generator (wrk or the form script), and the rest: the kernel's network work,
    PostgreSQL when it is used, and any other process on the machine (noise)."""

    def __init__(self, server: "Gunicorn | Nginx"):
        self.server = server

    def __enter__(self):
        self.pids = [self.server.process.pid, *self.server.workers()]
        self.server_before = process_cpu_seconds(self.pids)
        self.own_before, self.busy_before = own_cpu_seconds(), machine_busy_seconds()
        self.started = time.monotonic()
        return self

    def __exit__(self, *exc):
        cores = (os.cpu_count() or 1) * (time.monotonic() - self.started)
        server = process_cpu_seconds(self.pids) - self.server_before
        load = own_cpu_seconds() - self.own_before
        busy = machine_busy_seconds() - self.busy_before
        self.server_share, self.load_share = server / cores, load / cores
        self.rest_share = max(0.0, busy - server - load) / cores

    def __str__(self):
        return f"{self.server_share:.0%} / {self.load_share:.0%} / {self.rest_share:.0%}"


def wait_for_quiet(timeout: float, limit: float = 0.1) -> bool:
    """Wait until the machine is idle but for `limit` of one core (over 1 s), at most
    `timeout` seconds. Other people's work on a shared machine skews every figure."""
    deadline, said = time.monotonic() + timeout, False
    while True:
        before = machine_busy_seconds()
        time.sleep(1)
        busy = machine_busy_seconds() - before
        if busy < limit:
            return True
        if time.monotonic() > deadline:
            log(f"the machine is still busy ({busy:.0%} of a core): measuring anyway")
            return False
        if not said:
            log(f"the machine is busy ({busy:.0%} of a core): waiting up to {timeout:g} s")
            said = True


# --- Environment ----------------------------------------------------------------------------


def production_env(database_url: str) -> dict:
    """The environment of a production start, for loopback: see README, "Configuration"."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DJANGO_", "INQUIRY_", "GUNICORN_BIND"))
        and key not in {"DATABASE_URL", "EMAIL_URL", "PORT"}
    }
    env.update(
        DJANGO_SETTINGS_MODULE="tilsite.settings",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS=f"{HOST},localhost",
        # Plain HTTP on the loopback: requests say X-Forwarded-Proto: https, as nginx's do.
        DJANGO_SECURE_SSL_REDIRECT="false",
        DATABASE_URL=database_url,
        # Nothing listens there: the task worker that sends emails is not part of the run.
        EMAIL_URL=f"smtp://{HOST}:{free_port()}",
        INQUIRY_NOTIFY_EMAILS="staff@example.org",
        # Benchmark only: the form is sent at once, and many times from one machine.
        INQUIRY_MIN_FILL_SECONDS="0",
        INQUIRY_RATE_LIMIT="100000000",
        LOG_LEVEL="WARNING",
        PYTHONPATH=str(REPO),
    )
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "GUNICORN_CMD_ARGS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def _os_name() -> str:
    with contextlib.suppress(OSError):
        found = re.search(r'^PRETTY_NAME="?([^"\n]+)', Path("/etc/os-release").read_text(), re.M)
        if found:
            return found.group(1)
    return platform.system()


def machine_facts(wrk: str) -> dict:
    meminfo = Path("/proc/meminfo").read_text()
    total_kb = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = re.search(r"model name\s*:\s*(.+)", cpuinfo)
    wrk_version = run([wrk, "--version"], capture_output=True, text=True).stdout
    commit = run(
        [GIT, "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    dirty = run(
        [GIT, "status", "--porcelain"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    import django
    import gunicorn

    return {
        "date": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": f"{os.cpu_count()} cores ({model.group(1).strip() if model else 'unknown'})",
        "ram": f"{total_kb / 1024 / 1024:.1f} GB",
        "os": f"{_os_name()}, {platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "django": django.get_version(),
        "gunicorn": gunicorn.__version__,
        "wrk": " ".join(wrk_version.split()[:2]),
        "commit": commit + (" (with uncommitted changes)" if dirty else ""),
        "load_before": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


def server_facts(env: dict) -> dict:
    printed = run(
        [GUNICORN, "--print-config", "tilsite.wsgi"],
        cwd=REPO,
        env=env | {"GUNICORN_BIND": f"{HOST}:{free_port()}"},
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    values = dict(re.findall(r"^(\w+)\s+= (.*)$", printed, re.MULTILINE))
    threads = int(values["threads"])
    worker_class = values["worker_class"]
    if worker_class == "sync" and threads > 1:
        worker_class = "gthread"  # what gunicorn runs when threads > 1
    return {
        "worker_class": worker_class,
        "workers": int(values["workers"]),
        "threads": threads,
        "keepalive": values["keepalive"],
        "preload_app": values["preload_app"],
    }


# --- PostgreSQL scratch database ------------------------------------------------------------


@contextlib.contextmanager
def postgres_scratch(database_url: str):
    """Create a scratch database next to DATABASE_URL's, yield its URL, drop it afterwards."""
    import psycopg

    parts = urlsplit(database_url)
    name = f"tilbench_{secrets.token_hex(4)}"
    admin_url = urlunsplit(parts._replace(scheme="postgresql", path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


# --- The runs ---------------------------------------------------------------------------------


def choose_pages(env: dict, css_path: str) -> list[PageRun]:
    sizes = probe(env, "pages")["pages"]
    longest = max((url for url in sizes if url != "/"), key=lambda url: sizes[url])
    return [
        PageRun("static CSS (whitenoise)", css_path, content_page=False),
        PageRun("home page", "/", content_page=True),
        PageRun("longest content page", longest, content_page=True),
        PageRun("sources", "/sources/", content_page=False),
        PageRun("question form (GET)", "/contact/", content_page=False),
        PageRun("search", SEARCHES[0], content_page=False),
        PageRun("search, misspelt", SEARCHES[1], content_page=False),
    ]


def nginx_pages(pages: list[PageRun]) -> list[PageRun]:
    """The same addresses through nginx: the stylesheet from disk (the reference), the pages
    from nginx's copy. The form is left out: nginx never keeps it (it passes it on)."""
    names = {"static CSS (whitenoise)": "static CSS (nginx, from disk)"}
    return [
        PageRun(names.get(page.name, page.name), page.path, page.content_page)
        for page in pages
        if page.path != "/contact/" and page.path not in SEARCHES
    ]


def inspect_page(port: int, page: PageRun, static_cache: dict) -> None:
    """What a browser receives for the page: bytes, and whether it is cacheable and light."""
    page.fetched = fetched = fetch(port, page.path)
    if fetched.status != 200:
        page.checks.append(f"status {fetched.status}")
        return
    page.transfer, parts = fetched.wire_bytes, [f"HTML {kib(fetched.wire_bytes)}"]
    if page.path.endswith(".css"):
        page.transfer_parts = (
            f"CSS {kib(fetched.wire_bytes)} ({fetched.headers.get('content-encoding', 'identity')})"
        )
        return
    scan = scan_page(fetched.text)
    encoding = fetched.headers.get("content-encoding", "identity")
    parts[0] += f" ({encoding})"
    for url in [*scan.stylesheets, *(src for src in scan.scripts if src != "(inline)")]:
        if url not in static_cache:
            static_cache[url] = fetch(port, url)
        sub = static_cache[url]
        page.transfer += sub.wire_bytes
        kind = "CSS" if url in scan.stylesheets else "JS"
        parts.append(f"{kind} {kib(sub.wire_bytes)}")
        if kind == "CSS" and css_uses_web_fonts(sub.text):
            page.checks.append("the stylesheet loads web fonts")
    page.transfer_parts = " + ".join(parts)
    if page.content_page:
        if fetched.set_cookies:
            page.checks.append("sets a cookie")
        if "cookie" in fetched.headers.get("vary", "").lower():
            page.checks.append("Vary: Cookie")
        if len(scan.stylesheets) > 1:
            page.checks.append(f"{len(scan.stylesheets)} stylesheets")
        if scan.scripts:
            page.checks.append(f"{len(scan.scripts)} scripts")
        if scan.preloaded_fonts:
            page.checks.append("preloads web fonts")


def run_pages(wrk: str, server: Gunicorn, pages: list, options) -> None:
    static_cache: dict = {}
    for page in pages:
        inspect_page(server.port, page, static_cache)
        if page.fetched.status != 200:
            log(f"{page.path} answered {page.fetched.status}: not loaded")
            continue
        if options.warmup:
            run_wrk(wrk, server.port, page.path, options.warmup)
        page.quiet = wait_for_quiet(options.quiet_timeout)
        log(f"{page.name}: {page.path} ({options.warmup:g} s warm-up, {options.duration:g} s)")
        with CpuMeter(server) as meter:
            page.wrk = run_wrk(wrk, server.port, page.path, options.duration)
        page.cpu = meter
    reference = pages[0].wrk.requests_per_second if pages and pages[0].wrk else 0
    for page in pages:
        if page.wrk and reference:
            page.ratio = page.wrk.requests_per_second / reference


def run_nginx_pages(wrk: str, nginx: Nginx, server: Gunicorn, pages: list, options) -> None:
    """The pages through nginx, each first read twice so that the second comes from its copy
    (X-Cache: HIT), then loaded like the others; counts the requests that reached gunicorn
    meanwhile (nginx asks it again every 10 s per page and encoding, If-None-Match)."""
    static_cache: dict = {}
    for page in pages:
        inspect_page(nginx.port, page, static_cache)
        if page.fetched.status != 200:
            log(f"{page.path} answered {page.fetched.status} through nginx: not loaded")
            continue
        if page.content_page or page.path == "/sources/":
            page.cache_status = fetch(nginx.port, page.path).headers.get("x-cache", "none")
        if options.warmup:
            run_wrk(wrk, nginx.port, page.path, options.warmup)
        page.quiet = wait_for_quiet(options.quiet_timeout)
        log(f"through nginx, {page.name}: {page.path} ({options.duration:g} s)")
        before = server.log_path.stat().st_size
        with CpuMeter(nginx) as meter:
            page.wrk = run_wrk(wrk, nginx.port, page.path, options.duration)
        page.cpu = meter
        with open(server.log_path, "rb") as log_file:
            log_file.seek(before)
            page.app_requests = sum(
                1
                for line in log_file.read().decode(errors="replace").splitlines()
                if line.startswith(f'{HOST} "')
            )
    reference = pages[0].wrk.requests_per_second if pages and pages[0].wrk else 0
    for page in pages:
        if page.wrk and reference:
            page.ratio = page.wrk.requests_per_second / reference


def run_form(server: Gunicorn, env: dict, label: str, options) -> FormRun:
    form = FormRun(label)
    if fetch(server.port, "/contact/").status != 200:
        form.skipped = "/contact/ does not answer 200"
        return form
    form.quiet = wait_for_quiet(options.quiet_timeout)
    log(f"question form on {label}: {FORM_SESSIONS} visitors at once, {options.duration:g} s")
    load = FormLoad(
        HOST,
        server.port,
        sessions=FORM_SESSIONS,
        warmup=options.warmup,
        duration=options.duration,
    )
    log_offset = server.log_path.stat().st_size
    with CpuMeter(server) as meter:
        form.result = load.run()
    form.cpu = meter
    with open(server.log_path, "rb") as log_file:
        log_file.seek(log_offset)
        form.server_ms = access_log_times(log_file.read().decode(errors="replace").splitlines())
    form.counts = probe(env, "counts")
    return form


# --- Report ---------------------------------------------------------------------------------


def _mark(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets(report: Report) -> list[list[str]]:
    rows = []
    content = [page for page in report.pages if page.content_page and page.wrk]
    for page in content:
        ok = page.ratio >= TARGET_RATIO and page.wrk.p99_ms < TARGET_P99_MS
        ok = ok and page.wrk.errors == 0
        rows.append(
            [
                f"{page.path}: ≥ 50% of static req/s, p99 < 50 ms, no errors",
                f"{page.ratio:.0%}, p99 {page.wrk.p99_ms:.1f} ms, {page.wrk.errors} errors",
                _mark(ok),
            ]
        )
        light = page.transfer <= TARGET_PAGE_BYTES and not page.checks
        rows.append(
            [
                f"{page.path}: ≤ 50 KB with CSS; no fonts/JS; ≤ 1 stylesheet; no cookie",
                f"{kib(page.transfer)}" + (f"; {', '.join(page.checks)}" if page.checks else ""),
                _mark(light),
            ]
        )
    for page in report.pages:
        if page.path in SEARCHES and page.wrk:
            ok = page.wrk.p99_ms < TARGET_SEARCH_P99_MS and page.wrk.errors == 0
            rows.append(
                [
                    f"{page.path}: p99 < 25 ms, no errors",
                    f"p99 {page.wrk.p99_ms:.1f} ms, {page.wrk.errors} errors",
                    _mark(ok),
                ]
            )
    for page in report.nginx_pages:
        if not page.content_page or page.wrk is None:
            continue
        ok = page.ratio >= TARGET_NGINX_RATIO and page.wrk.p99_ms < TARGET_NGINX_P99_MS
        ok = ok and page.wrk.errors == 0 and page.cache_status == "HIT"
        aim = "aim reached" if page.ratio >= AIM_NGINX_RATIO else "below the aim"
        rows.append(
            [
                f"{page.path} through nginx, from its copy: ≥ 50% of nginx's static req/s "
                "(aim 80%), p99 < 10 ms, no errors",
                f"{page.ratio:.0%} ({aim}), p99 {page.wrk.p99_ms:.1f} ms, {page.wrk.errors} errors"
                + ("" if page.cache_status == "HIT" else f"; X-Cache {page.cache_status}"),
                _mark(ok),
            ]
        )
    for form in report.forms:
        if form.result is None:
            rows.append([f"form on {form.database}", form.skipped, "MISSED"])
            continue
        result = form.result
        ok = form.stored_ok and form.queued_ok and result.error_count == 0
        wanted = " ≥ 100/s," if form.database == "SQLite" else ""
        if form.database == "SQLite":
            ok = ok and result.per_second >= TARGET_FORM_RATE
        rows.append(
            [
                f"form on {form.database}:{wanted} no errors, none lost",
                f"{result.per_second:.0f}/s, {result.error_count} errors, stored "
                f"{form.counts.get('inquiries')}/{result.accepted_total}, queued sends "
                f"{form.counts.get('send_tasks')}/{TASKS_PER_INQUIRY * result.accepted_total}",
                _mark(ok),
            ]
        )
    for label, sizes in report.rss.items():
        if sizes:
            largest = max(sizes.values())
            rows.append(
                [
                    f"worker RSS < 120 MB after load ({label})",
                    f"largest {largest:.0f} MB",
                    _mark(largest < TARGET_RSS_MB),
                ]
            )
    return rows


def nginx_section(report: Report) -> list[str]:
    if not report.nginx_pages:
        return []
    return [
        "## Through nginx (deploy/nginx/, the page cache)",
        "",
        f"nginx {report.machine.get('nginx', '')} with the committed configuration "
        "(rehearsal.conf.in around tilsite-http.conf and tilsite-server.conf: plain HTTP on "
        "loopback, no TLS) in front of the same gunicorn. The reference is the stylesheet nginx "
        "serves from disk (gzip_static), the fastest thing this machine serves; the pages come "
        "from nginx's copy, asked again of gunicorn every 10 s (If-None-Match).",
        "",
        markdown_table(
            [
                "page",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "vs static (nginx)",
                "reached gunicorn",
                "CPU nginx / wrk / rest",
                "received (compressed)",
            ],
            [
                [
                    f"{page.name} `{page.path}`",
                    f"{page.wrk.requests_per_second:,.0f}" if page.wrk else "-",
                    f"{page.wrk.p50_ms:.2f}" if page.wrk else "-",
                    f"{page.wrk.p99_ms:.2f}" if page.wrk else "-",
                    page.wrk.errors if page.wrk else "-",
                    f"{page.ratio:.0%}" if page.wrk else "-",
                    "-" if page.app_requests is None else page.app_requests,
                    f"{page.cpu}{'' if page.quiet else ' (busy)'}" if page.cpu else "-",
                    f"{kib(page.transfer)}: {page.transfer_parts}" if page.transfer else "-",
                ]
                for page in report.nginx_pages
            ],
        ),
        "",
        "Reached gunicorn: requests nginx passed to the app during the measured seconds (its "
        "revalidations), from gunicorn's access log.",
        "",
    ]


def render(report: Report) -> str:
    machine, server = report.machine, report.server
    lines = [
        "# Benchmark results",
        "",
        f"Run {machine['date']} by `make bench` (bench/run.py), commit {machine['commit']}.",
        "",
        f"- Machine: {machine['cpu']}, {machine['ram']} RAM, {machine['os']}; load average "
        f"before the run {machine['load_before']}",
        f"- Software: Python {machine['python']}, Django {machine['django']}, gunicorn "
        f"{machine['gunicorn']}, {machine['wrk']}",
        f"- gunicorn (gunicorn.conf.py): {server['workers']} x {server['worker_class']}"
        + (f", {server['threads']} threads each" if server["threads"] > 1 else "")
        + f", keepalive {server['keepalive']} s, preload_app {server['preload_app']}",
        f"- Load: wrk, {THREADS} threads, {CONNECTIONS} connections, "
        f"`Accept-Encoding: gzip, br`; wrk runs on the same cores as the server.",
        "",
        "## Pages",
        "",
        markdown_table(
            [
                "page",
                "req/s",
                "p50 ms",
                "p99 ms",
                "errors",
                "vs static",
                "CPU server / wrk / rest",
                "received (compressed)",
            ],
            [
                [
                    f"{page.name} `{page.path}`",
                    f"{page.wrk.requests_per_second:,.0f}" if page.wrk else "-",
                    f"{page.wrk.p50_ms:.1f}" if page.wrk else "-",
                    f"{page.wrk.p99_ms:.1f}" if page.wrk else "-",
                    page.wrk.errors if page.wrk else "-",
                    f"{page.ratio:.0%}" if page.wrk else "-",
                    f"{page.cpu}{'' if page.quiet else ' (busy)'}" if page.cpu else "-",
                    f"{kib(page.transfer)}: {page.transfer_parts}" if page.transfer else "-",
                ]
                for page in report.pages
            ],
        ),
        "",
        "CPU: shares of the machine's cores used during the measured seconds by gunicorn "
        "(master and workers), by the load generator (wrk, or the form script), and by the "
        "rest: the kernel's loopback network work and any other process (noise from outside "
        'the benchmark; "busy": the machine was still busy when the measurement began). '
        "Errors: socket errors plus responses that are not 2xx or 3xx (wrk's count); each "
        "address was checked to answer 200 before its load. Received: "
        "the bodies a browser gets for the page and what it loads (`Accept-Encoding: gzip, "
        "br`), headers not counted.",
        "",
        *nginx_section(report),
        "## Question form",
        "",
        "Each submission is a new visitor: GET /contact/ (CSRF cookie, token, signed form "
        f"stamp), then POST of valid, varied answers; {FORM_SESSIONS} visitors at once. "
        "Accepted = 302 to the confirmation page. For this run only: "
        "`INQUIRY_MIN_FILL_SECONDS=0`, `INQUIRY_RATE_LIMIT=100000000`.",
        "",
        markdown_table(
            [
                "database",
                "accepted/s",
                "submission p50 / p99 ms",
                "POST p50 / p99 ms",
                "server ms GET / POST (median, whole ms)",
                "errors",
                "stored / accepted",
                f"queued email sends / {TASKS_PER_INQUIRY}xaccepted",
                "CPU server / script / rest",
            ],
            [
                [form.database, "-", "-", "-", "-", form.skipped, "-", "-", "-"]
                if form.result is None
                else [
                    form.database,
                    f"{form.result.per_second:.0f}",
                    f"{median(form.result.submission_ms):.0f} / "
                    f"{percentile(form.result.submission_ms, 0.99):.0f}",
                    f"{median(form.result.post_ms):.0f} / "
                    f"{percentile(form.result.post_ms, 0.99):.0f}",
                    f"{median(form.server_ms.get('GET /contact/ 200', [])):.1f} / "
                    f"{median(form.server_ms.get('POST /contact/ 302', [])):.1f}",
                    (", ".join(f"{kind}: {n}" for kind, n in form.result.errors.items()) or "0"),
                    f"{form.counts.get('inquiries')} / {form.result.accepted_total}",
                    f"{form.counts.get('send_tasks')} / "
                    f"{TASKS_PER_INQUIRY * form.result.accepted_total}",
                    f"{form.cpu}{'' if form.quiet else ' (busy)'}",
                ]
                for form in report.forms
            ],
        ),
        "",
        "## Memory",
        "",
        markdown_table(
            ["after the load on", "RSS of each worker", "PSS of each worker"],
            [
                [
                    label,
                    ", ".join(f"{mb:.0f} MB" for mb in sizes.values()) or "-",
                    ", ".join(f"{mb:.0f} MB" for mb in report.pss.get(label, {}).values()) or "-",
                ]
                for label, sizes in report.rss.items()
            ],
        ),
        "",
        "## Targets",
        "",
        markdown_table(["target", "measured", ""], targets(report)),
    ]
    if report.notes:
        lines += ["", "## Notes", "", *(f"- {note}" for note in report.notes)]
    return "\n".join(lines) + "\n"


# --- Main -------------------------------------------------------------------------------------


def parse_options(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10, help="seconds per load (10)")
    parser.add_argument("--warmup", type=float, default=2, help="seconds of warm-up (2)")
    parser.add_argument("--output", default="bench/results/latest.md", help="markdown file")
    parser.add_argument("--skip-form", action="store_true", help="pages only")
    parser.add_argument("--skip-pages", action="store_true", help="the form only")
    parser.add_argument(
        "--skip-nginx", action="store_true", help="not the pages through nginx's page cache"
    )
    parser.add_argument(
        "--quiet-timeout",
        type=float,
        default=30,
        help="before each load, wait up to this many seconds for other processes to go idle",
    )
    return parser.parse_args(argv)


def benchmark(options: argparse.Namespace, server_env: dict | None = None) -> Report:
    """One complete run; server_env overrides gunicorn's environment (bench/tune.py)."""
    wrk = ensure_wrk()
    machine = machine_facts(wrk)
    database_url = os.environ.get("DATABASE_URL", "")
    with_postgres = database_url.startswith(("postgres://", "postgresql://", "pgsql://"))
    notes = []
    workdir = Path(tempfile.mkdtemp(prefix="tilbench-"))
    try:
        env = production_env(f"sqlite:///{workdir / 'bench.sqlite3'}") | (server_env or {})
        log(f"set-up in {workdir}: migrate a fresh SQLite database, collectstatic")
        run_django(env, "manage.py", "migrate", "--noinput")
        run_django(env, "manage.py", "collectstatic", "--noinput", "--verbosity", "0")
        manifest = json.loads((REPO / "staticfiles" / "staticfiles.json").read_text())
        css_path = "/static/" + manifest["paths"]["css/site.css"]
        server_info = server_facts(env)
        pages = [] if options.skip_pages else choose_pages(env, css_path)
        forms, rss, pss = [], {}, {}

        through_nginx: list[PageRun] = []
        with Gunicorn(env, free_port(), workdir / "gunicorn-sqlite.log") as server:
            log(f"gunicorn: {server_info} on port {server.port}, workers {server.workers()}")
            run_pages(wrk, server, pages, options)
            if pages and not options.skip_nginx:
                through_nginx = nginx_pages(pages)
                with Nginx(server.port) as nginx:
                    machine["nginx"] = nginx.version
                    log(f"nginx {nginx.version} (deploy/nginx/) on port {nginx.port}")
                    run_nginx_pages(wrk, nginx, server, through_nginx, options)
            if not options.skip_form:
                forms.append(run_form(server, env, "SQLite", options))
            rss["SQLite run"] = server.rss_mb()
            pss["SQLite run"] = server.pss_mb()

        if with_postgres and not options.skip_form:
            with postgres_scratch(database_url) as scratch_url:
                pg_env = production_env(scratch_url) | (server_env or {})
                log("PostgreSQL: migrate a scratch database")
                run_django(pg_env, "manage.py", "migrate", "--noinput")
                with Gunicorn(pg_env, free_port(), workdir / "gunicorn-pg.log") as server:
                    forms.append(run_form(server, pg_env, "PostgreSQL", options))
                    rss["PostgreSQL run"] = server.rss_mb()
                    pss["PostgreSQL run"] = server.pss_mb()
        elif not with_postgres:
            notes.append(
                "PostgreSQL not measured: set DATABASE_URL=postgres://... to add it "
                "(a scratch database is created next to it and dropped)."
            )
        machine["load_after"] = "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
        notes.append(f"Load average after the run: {machine['load_after']}.")
        return Report(machine, server_info, pages, forms, rss, pss, notes, through_nginx)
    except BaseException:
        for path in sorted(workdir.glob("gunicorn-*.log")):
            lines = path.read_text(errors="replace").splitlines()
            tail = [line for line in lines if not line.startswith(f'{HOST} "')][-30:]
            log(f"{path.name}, without the access log:\n" + "\n".join(tail))
        raise
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that gunicorn and the scratch database are cleaned up."""

    def handler(signum, frame):
        raise SystemExit(f"stopped by signal {signum}")

    signal.signal(signal.SIGTERM, handler)


def main(argv: list[str] | None = None) -> int:
    stop_on_sigterm()
    options = parse_options(argv)
    text = render(benchmark(options))
    print()
    print(text)
    output = REPO / options.output
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text)
    log(f"written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

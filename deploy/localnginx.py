"""The committed nginx configuration, run on loopback: for `make rehearsal` and `make bench`.

deploy/nginx/rehearsal.conf.in wraps the production site's shared parts (tilsite-http.conf and
tilsite-server.conf, page cache included) in a plain-HTTP server on 127.0.0.1. `write_config`
fills it in inside a folder of its own (logs, temporary files, the page cache), and
`command` runs nginx with -c and -p there, so the system's nginx and its files are never
touched. `find_nginx` installs Debian's nginx with apt-get when it is missing.

Used by deploy/rehearsal.py (run as a script: `import localnginx`) and bench/run.py
(`from deploy import localnginx`); it imports nothing from either.
"""

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

DEPLOY_DIR = Path(__file__).resolve().parent
PLACEHOLDER = re.compile(r"@([A-Z0-9_]+)@")


class NginxError(Exception):
    """nginx is missing and cannot be installed, or its configuration is refused."""


def _as_root(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return command
    sudo = shutil.which("sudo")
    if not sudo:
        raise NginxError(f"need root (or sudo) to run: {' '.join(command)}")
    return [sudo, *command]


def _run(command: list[str], **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(  # noqa: S603 (fixed commands, absolute paths)
        command, capture_output=True, text=True, check=False, **kwargs
    )
    if result.returncode != 0:
        output = (result.stdout + result.stderr)[-3000:]
        raise NginxError(f"{' '.join(command)} failed ({result.returncode}):\n{output}")
    return result


def find_nginx(say: Callable[[str], None] = print) -> str:
    """The nginx binary; Debian's package is installed first if there is none."""
    found = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
    if found:
        return found
    apt = shutil.which("apt-get")
    if not apt:
        raise NginxError("nginx is not installed and apt-get is not available")
    say("nginx is missing: installing Debian's nginx with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    try:
        _run(_as_root([apt, "install", "-y", "-qq", "nginx"]), env=env)
    except NginxError:
        _run(_as_root([apt, "update", "-qq"]), env=env)
        _run(_as_root([apt, "install", "-y", "-qq", "nginx"]), env=env)
    found = shutil.which("nginx", path="/usr/sbin:/usr/bin:/sbin")
    if not found:
        raise NginxError("nginx was installed but cannot be found")
    return found


def mime_types(nginx: str) -> str:
    for candidate in (Path(nginx).resolve().parent.parent / "etc/nginx", Path("/etc/nginx")):
        if (candidate / "mime.types").exists():
            return str(candidate / "mime.types")
    raise NginxError("cannot find nginx's mime.types")


def render_config(values: dict[str, str]) -> str:
    template = (DEPLOY_DIR / "nginx" / "rehearsal.conf.in").read_text()
    missing = sorted(set(PLACEHOLDER.findall(template)) - values.keys())
    if missing:
        raise NginxError(f"rehearsal.conf.in needs values for: {', '.join(missing)}")
    return PLACEHOLDER.sub(lambda match: values[match.group(1)], template)


def write_config(
    nginx: str, prefix: Path, static_root: Path, http_port: int, web_ports: list[int]
) -> Path:
    """Fill in rehearsal.conf.in under prefix (made with logs/ and tmp/), check it with
    nginx -t, and return its path. web_ports: the two gunicorn instances (may be one twice)."""
    (prefix / "logs").mkdir(parents=True, exist_ok=True)
    for name in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        (prefix / "tmp" / name).mkdir(parents=True, exist_ok=True)
    config = prefix / "nginx.conf"
    config.write_text(
        render_config(
            {
                "PREFIX": str(prefix),
                "DEPLOY_DIR": str(DEPLOY_DIR),
                "MIME_TYPES": mime_types(nginx),
                "STATIC_ROOT": str(static_root),
                "HTTP_PORT": str(http_port),
                "WEB1_PORT": str(web_ports[0]),
                "WEB2_PORT": str(web_ports[1]),
            }
        )
    )
    _run([*command(nginx, config), "-t", "-q"])
    return config


def command(nginx: str, config: Path) -> list[str]:
    """nginx in the foreground (daemon off in the configuration) with its own prefix."""
    prefix = config.parent
    error_log = prefix / "logs" / "nginx-error.log"
    return [nginx, "-c", str(config), "-p", f"{prefix}/", "-e", str(error_log)]

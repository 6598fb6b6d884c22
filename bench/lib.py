"""Pure helpers of the benchmark: reading wrk's output, forms and pages; writing tables.

Nothing here starts a process or opens a socket, so tests/test_bench.py can check it quickly.
"""

import math
import re
import statistics
from dataclasses import dataclass, field
from html import unescape
from html.parser import HTMLParser

_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0, "h": 3_600_000.0}
_DURATION = r"([\d.]+)(us|ms|s|m|h)"


# Script elements that hold data for search engines, not code a browser runs.
DATA_BLOCK_TYPES = {"application/ld+json"}


@dataclass
class WrkResult:
    requests: int
    seconds: float
    requests_per_second: float
    p50_ms: float
    p99_ms: float
    non_2xx_3xx: int = 0
    socket_errors: dict = field(default_factory=dict)

    @property
    def errors(self) -> int:
        return self.non_2xx_3xx + sum(self.socket_errors.values())


def _duration_ms(value: str, unit: str) -> float:
    return float(value) * _UNITS[unit]


def parse_wrk(output: str) -> WrkResult:
    """Read what `wrk --latency` printed: totals, the 50th and 99th percentiles, errors."""
    totals = re.search(r"(\d+) requests in " + _DURATION, output)
    rate = re.search(r"Requests/sec:\s+([\d.]+)", output)
    p50 = re.search(r"^\s*50(?:\.0+)?%\s+" + _DURATION, output, re.MULTILINE)
    p99 = re.search(r"^\s*99(?:\.0+)?%\s+" + _DURATION, output, re.MULTILINE)
    if not (totals and rate and p50 and p99):
        raise ValueError(f"unexpected wrk output (was --latency given?):\n{output}")
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", output
    )
    socket_errors = (
        dict(zip(("connect", "read", "write", "timeout"), map(int, sockets.groups()), strict=True))
        if sockets
        else {}
    )
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    return WrkResult(
        requests=int(totals.group(1)),
        seconds=_duration_ms(totals.group(2), totals.group(3)) / 1000,
        requests_per_second=float(rate.group(1)),
        p50_ms=_duration_ms(*p50.groups()),
        p99_ms=_duration_ms(*p99.groups()),
        non_2xx_3xx=int(bad.group(1)) if bad else 0,
        socket_errors=socket_errors,
    )


class _PageScan(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.inputs: dict[str, str] = {}
        self.stylesheets: list[str] = []
        self.scripts: list[str] = []
        self.preloaded_fonts: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = {name: value or "" for name, value in attrs}
        if tag in {"input", "textarea"} and attributes.get("name"):
            self.inputs[attributes["name"]] = attributes.get("value", "")
        elif tag == "link":
            rel = attributes.get("rel", "").lower().split()
            if "stylesheet" in rel:
                self.stylesheets.append(attributes.get("href", ""))
            if "preload" in rel and attributes.get("as") == "font":
                self.preloaded_fonts.append(attributes.get("href", ""))
        elif tag == "script" and attributes.get("type") not in DATA_BLOCK_TYPES:
            self.scripts.append(attributes.get("src", "(inline)"))


def scan_page(html: str) -> _PageScan:
    """Form inputs (name: value), stylesheets, scripts and preloaded fonts of an HTML page."""
    scan = _PageScan()
    scan.feed(html)
    scan.close()
    return scan


_HIDDEN_INPUT = re.compile(r"<input\b[^>]*\btype=\"hidden\"[^>]*>", re.IGNORECASE)
_ATTRIBUTE = re.compile(r"\b(name|value)=\"([^\"]*)\"")


def hidden_inputs(html: str) -> dict[str, str]:
    """name: value of a page's hidden inputs (cheaper than scan_page, for the load script)."""
    found = {}
    for tag in _HIDDEN_INPUT.findall(html):
        attributes = dict(_ATTRIBUTE.findall(tag))
        if "name" in attributes:
            found[attributes["name"]] = unescape(attributes.get("value", ""))
    return found


_ACCESS_LINE = re.compile(
    r'^\S+ "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}) \S+ (?P<ms>\d+)ms$'
)


def access_log_times(lines: list[str]) -> dict[str, list[int]]:
    """Server times (ms) by "METHOD path status", from gunicorn's access log in the format of
    gunicorn.conf.py: '%(h)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'."""
    times: dict[str, list[int]] = {}
    for line in lines:
        match = _ACCESS_LINE.match(line.strip())
        if match:
            key = f"{match['method']} {match['path']} {match['status']}"
            times.setdefault(key, []).append(int(match["ms"]))
    return times


def cookie_value(set_cookie_headers: list[str], name: str) -> str | None:
    """The value a response's Set-Cookie headers give a cookie, or None."""
    for header in set_cookie_headers:
        first = header.split(";", 1)[0]
        key, _, value = first.partition("=")
        if key.strip() == name:
            return value.strip()
    return None


def css_uses_web_fonts(css: str) -> bool:
    return "@font-face" in css or "@import" in css


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (0 for no values)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = min(len(ordered), max(1, math.ceil(fraction * len(ordered))))
    return ordered[rank - 1]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else 0.0


def kib(size: int) -> str:
    return f"{size / 1024:.1f} KB"


def markdown_table(headers: list[str], rows: list[list]) -> str:
    """A GitHub-flavoured markdown table, columns padded so it also reads as plain text."""
    cells = [[str(cell) for cell in row] for row in [headers, *rows]]
    widths = [max(len(row[index]) for row in cells) for index in range(len(headers))]

    def line(row):
        return (
            "| "
            + " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))
            + " |"
        )

    separator = "| " + " | ".join("-" * width for width in widths) + " |"
    return "\n".join([line(cells[0]), separator, *(line(row) for row in cells[1:])])

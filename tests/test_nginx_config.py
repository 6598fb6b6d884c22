"""The page cache's rules in deploy/nginx/tilsite-http.conf, read from the committed file and
applied as nginx applies a map (exact strings first, then regular expressions in order, then
the default). What nginx itself does with them is rehearsed by `make rehearsal`; these need no
nginx, and fail as soon as an edit lets the form, search or a personal response be kept."""

import re

import pytest
from django.conf import settings

HTTP_CONF = settings.BASE_DIR / "deploy" / "nginx" / "tilsite-http.conf"
SERVER_CONF = settings.BASE_DIR / "deploy" / "nginx" / "tilsite-server.conf"
MAP_BLOCK = re.compile(r"^map\s+(\S+)\s+\$(\w+)\s*\{(.*?)^\}", re.MULTILINE | re.DOTALL)
ENTRY = re.compile(r'^\s*("(?:[^"\\]|\\.)*"|\S+)\s+("(?:[^"\\]|\\.)*"|\S+)\s*;')


def unquote(text: str) -> str:
    return text[1:-1] if text.startswith('"') else text


def nginx_map(name: str):
    """The map that sets $name, as a function of its source string."""
    blocks = {found.group(2): found.group(3) for found in MAP_BLOCK.finditer(HTTP_CONF.read_text())}
    exact, patterns, default = {}, [], ""
    for line in blocks[name].splitlines():
        entry = ENTRY.match(line)
        if not entry or line.strip().startswith("#"):
            continue
        key, value = unquote(entry.group(1)), unquote(entry.group(2))
        if key == "default":
            default = value
        elif key.startswith("~*"):
            patterns.append((re.compile(key[2:], re.IGNORECASE), value))
        elif key.startswith("~"):
            patterns.append((re.compile(key[1:]), value))
        else:
            exact[key] = value

    def apply(source: str) -> str:
        if source in exact:
            return exact[source]
        return next((value for pattern, value in patterns if pattern.search(source)), default)

    return apply


@pytest.mark.parametrize(
    ("path", "kept_as"),
    [
        ("/", "page"),
        ("/side-effects/", "page"),
        ("/sources/", "page"),
        ("/contacts-and-support/", "page"),
        ("/es/", "page"),
        ("/es/efectos-secundarios/", "page"),
        ("/sitemap.xml", "sitemap"),
        # Never kept: the form and its pages, search, feedback, the admin, everything else.
        ("/contact/", ""),
        ("/contact/thank-you/", ""),
        ("/contact/status/abc123/", ""),
        ("/es/contact/", ""),
        ("/search/", ""),
        ("/es/search/", ""),
        ("/feedback/", ""),
        ("/feedback/comment/", ""),
        ("/admin/", ""),
        ("/admin/login/", ""),
        ("/healthz", ""),
        ("/robots.txt", ""),
        ("/static/css/site.css", ""),
        ("/side-effects", ""),
        ("/a/b/", ""),
    ],
)
def test_which_addresses_may_be_kept(path, kept_as):
    assert nginx_map("tilsite_cache_class")(path) == kept_as


@pytest.mark.parametrize(
    ("accept_encoding", "asked_for"),
    [
        ("gzip, deflate, br", "br"),
        ("gzip, deflate, br, zstd", "br"),
        ("BR;q=0.5, gzip;q=0.4", "br"),
        ("br;q=0, gzip", "gzip"),
        ("gzip;q=1.0, identity", "gzip"),
        ("deflate, gzip ;q=0.8", "gzip"),
        ("gzip;q=0, deflate", "identity"),
        ("identity", "identity"),
        ("", "identity"),
        ("brotli, xgzip", "identity"),
    ],
)
def test_one_encoding_per_copy(accept_encoding, asked_for):
    assert nginx_map("tilsite_encoding")(accept_encoding) == asked_for


@pytest.mark.parametrize(
    ("source", "refused"),
    [
        ("page|public, max-age=300", "0"),  # what tilsite/rendered.py sends
        ("page|max-age=300, public", "0"),
        ("page|max-age=0, no-cache, no-store, must-revalidate, private", "1"),  # never_cache
        ("page|public, no-cache", "1"),
        ("page|max-age=300", "1"),  # not said to be public
        ("page|", "1"),
        ("sitemap|", "0"),  # Django's sitemap view sends no Cache-Control
        ("sitemap|private", "1"),
        ("|public, max-age=300", "1"),  # an address that is never kept
    ],
)
def test_only_responses_that_say_public_are_kept(source, refused):
    assert nginx_map("tilsite_not_public")(source) == refused


@pytest.mark.parametrize(
    ("vary", "refused"),
    [
        ("", "0"),
        ("Accept-Encoding", "0"),
        ("accept-encoding", "0"),
        ("Accept-Encoding, Cookie", "1"),
        ("Cookie", "1"),
        ("Accept-Language", "1"),
        ("*", "1"),
    ],
)
def test_responses_that_vary_on_more_than_the_encoding_are_not_kept(vary, refused):
    assert nginx_map("tilsite_varies_on_more")(vary) == refused


def test_kept_pages_tell_browsers_and_cdns_a_minute_in_all():
    cache_control = nginx_map("tilsite_cache_control")
    told = cache_control("page|00|")
    assert told == cache_control("sitemap|00|")
    seconds = {name: int(value) for name, value in re.findall(r"([\w-]+)=(\d+)", told)}
    # A release reaches every reader within a minute (deploy/README.md): nginx's copy, then a
    # shared cache's (s-maxage), then a browser's (max-age).
    at_nginx = int(re.search(r"proxy_cache_valid 200 (\d+)s;", SERVER_CONF.read_text()).group(1))
    assert at_nginx + seconds["s-maxage"] + seconds["max-age"] <= 60
    assert seconds["stale-if-error"] >= 3600
    # A response that sets a cookie, is not public, or varies on more keeps the app's own.
    for source in ("page|00|csrftoken=x; Path=/", "page|10|", "page|01|", "|00|"):
        assert cache_control(source) == "$upstream_http_cache_control"

"""Content pages are compressed once (brotli, gzip) and served by the request's Accept-Encoding."""

import gzip
from unittest import mock

import brotli
import pytest

from tilsite.rendered import choose_encoding


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("", "identity"),
        ("gzip, deflate, br, zstd", "br"),
        ("gzip, br", "br"),
        ("gzip", "gzip"),
        ("deflate", "identity"),
        ("br;q=0, gzip", "gzip"),
        ("br;q=0.5, gzip;q=0.8", "gzip"),
        ("BR", "br"),
        ("*", "br"),
        ("*, br;q=0", "gzip"),
        ("gzip;q=0, br;q=0", "identity"),
        ("gzip;q=0.2, identity", "identity"),
        ("gzip;q=nonsense", "identity"),
    ],
)
def test_choose_encoding_follows_q_values(header, expected):
    assert choose_encoding(header) == expected


@pytest.mark.parametrize(
    ("header", "encoding", "decompress"),
    [("gzip, deflate, br", "br", brotli.decompress), ("gzip", "gzip", gzip.decompress)],
)
def test_a_page_is_sent_compressed_when_the_browser_accepts_it(
    site, client, header, encoding, decompress
):
    site.page("long", "A sentence that repeats. " * 200)
    plain = client.get("/long/")
    packed = client.get("/long/", headers={"accept-encoding": header})
    assert plain.get("Content-Encoding") is None
    assert packed["Content-Encoding"] == encoding
    assert packed["Vary"] == plain["Vary"] == "Accept-Encoding"
    assert decompress(packed.content) == plain.content
    assert int(packed["Content-Length"]) == len(packed.content) < len(plain.content) / 3
    assert packed["ETag"] != plain["ETag"]  # one validator per representation
    assert "Set-Cookie" not in packed and "Cookie" not in packed["Vary"]


def test_each_representation_revalidates_with_its_own_etag(site, client):
    site.page("cached")
    headers = {"accept-encoding": "gzip, br"}
    etag = client.get("/cached/", headers=headers)["ETag"]
    again = client.get("/cached/", headers={**headers, "if-none-match": etag})
    assert again.status_code == 304
    assert (again["ETag"], again["Vary"]) == (etag, "Accept-Encoding")
    # The brotli ETag does not validate the uncompressed page, which must be sent in full.
    assert client.get("/cached/", headers={"if-none-match": etag}).status_code == 200


def test_compression_happens_once_per_page(site, client):
    site.page("once", "Words. " * 100)
    headers = {"accept-encoding": "br"}
    client.get("/once/", headers=headers)
    with mock.patch("brotli.compress", side_effect=AssertionError("compressed again")):
        for _ in range(3):
            assert client.get("/once/", headers=headers)["Content-Encoding"] == "br"


def test_head_sends_the_headers_of_the_compressed_page(site, client):
    site.page("head")
    get = client.get("/head/", headers={"accept-encoding": "gzip"})
    head = client.head("/head/", headers={"accept-encoding": "gzip"})
    assert head.content == b""
    assert head["Content-Length"] == get["Content-Length"]
    assert head["Content-Encoding"] == "gzip"

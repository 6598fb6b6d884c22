"""The results page at /search/: what it shows, what it sends, hostile queries, and the count
of searches that found nothing."""

import datetime
import re

import pytest
from django.contrib.auth.models import User
from django.db import DatabaseError
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from search import index as search_index
from search.models import UnfoundSearch, normalise_query, top_unfound

pytestmark = pytest.mark.django_db


def main_html(response) -> str:
    html = response.content.decode()
    return html[html.index("<main") : html.index("</main>")]


# --- The page -------------------------------------------------------------------------------


def test_results_page_lists_pages_with_title_section_and_marked_snippet(client):
    response = client.get("/search/", {"q": "side effects"})
    assert response.status_code == 200
    html = main_html(response)
    assert 'value="side effects"' in html
    first = html[html.index('<li class="search-result">') :]
    assert '<a href="/side-effects/">Side effects of TIL therapy</a>' in first.split("</li>")[0]
    assert "Treatment" in first.split("</li>")[0]
    assert "<mark>side</mark> <mark>effects</mark>" in first.split("</li>")[0]
    assert "<title>Search results for “side effects”" in response.content.decode()


def test_a_misspelling_shows_the_corrected_results_and_a_way_back(client):
    html = main_html(client.get("/search/", {"q": "side efects"}))
    assert "Showing results for <strong>side effects</strong>" in html
    assert 'href="/search/?q=side%20efects&amp;exact=1"' in html
    assert html.index('href="/side-effects/"') < html.index('class="search-pager"')


def test_exact_runs_the_query_as_typed(client):
    html = main_html(client.get("/search/", {"q": "lymphocites", "exact": "1"}))
    assert "We could not find “lymphocites”" in html
    assert "Showing results for" not in html


def test_an_unclear_correction_is_a_did_you_mean_link(client, site):
    site.page("salt", "Salt in the food.", title="Salt")
    site.page("malt", "Malt in the drink.", title="Malt")
    html = main_html(client.get("/search/", {"q": "yalt"}))
    assert re.search(r'Did you mean <a href="/search/\?q=(salt|malt)">(salt|malt)</a>\?', html)


def test_a_glossary_term_shows_its_definition_before_the_results(client):
    html = main_html(client.get("/search/", {"q": "biopsy"}))
    definition = html.index('class="search-definition"')
    assert definition < html.index('class="search-results"')
    assert '<a href="/glossary/#biopsy">“Biopsy” in the glossary</a>' in html
    assert "Taking a piece of tissue" in html


def test_no_results_page_suggests_the_main_pages_and_asking(client):
    response = client.get("/search/", {"q": "xylophone quintet"})
    assert response.status_code == 200
    html = main_html(response)
    assert "We could not find “xylophone quintet” on this site." in html
    assert '<a href="/side-effects/">' in html  # a page of the main menu
    assert '<a href="/contact/">ask us a question</a>' in html
    assert '<a href="/glossary/">glossary</a>' in html
    assert "<title>No results for “xylophone quintet”" in response.content.decode()


def test_an_empty_query_shows_the_search_box_only(client):
    for params in ({}, {"q": ""}, {"q": "   "}):
        response = client.get("/search/", params)
        assert response.status_code == 200
        assert 'class="search-form"' in main_html(response)
        assert "search-result" not in main_html(response)
    assert UnfoundSearch.objects.count() == 0


def test_results_come_ten_to_a_page_with_links_between_pages(client):
    first = main_html(client.get("/search/", {"q": "TIL"}))
    assert first.count('<li class="search-result">') == search_index.RESULTS_PER_PAGE
    assert 'href="/search/?q=TIL&amp;page=2" rel="next"' in first
    second = main_html(client.get("/search/", {"q": "TIL", "page": "2"}))
    assert 'start="11"' in second
    assert 'href="/search/?q=TIL&amp;page=1" rel="prev"' in second
    assert set(re.findall(r'search-result__title"><a href="([^"]+)"', first)).isdisjoint(
        re.findall(r'search-result__title"><a href="([^"]+)"', second)
    )


@pytest.mark.parametrize("page", ["0", "-1", "abc", "99999", "9" * 50, "½", "1.5", ""])
def test_odd_page_numbers_give_a_page_of_results(client, page):
    response = client.get("/search/", {"q": "TIL", "page": page})
    assert response.status_code == 200
    assert '<li class="search-result">' in response.content.decode()


def test_the_header_of_every_page_has_a_plain_get_search_form(client):
    for path in ("/", "/side-effects/", "/sources/", "/contact/", "/no-such-page/"):
        html = client.get(path).content.decode()
        header = html[html.index("<header") : html.index("</header>")]
        assert '<form class="site-search" action="/search/" method="get" role="search">' in header
        assert '<label class="visually-hidden" for="site-search-query">Search this site' in header
        assert 'name="q"' in header
        assert "csrfmiddlewaretoken" not in header


def test_a_content_page_stays_the_same_for_everyone_with_the_search_box(client):
    first = client.get("/side-effects/")
    second = client.get("/side-effects/")
    assert first["ETag"] == second["ETag"]
    assert not first.cookies


# --- What it sends --------------------------------------------------------------------------


def test_results_pages_set_no_cookie_and_are_for_browsers_only(client):
    for query in ("side effects", "xylophone", ""):
        response = client.get("/search/", {"q": query})
        assert not response.cookies
        assert "Set-Cookie" not in response
        directives = {d.strip() for d in response["Cache-Control"].split(",")}
        assert directives == {"private", "max-age=300"}
        assert response["X-Robots-Tag"] == "noindex"
        assert '<meta name="robots" content="noindex">' in response.content.decode()
        assert "unsafe-inline" not in response["Content-Security-Policy"]


def test_a_post_is_refused(client):
    assert client.post("/search/", {"q": "side effects"}).status_code == 405


def test_a_head_request_gets_the_headers_without_a_body_and_is_not_counted(client):
    response = client.head("/search/", {"q": "xylophone"})
    assert response.status_code == 200
    assert response.content == b""
    assert int(response["Content-Length"]) > 0
    assert UnfoundSearch.objects.count() == 0


def test_the_same_search_is_rendered_once_and_still_counted(client, monkeypatch):
    client.get("/search/", {"q": "Zzyzx road"})
    calls = []
    real = search_index.SearchIndex.search
    monkeypatch.setattr(
        search_index.SearchIndex, "search", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    client.get("/search/", {"q": "  Zzyzx   road "})  # the same query once cleaned: kept
    assert calls == []
    again = client.get("/search/", {"q": "ZZYZX ROAD"})  # shown as typed: rendered anew
    assert len(calls) == 1
    assert 'value="ZZYZX ROAD"' in again.content.decode()
    assert UnfoundSearch.objects.get(query="zzyzx road").count == 3


def test_in_development_nothing_is_kept(client, settings, monkeypatch):
    settings.CONTENT_RELOAD = True
    calls = []
    real = search_index.SearchIndex.search
    monkeypatch.setattr(
        search_index.SearchIndex, "search", lambda *a, **k: calls.append(a) or real(*a, **k)
    )
    client.get("/search/", {"q": "biopsy"})
    client.get("/search/", {"q": "biopsy"})
    assert len(calls) == 2


# --- Hostile queries ------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    '"><img src=x onerror=alert(1)>',
    "' OR 1=1 --",
    '" OR "" = "',
    "side* NEAR(effects)",
    "{title}: side",
    "a" * 10_000,
    "side " * 500,
    "\x00\x01\x02\x1b[31m",
    "\u202egnp.exe",
    "e\u0301\u0301\u0301\u0301",
    "\U0001f600" * 50,
    "!!!",
    "...",
    "-",
    "%00",
    "\ue000mark\ue001",
    "ﷺ" * 100,
]


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_queries_get_a_normal_page_with_the_query_escaped(client, query):
    client.raise_request_exception = True
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "\x00" not in html
    assert html.count("<mark>") == html.count("</mark>")
    assert main_html(response).count("<form") == 1


def test_a_query_string_that_is_not_utf8_is_harmless(client):
    client.raise_request_exception = True
    response = client.get("/search/?q=%ff%fe%00side&page=%ff&exact=%00")
    assert response.status_code == 200


def test_several_q_values_use_one(client):
    response = client.get("/search/?q=biopsy&q=%3Cb%3E")
    assert response.status_code == 200
    assert "<b>" not in main_html(response)


@hypothesis_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(query=st.text(max_size=300))
def test_any_text_gives_a_page_and_never_echoes_markup(client, query):
    client.raise_request_exception = True
    response = client.get("/search/", {"q": query})
    assert response.status_code == 200
    html = main_html(response)
    assert "<script" not in html.lower().replace("&lt;script", "")


# --- Counting searches that found nothing ---------------------------------------------------


def test_a_search_that_found_nothing_is_counted_by_query_and_day(client):
    for query in ("Xylophone quintet", "  xylophone   QUINTET ", "xylophone quintet"):
        client.get("/search/", {"q": query})
    client.get("/search/", {"q": "Glockenspiel"})
    rows = {(row.query, row.day, row.count) for row in UnfoundSearch.objects.all()}
    today = timezone.localdate()
    assert rows == {("xylophone quintet", today, 3), ("glockenspiel", today, 1)}


def test_only_the_query_day_and_count_are_stored(client):
    client.get(
        "/search/",
        {"q": "xylophone"},
        HTTP_X_FORWARDED_FOR="203.0.113.9",
        HTTP_USER_AGENT="Agent/1.0",
        HTTP_COOKIE="sessionid=abc",
    )
    assert [f.name for f in UnfoundSearch._meta.get_fields()] == ["id", "query", "day", "count"]
    row = UnfoundSearch.objects.get()
    assert isinstance(row.day, datetime.date) and not isinstance(row.day, datetime.datetime)
    assert "203.0.113" not in str(list(UnfoundSearch.objects.values_list()))


@pytest.mark.parametrize("query", ["side effects", "side efects", "biopsy", "TIL giraffes", ""])
def test_searches_that_showed_something_are_not_counted(client, query):
    client.get("/search/", {"q": query})
    assert UnfoundSearch.objects.count() == 0


def test_a_search_with_only_a_did_you_mean_is_counted(client, site):
    site.page("salt", "Salt in the food.", title="Salt")
    site.page("malt", "Malt in the drink.", title="Malt")
    client.get("/search/", {"q": "yalt"})
    assert UnfoundSearch.objects.get().query == "yalt"


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("  Xylophone  ", "xylophone"),
        ("x" * 300, "x" * 100),
        ("call me on 020 7946 0958 please", "call me on [number] please"),
        ("+44 (0)20 7946-0958", "[number]"),
        ("write to jane.doe@example.org", "write to [email]"),
        ("NCT05727904 trial", "nct05727904 trial"),
        ("C-144-01", "c-144-01"),
        ("dose 100 mg", "dose 100 mg"),
        ("a\x00b\u202ec", "a b c"),
    ],
)
def test_the_stored_query_is_trimmed_lower_case_short_and_without_contact_details(typed, stored):
    assert normalise_query(typed) == stored


def test_top_unfound_adds_up_the_days_in_the_window_most_frequent_first():
    today = timezone.localdate()
    day = datetime.timedelta(days=1)
    UnfoundSearch.objects.create(query="rare", day=today, count=1)
    UnfoundSearch.objects.create(query="common", day=today, count=2)
    UnfoundSearch.objects.create(query="common", day=today - 5 * day, count=3)
    UnfoundSearch.objects.create(query="old", day=today - 40 * day, count=50)
    assert UnfoundSearch.top_unfound(days=30) == [
        {"query": "common", "count": 5, "last_seen": today},
        {"query": "rare", "count": 1, "last_seen": today},
    ]
    assert [row["query"] for row in top_unfound(days=1)] == ["common", "rare"]
    assert top_unfound(days=1)[0]["count"] == 2
    assert [row["query"] for row in top_unfound(days=60, limit=1)] == ["old"]


def test_rows_older_than_a_year_are_forgotten(client, monkeypatch):
    from search import models

    monkeypatch.setattr(models, "_forgotten_on", None)
    today = timezone.localdate()
    UnfoundSearch.objects.create(query="ancient", day=today - datetime.timedelta(days=400))
    UnfoundSearch.objects.create(query="recent", day=today - datetime.timedelta(days=300))
    client.get("/search/", {"q": "xylophone"})
    assert set(UnfoundSearch.objects.values_list("query", flat=True)) == {"recent", "xylophone"}


def test_a_database_error_while_counting_still_shows_the_page(client, monkeypatch, caplog):
    def broken(query):
        raise DatabaseError("disk full")

    monkeypatch.setattr(UnfoundSearch, "record", broken)
    response = client.get("/search/", {"q": "xylophone"})
    assert response.status_code == 200
    assert "We could not find" in response.content.decode()
    assert "could not count a search" in caplog.text


# --- The admin ------------------------------------------------------------------------------


def test_staff_see_searches_that_found_nothing_and_cannot_edit_them(client, settings):
    user = User.objects.create_superuser("boss", "boss@example.org", "a-long-password-1")
    client.force_login(user)
    UnfoundSearch.objects.create(query="<b>glockenspiel</b>", day=timezone.localdate(), count=4)
    base = f"/{settings.ADMIN_URL}search/unfoundsearch/"
    response = client.get(base)
    assert response.status_code == 200
    html = response.content.decode()
    assert "&lt;b&gt;glockenspiel&lt;/b&gt;" in html
    assert client.get(base, {"q": "glock"}).status_code == 200
    assert client.get(base + "add/").status_code == 403
    row = UnfoundSearch.objects.get()
    change = client.get(f"{base}{row.pk}/change/")
    assert change.status_code == 200
    assert 'name="count"' not in change.content.decode()

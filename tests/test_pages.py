"""The page engine: loading, validation, rendering once, serving from memory."""

import datetime
import re
from unittest import mock

import markdown
import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from tests.content_helpers import LAST_REVIEWED, NEXT_REVIEW
from tilsite import pages
from tilsite.pages import get_registry, reset_registry

TODAY = datetime.date.today()


def days(number: int) -> datetime.timedelta:
    return datetime.timedelta(days=number)


def problems(site):
    reset_registry()
    return [str(problem) for problem in get_registry().problems]


# --- Loading and validation -------------------------------------------------------------


def test_a_valid_page_loads_with_its_front_matter(site):
    site.page("steps", "## How long?\n\nSome weeks [@alpha].", nav_order=2, nav_title="Steps")
    page = get_registry().get("steps")
    assert (page.title, page.section, page.nav_order, page.menu_title) == (
        "A test page",
        "Treatment",
        2,
        "Steps",
    )
    assert (page.last_reviewed, page.next_review) == (LAST_REVIEWED, NEXT_REVIEW)
    assert page.reviewed_by == ""
    assert '<h2 id="how-long">How long?</h2>' in page.html
    assert problems(site) == []


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"title": None}, "missing the required key 'title'"),
        ({"summary": None}, "missing the required key 'summary'"),
        ({"sumary": "typo"}, "unknown key 'sumary'"),
        ({"section": "Elsewhere"}, "'section' must be one of"),
        ({"nav_order": "first"}, "'nav_order' must be a whole number"),
        ({"toc": "yes please"}, "'toc' must be true or false"),
        ({"last_reviewed": "10/01/2026"}, "'last_reviewed' must be a date as YYYY-MM-DD"),
        ({"next_review": "2026-13-45"}, "not valid YAML: month must be in 1..12"),
        ({"next_review": LAST_REVIEWED - days(1)}, "'next_review' must come after 'last_reviewed'"),
        ({"next_review": LAST_REVIEWED + days(1099)}, "more than 1098 days after"),
        ({"last_reviewed": TODAY + days(1), "next_review": TODAY + days(30)}, "is in the future"),
        ({"title": '""'}, "'title' must not be empty"),
    ],
)
def test_front_matter_errors_name_the_file_and_the_problem(site, meta, expected):
    site.page("broken", **meta)
    found = problems(site)
    assert any(p.startswith("content/broken.md") and expected in p for p in found), found
    assert get_registry().get("broken") is None


def test_research_pages_are_reviewed_every_year(site):
    site.page("study", section="Research", next_review=LAST_REVIEWED + days(367))
    assert any("more than 366 days" in p for p in problems(site))


def test_file_without_front_matter(site):
    site.page("bare", raw="# Just markdown\n")
    assert problems(site) == [
        "content/bare.md, line 1: has no front matter (the file must start with a '---' block)"
    ]


def test_malformed_yaml_names_the_line(site):
    site.page("bad-yaml", raw="---\ntitle: ok\nsummary: [unclosed\n---\nText\n")
    (found,) = problems(site)
    assert found.startswith("content/bad-yaml.md, line ")
    assert "not valid YAML" in found


def test_unknown_citation_key_names_the_file_and_line(site):
    site.page("cites", "Intro.\n\nA fact [@alpha; @nonexistent].\n")
    found = problems(site)
    assert found == [
        "content/cites.md, line 10: unknown source 'nonexistent' in [@alpha; @nonexistent] "
        "(not in sources.yaml)"
    ]


@pytest.mark.parametrize("name", ["Upper", "under_score", "contact", "sources", "admin"])
def test_bad_or_duplicate_slugs_are_errors(site, name):
    site.page(name)
    (found,) = problems(site)
    assert found.startswith(f"content/{name}.md")
    assert "slug" in found


def test_the_admins_address_is_reserved_wherever_the_setting_puts_it(site, custom_admin_url):
    site.page("staff-desk")
    site.page("admin")
    assert problems(site) == [
        "content/staff-desk.md: duplicate slug: /staff-desk/ is already an address of the site"
    ]


def test_unknown_parent_is_an_error(site):
    site.page("child", parent="missing")
    assert any("'parent' names a page that does not exist" in p for p in problems(site))


def test_overdue_review_is_a_warning_not_an_error(site):
    site.page("old", last_reviewed="2020-01-01", next_review="2022-01-01")
    registry = (reset_registry(), get_registry())[1]
    assert registry.errors == []
    assert [str(p) for p in registry.problems] == [
        "content/old.md, line 1: review was due on 2022-01-01"
    ]
    assert registry.get("old") is not None


def test_missing_content_folder(settings, tmp_path):
    settings.CONTENT_DIR = tmp_path / "nowhere"
    reset_registry()
    try:
        assert "the content folder is missing" in str(get_registry().problems[0])
    finally:
        reset_registry()


# --- System checks ---------------------------------------------------------------------------


def test_manage_py_check_fails_on_a_broken_citation(site, db):
    site.page("cites", "A fact [@no-such-source].")
    reset_registry()
    with pytest.raises(SystemCheckError, match=r"content/cites.md, line 8: unknown source"):
        call_command("check")


def test_manage_py_check_passes_on_valid_content(site, db, capsys):
    call_command("check")
    assert "no issues" in capsys.readouterr().out


def test_manage_py_check_warns_of_an_overdue_review_without_failing(site, db, capsys):
    site.page("old", last_reviewed="2020-01-01", next_review="2022-01-01")
    reset_registry()
    call_command("check")
    assert "(content.W001) content/old.md, line 1: review was due on 2022-01-01" in (
        capsys.readouterr().err
    )


def test_real_content_and_sources_pass_validation(settings):
    reset_registry()
    registry = get_registry()
    assert [str(p) for p in registry.errors] == []
    assert [str(p) for p in registry.catalogue.problems] == []
    assert registry.home is not None
    assert len(registry.pages) >= 10


# --- Rendering ---------------------------------------------------------------------------------


def test_markdown_features(site):
    site.page(
        "features",
        """\
        !!! in-short "In short"
            Short and plain.

        ## Table

        | a | b |
        |---|---|
        | 1 | 2 |

        Term {#term}
        :   Its meaning.

        !!! care-team "Talk to your care team"
            Ask them.

        A [link](https://example.org/) and [inside](/other/).
        """,
        toc="true",
    )
    page = get_registry().get("features")
    assert page.intro_html.startswith("<section")
    assert 'class="admonition in-short"' in page.intro_html
    assert '<h2 class="admonition-title" id="in-short">In short</h2>' in page.intro_html
    assert (
        '<div aria-label="Table: Table" class="table-wrap" role="region" tabindex="0"><table>'
        in page.html
    )
    assert '<dt id="term">Term</dt>' in page.html
    assert 'class="admonition care-team" role="note"' in page.html
    assert (
        '<a class="external" href="https://example.org/" rel="noopener">link'
        '<span class="visually-hidden"> (external site)</span></a>' in page.html
    )
    assert '<a href="/other/">inside</a>' in page.html
    assert 'href="#table"' in page.toc_html


def test_an_included_block_is_rendered_in_place_with_the_pages_own_citations(site, settings):
    settings.EMERGENCY_NUMBER = ""
    blocks = site.content / "_blocks"
    blocks.mkdir()
    (blocks / "signs.md").write_text(
        '!!! urgent signs "Get help"\n    Call {emergency_number} at once [@beta].\n'
    )
    site.page("risky", "First [@alpha].\n\n!!! include signs\n\nLast [@beta].\n")
    page = get_registry().get("risky")
    assert page.html.index("First") < page.html.index("Get help") < page.html.index("Last")
    assert "Call your local emergency number at once" in page.html
    assert [cited.source.id for cited in page.sources] == ["alpha", "beta"]
    settings.EMERGENCY_NUMBER = "911"
    reset_registry()
    assert "Call 911 at once" in get_registry().get("risky").html


def test_an_unknown_block_or_a_blocks_unknown_source_names_the_file_and_line(site):
    blocks = site.content / "_blocks"
    blocks.mkdir()
    (blocks / "signs.md").write_text("Text.\n\nMore [@nope].\n")
    site.page("risky", "Line one.\n\n!!! include missing\n")
    found = problems(site)
    assert "content/_blocks/signs.md, line 3: unknown source 'nope' in [@nope]" in found[0]
    assert found[1] == "content/risky.md, line 10: unknown block 'missing' (blocks: signs)"


def test_a_block_edit_is_picked_up_in_development(site, client, settings):
    settings.CONTENT_RELOAD = True
    blocks = site.content / "_blocks"
    blocks.mkdir()
    (blocks / "signs.md").write_text("Version one.\n")
    site.page("risky", "!!! include signs\n")
    assert "Version one." in client.get("/risky/").text
    (blocks / "signs.md").write_text("Version two, longer.\n")
    assert "Version two, longer." in client.get("/risky/").text


def test_a_static_image_gets_its_address_and_size_or_is_a_problem(site, settings, tmp_path):
    static = tmp_path / "static"
    (static / "img").mkdir(parents=True)
    (static / "img" / "fig.svg").write_text('<svg viewBox="0 0 340 612.5"></svg>')
    settings.STATICFILES_DIRS = [static]
    site.page("pictures", "![How it works](/static/img/fig.svg)\n")
    html = get_registry().get("pictures").html
    assert '<img alt="How it works" height="612" src="/static/img/fig.svg" width="340"' in html
    site.page("broken", "![](/static/img/fig.svg)\n\n![Gone](/static/img/gone.svg)\n")
    assert problems(site) == [
        "content/broken.md: image /static/img/fig.svg has no alt text (its accessible name)",
        "content/broken.md: image /static/img/gone.svg is not a file in static/",
    ]


def test_each_table_region_is_named_after_its_heading_and_unique(site):
    site.page(
        "tables",
        """\
        | a |
        |---|
        | 1 |

        ## How common is it?

        | b |
        |---|
        | 2 |

        | c |
        |---|
        | 3 |
        """,
    )
    labels = re.findall(
        r'<div aria-label="([^"]+)" class="table-wrap"', get_registry().get("tables").html
    )
    assert labels == ["Table", "Table: How common is it?", "Table: How common is it? (2)"]


def test_citations_are_numbered_in_order_of_first_use(site):
    site.page(
        "cites",
        """\
        !!! in-short "In short"
            First [@gamma].

        Second [@alpha; @beta]. Again [@gamma].

        - in a list [@alpha]
        """,
    )
    page = get_registry().get("cites")
    assert [(c.number, c.source.id) for c in page.sources] == [
        (1, "gamma"),
        (2, "alpha"),
        (3, "beta"),
    ]
    assert [c.backrefs for c in page.sources] == [
        ["cite-1-1", "cite-1-2"],
        ["cite-2-1", "cite-2-2"],
        ["cite-3-1"],
    ]
    assert (
        '<sup class="citation"><a href="#source-2" id="cite-2-1">'
        '<span class="visually-hidden">Source </span>2</a>, '
        '<a href="#source-3" id="cite-3-1"><span class="visually-hidden">Source </span>3</a></sup>'
        in page.html
    )


def test_page_shows_sources_with_back_links_and_doi(site, client):
    site.page("cites", "One [@alpha]. Two [@beta]. Again [@alpha].")
    html = client.get("/cites/").text
    assert '<li id="source-1">' in html
    assert 'href="https://doi.org/10.1234/alpha.1"' in html
    assert 'href="https://agency.example.org/beta"' in html
    assert '<a href="#cite-1-1"><span class="visually-hidden">source 1, place </span>1</a>' in html
    assert '<a href="#cite-1-2">' in html
    assert '<a href="#cite-2-1">Back to text' in html


def test_page_layout_parts(site, client):
    site.page("first", nav_order=1, title="First page", summary="The first one.")
    site.page("second", nav_order=2, title="Second page", toc="true", body="## Part\n\nText.")
    site.page("child", parent="second", title="Child page")
    response = client.get("/second/")
    html = response.text
    assert "<title>Second page \u2013 " in html
    assert '<meta name="description" content="A page used by the tests.">' in html
    assert '<link rel="canonical" href="http://127.0.0.1:8000/second/">' in html
    assert 'aria-label="Breadcrumb"' in html
    for label, day in (("Last reviewed", LAST_REVIEWED), ("Next review due", NEXT_REVIEW)):
        assert f'{label}: <time datetime="{day:%Y-%m-%d}">{day.day} {day:%B %Y}</time>' in html
    assert "Reviewed by" not in html  # nothing invented when no reviewer is named
    assert '<h2 id="toc-title">On this page</h2>' in html
    assert 'rel="prev"' in html and 'href="/first/"' in html
    assert 'aria-current="page">Second page' in html or 'aria-current="page">Second' in html
    child = client.get("/child/").text
    assert '<li><a href="/second/">Second page</a></li>' in child


def test_reviewer_is_shown_when_named(site, client):
    site.page("named", reviewed_by='"Dr A. Example, oncologist"')
    assert "Reviewed by: Dr A. Example, oncologist" in client.get("/named/").text


# --- Serving ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path", ["/No-Such/", "/no_such/", "/missing/", "/..%2Fsettings/", "/%2e%2e/", "/a/b/"]
)
def test_unknown_or_disallowed_slugs_get_the_site_404(site, client, path):
    response = client.get(path)
    assert response.status_code == 404
    assert "Page not found" in response.text


def test_index_slug_redirects_to_home(site, client):
    response = client.get("/index/")
    assert (response.status_code, response["Location"]) == (301, "/")


def test_conditional_get(site, client):
    site.page("cached")
    first = client.get("/cached/")
    assert first.status_code == 200
    assert first["Cache-Control"] == "public, max-age=300"
    etag, modified = first["ETag"], first["Last-Modified"]
    assert client.get("/cached/", headers={"if-none-match": etag}).status_code == 304
    assert client.get("/cached/", headers={"if-modified-since": modified}).status_code == 304
    assert client.get("/cached/", headers={"if-none-match": '"other"'}).status_code == 200


def test_post_to_a_content_page_is_refused(site, client):
    assert client.post("/").status_code == 405


def test_requests_do_no_markdown_or_template_work_once_rendered(site, client):
    site.page("fast", "Some text [@alpha].")
    for path in ("/fast/", "/"):
        assert client.get(path).status_code == 200  # the first request renders the template
    with (
        mock.patch.object(markdown.Markdown, "convert", side_effect=AssertionError("markdown")),
        mock.patch.object(pages, "build_registry", side_effect=AssertionError("rebuild")),
        mock.patch("tilsite.page_views.render", side_effect=AssertionError("template")),
    ):
        for _ in range(3):
            assert "Some text" in client.get("/fast/").text
            assert client.get("/").status_code == 200


def test_development_reload_picks_up_an_edit(site, client, settings):
    settings.CONTENT_RELOAD = True
    path = site.page("draft", "Old words.")
    assert "Old words." in client.get("/draft/").text
    path.write_text(path.read_text().replace("Old words.", "New words, somewhat longer."))
    assert "New words" in client.get("/draft/").text


def debug_settings() -> dict:
    import runpy

    from django.conf import settings as django_settings

    with mock.patch.dict("os.environ", {"DJANGO_DEBUG": "true"}):
        return runpy.run_path(str(django_settings.BASE_DIR / "tilsite" / "settings.py"))


def test_development_shows_a_template_edit_on_the_next_request(site, client, settings, tmp_path):
    """make run serves with gunicorn, whose reloader watches Python files only: with the
    development settings neither compiled templates nor rendered pages may be kept."""
    settings.CONTENT_RELOAD = True
    templates = debug_settings()["TEMPLATES"]
    templates[0]["DIRS"] = [tmp_path / "templates", *templates[0]["DIRS"]]
    settings.TEMPLATES = templates
    (tmp_path / "templates" / "pages").mkdir(parents=True)
    layout = tmp_path / "templates" / "pages" / "page.html"
    real = (settings.BASE_DIR / "templates" / "pages" / "page.html").read_text()
    layout.write_text(real)
    site.page("draft", "Words.")
    assert "An edited layout" not in client.get("/draft/").text
    layout.write_text(real.replace("{% block title %}", "{% block title %}An edited layout "))
    assert "An edited layout" in client.get("/draft/").text


def test_production_settings_keep_compiled_templates(settings):
    loaders = settings.TEMPLATES[0]["OPTIONS"]["loaders"]
    assert loaders[0][0] == "django.template.loaders.cached.Loader"


def test_without_reload_the_registry_is_kept(site, client):
    path = site.page("kept", "Old words.")
    reset_registry()
    assert "Old words." in client.get("/kept/").text
    path.write_text(path.read_text().replace("Old words.", "New words, somewhat longer."))
    assert "Old words." in client.get("/kept/").text


def test_home_page_is_index_md_with_a_way_to_ask(site, client):
    site.page("index", "Welcome to the site [@alpha].", title="Home")
    html = client.get("/").text
    assert "<h1>Home</h1>" in html
    assert "Welcome to the site" in html
    assert '<a class="button" href="/contact/">Ask a question</a>' in html
    assert 'id="source-1"' in html
    assert "Breadcrumb" not in html


def test_sitemap_lists_every_page_with_its_review_date(site, client):
    site.page("listed")
    xml = client.get("/sitemap.xml").text
    assert "/listed/</loc>" in xml
    assert f"<lastmod>{LAST_REVIEWED:%Y-%m-%d}</lastmod>" in xml

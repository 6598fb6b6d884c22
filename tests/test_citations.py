"""sources.yaml: loading, validation (one test per error), the checks and /sources/."""

import textwrap

import pytest
from django.core import checks

from citations.catalogue import load_catalogue
from tilsite.pages import reset_registry

VALID = {
    "id": "valid",
    "title": "A valid source",
    "journal": "Journal",
    "year": 2024,
    "doi": "10.1234/x",
    "accessed": "2026-11-24",
    "kind": "review",
}


def catalogue_of(tmp_path, *entries, raw=None):
    path = tmp_path / "sources.yaml"
    if raw is None:
        lines = []
        for entry in entries:
            lines.append("- " + "\n  ".join(f"{k}: {v}" for k, v in entry.items()))
        raw = "\n".join(lines) + "\n"
    path.write_text(textwrap.dedent(raw))
    return load_catalogue(path)


def messages(catalogue):
    return [str(problem) for problem in catalogue.problems]


def test_a_valid_source_loads(tmp_path):
    catalogue = catalogue_of(tmp_path, VALID)
    assert messages(catalogue) == []
    source = catalogue.sources["valid"]
    assert source.link == "https://doi.org/10.1234/x"
    assert source.kind_label == "Reviews"


def test_url_is_the_link_without_a_doi(tmp_path):
    entry = {**VALID, "url": "https://example.org/a"}
    del entry["doi"]
    assert catalogue_of(tmp_path, entry).sources["valid"].link == "https://example.org/a"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"doi": None}, "sources.yaml, source 'valid': has neither a 'url' nor a 'doi'"),
        ({"url": "ftp://x"}, "'url' must start with https://"),
        ({"doi": "doi:10.1/x"}, "'doi' must look like 10.1234/abc"),
        ({"title": None}, "'title' is required"),
        ({"journal": None}, "needs a 'journal' or a 'publisher'"),
        ({"kind": "blog"}, "'kind' must be one of"),
        ({"year": None}, "needs a 'year' (YYYY) or a 'date'"),
        ({"accessed": "last week"}, "'accessed' must be a date as YYYY-MM-DD"),
        ({"accessed": None}, "'accessed' (the date it was read) is required"),
        ({"colour": "blue"}, "unknown key 'colour'"),
        ({"id": "Not A Slug"}, "sources.yaml, source #1: 'id' must be lowercase"),
    ],
)
def test_each_validation_error_names_the_source(tmp_path, change, expected):
    entry = {**VALID, **change}
    entry = {key: value for key, value in entry.items() if value is not None}
    found = messages(catalogue_of(tmp_path, entry))
    assert any(expected in message for message in found), found


def test_duplicate_source_id(tmp_path):
    found = messages(catalogue_of(tmp_path, VALID, VALID))
    assert found == ["sources.yaml, source 'valid': duplicate source id"]


def test_malformed_date_value(tmp_path):
    found = messages(catalogue_of(tmp_path, {**VALID, "date": "2025-02-30"}))
    assert found and "not valid YAML" in found[0]


def test_not_a_list(tmp_path):
    assert messages(catalogue_of(tmp_path, raw="id: x\n")) == [
        "sources.yaml: must be a list of sources"
    ]


def test_missing_file(tmp_path):
    catalogue = load_catalogue(tmp_path / "nope.yaml")
    assert messages(catalogue) == ["nope.yaml: the sources file does not exist"]


def test_invalid_yaml_names_the_line(tmp_path):
    (found,) = messages(catalogue_of(tmp_path, raw="- id: a\n  title: [oops\n"))
    assert found.startswith("sources.yaml, line ")


def run_citation_checks():
    reset_registry()
    return checks.run_checks(tags=["citations"])


def test_check_reports_sources_errors(site):
    site.sources.write_text(site.sources.read_text() + "- id: alpha\n  title: again\n")
    (error,) = [m for m in run_citation_checks() if m.level == checks.ERROR]
    assert error.id == "citations.E002"
    assert "source 'alpha': duplicate source id" in error.msg


def test_uncited_source_is_a_warning(site):
    site.page("index", "Only [@alpha] and [@beta].", title="Home")
    (warning,) = run_citation_checks()
    assert (warning.id, warning.level) == ("citations.W001", checks.WARNING)
    assert "source 'gamma': no page cites it" in warning.msg


def test_sources_page_groups_by_kind_and_shows_citing_pages(site, client):
    site.page("treat", "A trial [@alpha].", title="Treatment page")
    reset_registry()
    response = client.get("/sources/")
    html = response.text
    assert response.status_code == 200
    order = [html.index(label) for label in ("Regulators", "Clinical trials", "Reviews")]
    assert order == sorted(order)
    assert '<li id="alpha">' in html
    assert '<a href="/treat/">Treatment page</a>' in html
    assert 'href="https://doi.org/10.1234/alpha.1"' in html
    assert "Accessed 24 November 2026" in html
    etag = response["ETag"]
    assert client.get("/sources/", headers={"if-none-match": etag}).status_code == 304


def test_sources_page_is_rendered_once_per_registry(site, client):
    from unittest import mock

    assert client.get("/sources/").status_code == 200
    with mock.patch("citations.views.render", side_effect=AssertionError("render")):
        response = client.get("/sources/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "public, max-age=300"
    reset_registry()  # a new catalogue (an edited sources.yaml) is rendered afresh
    site.sources.write_text(site.sources.read_text().replace("Beta guidance", "Beta rules"))
    assert "Beta rules" in client.get("/sources/").text

"""The search index: what a query finds and in which order, on the real content and on small
sites of the tests' own."""

import pytest

from search import index as search_index
from search.index import SearchIndex, clean_query, get_index
from search.language import ENGLISH
from tilsite.pages import get_registry, reset_registry

GLOSSARY = """\
Some words explained.

## B

Biopsy {#biopsy}
:   Taking a small piece of tissue out of the body to test it.

Cytopenia (low blood counts) {#cytopenia}
:   Too few blood cells of one or more kinds.

Chemotherapy {#chemotherapy}
:   Medicines that kill cells that divide quickly.

Interleukin-2 {#interleukin-2}
:   A cytokine, also called IL-2, that helps T cells grow.
"""


def search(query, **options):
    return get_index().search(query, **options)


def urls(outcome):
    return [result.url for result in outcome.results]


# --- The real content: what the issue asks for ----------------------------------------------


def test_a_misspelt_side_effects_finds_the_side_effects_page_first():
    outcome = search("side efects")
    assert outcome.corrected_from == "side efects"
    assert outcome.searched_for == "side effects"
    assert urls(outcome)[0] == "/side-effects/"


@pytest.mark.parametrize(
    ("typed", "corrected"),
    [
        ("lymphocites", "lymphocytes"),
        ("capilary leak", "capillary leak"),
        ("imunotherapy", "immunotherapy"),
        ("side efects", "side effects"),
    ],
)
def test_misspellings_are_corrected_from_the_sites_own_words(typed, corrected):
    outcome = search(typed)
    assert outcome.searched_for == corrected
    assert outcome.total > 0


def test_amtagvi_finds_the_approval_and_the_lifileucel_entry():
    outcome = search("Amtagvi")
    assert outcome.definition is not None and outcome.definition.id == "lifileucel"
    assert "approved" in outcome.definition.definition
    assert any("approv" in str(result.snippet).lower() for result in outcome.results[:5])


def test_american_spellings_find_british_pages():
    tumour = search("tumor")
    assert tumour.total > 5
    assert "<mark>tumour" in str(tumour.results[0].snippet).lower()
    anaemia = search("anemia")
    assert anaemia.total >= 1
    assert "<mark>anaemia</mark>" in str(anaemia.results[0].snippet)


def test_il_2_finds_il_2_and_its_other_names():
    outcome = search("IL-2")
    assert outcome.total > 5
    assert outcome.definition is not None and outcome.definition.id == "interleukin-2"
    snippets = " ".join(str(result.snippet) for result in outcome.results)
    assert "<mark>IL-2</mark>" in snippets


def test_plurals_and_endings_are_stemmed():
    assert search("infusions").total == search("infusion").total > 0
    assert "/treatment-journey/" in urls(search("infusions"))


def test_hyphenated_codes_with_digits_are_found_whole():
    for code in ("PD-1", "C-144-01", "CAR-T"):
        outcome = search(code)
        assert outcome.total > 0, code
    snippet = str(search("C-144-01").results[0].snippet)
    assert "<mark>C-144-01</mark>" in snippet


def test_a_glossary_term_typed_alone_shows_its_definition_first():
    outcome = search("capillary leak syndrome")
    assert outcome.definition is not None
    assert outcome.definition.url == "/glossary/#capillary-leak-syndrome"
    assert "/glossary/#capillary-leak-syndrome" not in urls(outcome)  # not twice


# --- Reading a query ------------------------------------------------------------------------


@pytest.fixture
def small_site(site):
    site.page("glossary", GLOSSARY, title="Glossary", section="Support")
    site.page(
        "treatment",
        """\
        ## Chemotherapy first

        You have chemotherapy before the cells. Lifileucel is the approved TIL medicine.
        After the infusion you have interleukin-2. Tumour-infiltrating lymphocytes grow.
        The study C-144-01 tested it. The randomised trial used a PD-1 medicine.
        Code: `<script>alert(1)</script>` & more.
        """,
        title="The treatment",
        summary="What happens during treatment.",
    )
    return site


@pytest.mark.parametrize(
    ("query", "word"),
    [
        ("Amtagvi", "Lifileucel"),
        ("chemo", "chemotherapy"),
        ("TIL", "Tumour-infiltrating lymphocytes"),
        ("TILs", "Tumour-infiltrating lymphocytes"),
        ("aldesleukin", "interleukin-2"),
        ("IL2", "interleukin-2"),
        ("infusions", "infusion"),
        ("randomized", "randomised"),
        ("tumor infiltrating lymphocytes", "Tumour-infiltrating lymphocytes"),
        ("pd1", "PD-1"),
        ("c-144-01", "C-144-01"),
    ],
)
def test_synonyms_spellings_and_forms_find_the_words_the_page_uses(small_site, query, word):
    outcome = search(query)
    assert "/treatment/" in urls(outcome), query
    snippet = str(next(r.snippet for r in outcome.results if r.url == "/treatment/"))
    assert f"<mark>{word}</mark>" in snippet, snippet


def test_a_hyphenated_term_is_a_phrase_not_two_loose_words(site):
    site.page("apart", "The IL family has 2 members.", title="Apart")
    site.page("together", "IL-2 is a cytokine.", title="Together")
    assert urls(search("IL-2")) == ["/together/"]


def test_common_words_are_dropped_unless_nothing_else_is_left(small_site):
    assert search("what is the chemotherapy").total == search("chemotherapy").total
    assert search("what is").searchable


def test_every_word_must_match_or_the_results_say_partial(small_site):
    outcome = search("chemotherapy giraffes")
    assert outcome.partial
    assert "/treatment/" in urls(outcome)
    assert not search("chemotherapy").partial


def test_queries_are_cleaned_of_control_characters_and_cut_to_length():
    assert clean_query("  side\x00\x1b effects\u202e\n") == "side effects"
    assert len(clean_query("a" * 5000)) == search_index.MAX_QUERY_LENGTH
    assert clean_query("\uff46\uff55\uff4c\uff4c width") == "full width"  # NFKC


@pytest.mark.parametrize(
    "query", ["", "   ", "...", "!!! ???", "\x00\x01", "'", '"', "-", "()", "*", "NEAR", "AND OR"]
)
def test_queries_without_words_or_with_fts_syntax_are_harmless(small_site, query):
    outcome = search(query)
    assert outcome.total >= 0
    if not any(c.isalnum() for c in query):
        assert not outcome.searchable
        assert not outcome.found_nothing


def test_fts_operators_in_a_query_are_words_not_syntax(site):
    site.page("near", "Stay NEAR the hospital AND rest.", title="Near")
    assert urls(search("NEAR")) == ["/near/"]
    assert urls(search('"near" OR *')) == ["/near/"]


# --- Ranking --------------------------------------------------------------------------------


def test_a_title_match_comes_before_a_heading_match_before_a_body_match(site):
    site.page("in-body", "Zebrafish. " * 30 + "\n", title="Fish in the body")
    site.page("in-heading", "## About zebrafish\n\nSome text.\n", title="Fish in a heading")
    site.page("in-title", "Nothing more here.\n", title="Zebrafish")
    assert urls(search("zebrafish")) == ["/in-title/", "/in-heading/", "/in-body/"]


def test_the_shared_warning_block_weighs_less_than_a_pages_own_text(site):
    shared = "Call your team if you have shaking chills.\n\n"
    for slug in ("one", "two", "three"):
        site.page(slug, shared + "Other words.\n", title=slug.title())
    site.page("own", shared + "Shaking chills are common after IL-2.\n", title="Own")
    assert urls(search("shaking chills"))[0] == "/own/"


def test_a_result_links_to_the_part_of_the_page_that_matched(site):
    site.page("long", "Intro.\n\n## What is a leak?\n\nA capillary leak is serious.\n", title="L")
    result = search("capillary").results[0]
    assert result.heading == "What is a leak?"
    assert result.heading_url == "/long/#what-is-a-leak"


# --- Snippets -------------------------------------------------------------------------------


def test_snippets_mark_matched_words_and_escape_the_rest(small_site):
    snippet = str(next(r for r in search("alert").results if r.url == "/treatment/").snippet)
    assert "&lt;script&gt;<mark>alert</mark>(1)&lt;/script&gt;" in snippet
    assert "&amp; more" in snippet
    assert "<script" not in snippet


def test_marker_characters_in_the_content_cannot_forge_marks(site):
    site.page("odd", "Private use \ue000 and \ue001 characters near zebrafish.", title="Odd")
    snippet = str(search("zebrafish").results[0].snippet)
    assert snippet.count("<mark>") == snippet.count("</mark>") == 1


def test_citation_numbers_and_screen_reader_words_are_not_indexed(site):
    site.page("cited", "Zebrafish swim [@alpha].\n", title="Cited")
    assert search("source").total == 0  # "Source 1" is only for screen readers
    assert "Source" not in str(search("zebrafish").results[0].snippet)


# --- Spelling -------------------------------------------------------------------------------


def test_one_clear_correction_is_searched_straight_away(small_site):
    outcome = search("chemoterapy")
    assert (outcome.corrected_from, outcome.searched_for) == ("chemoterapy", "chemotherapy")
    assert "/treatment/" in urls(outcome)


def test_an_unclear_correction_is_offered_not_applied(site):
    site.page("salt", "Salt in the food.", title="Salt")
    site.page("malt", "Malt in the drink.", title="Malt")
    outcome = search("yalt")
    assert not outcome.corrected_from
    assert outcome.suggestion in {"salt", "malt"}
    assert outcome.results == [] and outcome.found_nothing


def test_exact_asks_for_no_correction(small_site):
    outcome = search("chemoterapy", exact=True)
    assert not outcome.corrected_from and not outcome.suggestion
    assert outcome.found_nothing


def test_nothing_close_means_no_suggestion(small_site):
    outcome = search("xylophone")
    assert outcome.found_nothing
    assert not outcome.suggestion and not outcome.corrected_from


def test_a_correction_keeps_the_other_words_as_typed(small_site):
    assert search("What is CHEMOTERAPY?").searched_for == "What is chemotherapy?"


# --- The glossary ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "entry"),
    [
        ("biopsy", "biopsy"),
        ("Biopsies", "biopsy"),
        ("what is a biopsy?", "biopsy"),
        ("cytopenia", "cytopenia"),
        ("low blood counts", "cytopenia"),
        ("chemo", "chemotherapy"),
        ("IL-2", "interleukin-2"),
        ("biospy", "biopsy"),  # corrected, then found
    ],
)
def test_a_glossary_term_shows_its_definition(small_site, query, entry):
    outcome = search(query)
    assert outcome.definition is not None and outcome.definition.id == entry
    assert outcome.definition.url == f"/glossary/#{entry}"
    assert f"/glossary/#{entry}" not in urls(outcome)


def test_a_query_that_only_contains_a_term_shows_no_definition(small_site):
    assert search("biopsy results").definition is None


def test_glossary_entries_are_results_of_their_own(small_site):
    result = next(r for r in search("cytokine").results if r.url == "/glossary/#interleukin-2")
    assert result.title == "Interleukin-2"
    assert result.section == "Glossary"
    assert result.is_glossary_entry


# --- The index's life -----------------------------------------------------------------------


def test_the_index_is_built_once_per_registry_not_per_search(small_site, monkeypatch):
    first = get_index()
    built = []
    monkeypatch.setattr(search_index, "SearchIndex", lambda *a: built.append(a))
    search("biopsy")
    search("chemo")
    assert get_index() is first
    assert built == []
    assert first.registry is get_registry()


def test_a_content_change_rebuilds_the_index(site, settings):
    settings.CONTENT_RELOAD = True
    path = site.page("notes", "Zebrafish live here.", title="Notes")
    first = get_index()
    assert urls(search("zebrafish")) == ["/notes/"]
    assert search("axolotl").total == 0
    path.write_text(path.read_text().replace("Zebrafish", "Axolotls and zebrafish"))
    assert urls(search("axolotl")) == ["/notes/"]
    assert get_index() is not first


def test_the_index_reads_the_rendered_pages(small_site):
    index = get_index()
    treatment = next(doc for doc in index.documents if doc.url == "/treatment/")
    assert treatment.title == "The treatment"
    assert treatment.summary == "What happens during treatment."
    assert [h.text for h in treatment.headings] == ["Chemotherapy first"]
    assert "<" not in treatment.body.replace("<script>", "").replace("</script>", "")


def test_an_index_is_kept_per_language(small_site):
    assert get_index("en-gb") is get_index() is get_index("en") is get_index("xx")
    assert get_index().language.code == "en"


def test_an_empty_site_has_an_index_that_finds_nothing(settings, tmp_path):
    settings.CONTENT_DIR = tmp_path / "missing"
    reset_registry()
    try:
        index = SearchIndex(get_registry(), ENGLISH)
        assert index.search("anything").found_nothing
    finally:
        reset_registry()


def test_the_index_is_built_at_start_up(monkeypatch):
    from django.apps import apps

    built = []
    monkeypatch.setattr(search_index, "get_index", lambda *a: built.append(a))
    apps.get_app_config("search").ready()
    assert built == [()]


def test_a_python_without_fts5_fails_the_system_check(monkeypatch):
    from django.core.management import call_command
    from django.core.management.base import SystemCheckError

    from search import checks

    assert checks.check_fts5(None) == []
    monkeypatch.setattr(checks, "fts5_available", lambda: False)
    with pytest.raises(SystemCheckError, match=r"search\.E001"):
        call_command("check")


# --- The Spanish pages ----------------------------------------------------------------------


def test_the_spanish_pages_have_an_index_of_their_own():
    spanish, english = get_index("es"), get_index("en-gb")
    assert spanish is not english
    assert spanish.language.code == "es"
    assert all(doc.url.startswith("/es/") for doc in spanish.documents)
    outcome = spanish.search("efectos secundarios")
    assert urls(outcome)[0] == "/es/efectos-secundarios/"
    assert outcome.definition is not None
    assert outcome.definition.url == "/es/glosario/#efecto-secundario"


@pytest.mark.parametrize(
    ("query", "written"),
    [("infusion", "infusión"), ("infusiones", "infusión"), ("quimio", "quimioterapia")],
)
def test_spanish_queries_fold_accents_and_find_plurals_and_synonyms(query, written):
    outcome = get_index("es").search(query)
    snippets = " ".join(str(result.snippet) for result in outcome.results).lower()
    assert f"<mark>{written}</mark>" in snippets


def test_a_spanish_correction_keeps_its_accents():
    outcome = get_index("es").search("cirujia")
    assert outcome.searched_for == "cirugía"


@pytest.mark.django_db
def test_searching_in_both_languages_in_turn_builds_each_index_once(client, monkeypatch):
    client.get("/search/", {"q": "chemo"})
    client.get("/es/search/", {"q": "quimio"})
    built = []
    real = search_index.SearchIndex
    monkeypatch.setattr(search_index, "SearchIndex", lambda *a: built.append(a) or real(*a))
    for _ in range(2):
        assert b"/side-effects/" in client.get("/search/", {"q": "side effects"}).content
        spanish = client.get("/es/search/", {"q": "efectos secundarios"}).content.decode()
        assert 'href="/es/efectos-secundarios/"' in spanish
        assert "El tratamiento" in spanish  # the section, translated
        assert 'action="/es/search/"' in spanish
    assert built == []

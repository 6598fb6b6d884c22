"""Automatic glossary links: the first use of each glossary term on a page links to its entry.

Also the glossary's own rules (ids, other names, pronunciations cited) and a page's own
scripts (`scripts: [...]`), which the "Questions to ask" page uses."""

import re
from pathlib import Path

import pytest
from django.conf import settings

from tilsite.glossary import Glossary, match_forms
from tilsite.pages import get_registry, reset_registry

GLOSSARY = """\
!!! in-short "In short"
    Words explained.

Chemotherapy {#chemotherapy}
:   Medicines that kill cells that divide quickly. See also lymphodepleting chemotherapy.

Clinical trial {#clinical-trial}
:   A research study in people.

Lymphodepleting chemotherapy {#lymphodepleting-chemotherapy}
:   Chemotherapy given before the cells.

Interleukin-2 (IL-2) {#interleukin-2}
:   A cytokine.

Caregiver {#caregiver also="carer, family carer"}
:   Someone who looks after a person who is ill.

Platelets {#platelets}
:   Tiny blood cells that help blood to clot.

Tumour {#tumour}
:   A lump of cells.

T cell {#t-cell}
:   A kind of lymphocyte.

Source {#source}
:   Where a fact comes from.
"""
GLOSSARY_LINK = re.compile(r'<a class="glossary-link" href="/glossary/#([a-z0-9-]+)">([^<]*)</a>')


@pytest.fixture
def glossary_site(site):
    site.page("glossary", GLOSSARY, title="Glossary", section="Support")
    return site


def auto_links(slug: str) -> list[tuple[str, str]]:
    """(anchor, linked text) of every automatic glossary link on the page, in order."""
    reset_registry()
    page = get_registry().get(slug)
    assert page is not None, [str(problem) for problem in get_registry().problems]
    return GLOSSARY_LINK.findall(page.intro_html + page.html)


def problems():
    reset_registry()
    return [str(problem) for problem in get_registry().problems]


def test_the_first_use_of_each_term_links_to_its_entry_in_any_case_or_number(glossary_site):
    glossary_site.page(
        "trials",
        """\
        Clinical trials test new treatments. A clinical trial has rules.

        Your platelet count is checked. The TUMOUR may shrink; tumours vary.
        """,
    )
    assert auto_links("trials") == [
        ("clinical-trial", "Clinical trials"),
        ("platelets", "platelet"),
        ("tumour", "TUMOUR"),
    ]
    html = get_registry().get("trials").html
    assert (
        '<p><a class="glossary-link" href="/glossary/#clinical-trial">Clinical trials</a> test '
        "new treatments. A clinical trial has rules.</p>"
    ) in html
    assert problems() == []


def test_a_term_is_found_by_the_parts_of_its_name_and_its_other_names(glossary_site):
    glossary_site.page("names", "Carers give IL-2 at home. Later, interleukin-2 again.")
    assert auto_links("names") == [("caregiver", "Carers"), ("interleukin-2", "IL-2")]
    glossary = get_registry().get("glossary").html
    assert 'id="caregiver"' in glossary
    assert "also=" not in glossary  # the other names are the authors', not the page's


def test_the_longest_term_wins_and_no_shorter_term_is_linked_inside_it(glossary_site):
    glossary_site.page(
        "longest",
        """\
        Lymphodepleting chemotherapy comes first.

        Later, more lymphodepleting
        chemotherapy. Then chemotherapy on its own.
        """,
    )
    # The second "lymphodepleting chemotherapy" (across a line break) is not linked again, and
    # the "chemotherapy" inside it is not linked either: the third use is the first on its own.
    assert auto_links("longest") == [
        ("lymphodepleting-chemotherapy", "Lymphodepleting chemotherapy"),
        ("chemotherapy", "chemotherapy"),
    ]
    assert "Then <a class=" in get_registry().get("longest").html


def test_terms_match_whole_words_only(glossary_site):
    glossary_site.page(
        "words", "Tumour-infiltrating cells, T-cell counts and subtumours. Then T cells."
    )
    assert auto_links("words") == [("t-cell", "T cells")]


def test_no_link_in_headings_links_code_citations_callout_titles_or_the_in_short_box(
    glossary_site,
):
    glossary_site.page(
        "skips",
        """\
        !!! in-short "In short"
            A tumour is a lump. Carers help.

        ## What is a tumour?

        A [tumour page](/side-effects/) and `tumour` in code. A fact [@alpha].

        !!! note "Tumour facts"
            Carers can read this.

        A tumour, at last.
        """,
    )
    assert auto_links("skips") == [("caregiver", "Carers"), ("tumour", "tumour")]
    page = get_registry().get("skips")
    assert "glossary-link" not in page.intro_html
    assert '<h2 id="what-is-a-tumour">What is a tumour?</h2>' in page.html
    assert '<a href="/side-effects/">tumour page</a>' in page.html
    assert "<code>tumour</code>" in page.html
    # The citation's hidden "Source 1" contains a glossary term; it is left alone.
    citation = re.search(r'<sup class="citation">.*?</sup>', page.html).group()
    assert "glossary-link" not in citation and "Source" in citation
    assert '<p class="admonition-title">Tumour facts</p>' in page.html
    assert 'A <a class="glossary-link" href="/glossary/#tumour">tumour</a>, at last.' in (page.html)


def test_the_glossary_page_itself_gets_no_automatic_links(glossary_site):
    assert auto_links("glossary") == []


def test_a_link_written_by_hand_is_kept_and_its_term_not_linked_again(glossary_site):
    glossary_site.page(
        "manual", "A [growth](/glossary/#tumour) here. A tumour there. A clinical trial too."
    )
    assert auto_links("manual") == [("clinical-trial", "clinical trial")]
    assert '<a href="/glossary/#tumour">growth</a>' in get_registry().get("manual").html


def test_an_author_can_turn_the_links_off_for_a_page_or_for_some_terms(glossary_site):
    body = "A tumour and a clinical trial, with carers."
    glossary_site.page("none", body, glossary_links="false")
    glossary_site.page("some", body, no_glossary_links="[tumour, Carer]")
    assert auto_links("none") == []
    assert auto_links("some") == [("clinical-trial", "clinical trial")]
    assert problems() == []


@pytest.mark.parametrize(
    ("meta", "expected"),
    [
        ({"glossary_links": "sometimes"}, "'glossary_links' must be true or false"),
        ({"no_glossary_links": "tumour"}, "'no_glossary_links' must be a list of names"),
        ({"no_glossary_links": "[tumor]"}, "'no_glossary_links' names 'tumor', which is not a"),
        ({"scripts": "question-list"}, "'scripts' must be a list of names"),
        ({"scripts": "[nowhere]"}, "'scripts' names 'nowhere', but static/js/nowhere.js does"),
        ({"scripts": "[../evil]"}, "'scripts' names '../evil': write the file's name without"),
    ],
)
def test_bad_glossary_and_script_keys_are_reported_with_the_file(glossary_site, meta, expected):
    glossary_site.page("bad", "A tumour.", **meta)
    found = [problem for problem in problems() if problem.startswith("content/bad.md, line 1")]
    assert len(found) == 1 and expected in found[0], found


def glossary_problems():
    return [problem for problem in problems() if problem.startswith("content/glossary.md")]


def test_a_glossary_term_needs_an_id(site):
    site.page("glossary", "Tumour {#tumour}\n:   A lump.\n\nLump\n:   No id.\n", title="Glossary")
    assert glossary_problems() == [
        "content/glossary.md: glossary term 'Lump' has no id: write it as 'Lump {#an-id}'"
    ]


def test_two_glossary_terms_may_not_share_a_name(site):
    site.page(
        "glossary",
        'Tumour {#tumour}\n:   A lump.\n\nGrowth {#growth also="tumour"}\n:   A lump too.\n',
        title="Glossary",
    )
    assert glossary_problems() == [
        "content/glossary.md: 'tumour' would match two glossary terms: 'Tumour' and 'Growth' "
        "(the first one is used)"
    ]


def test_without_a_glossary_page_nothing_is_linked(site):
    site.page("plain", "A tumour.")
    assert auto_links("plain") == []
    assert problems() == []


@pytest.mark.parametrize(
    ("name", "also", "forms"),
    [
        ("Clinical trial", (), ("Clinical trial", "Clinical trials")),
        ("Platelets", (), ("Platelets", "Platelet")),
        ("Biopsy", (), ("Biopsy", "Biopsies")),
        ("Autologous", (), ("Autologous",)),
        ("PD-1", (), ("PD-1",)),
        ("Filgrastim (G-CSF)", (), ("Filgrastim", "Filgrastims", "G-CSF", "G-CSFs")),
        ("Caregiver", (" carer ",), ("Caregiver", "Caregivers", "carer", "carers")),
    ],
)
def test_match_forms(name, also, forms):
    assert match_forms(name, also) == forms


def test_the_matcher_finds_terms_across_line_breaks_and_ignores_case():
    glossary = Glossary([])
    assert list(glossary.matches("anything")) == []
    from tilsite.glossary import GlossaryTerm

    trial = GlossaryTerm("clinical-trial", "Clinical trial", match_forms("Clinical trial"))
    glossary = Glossary([trial])
    found = [(m.group(), term.anchor) for m, term in glossary.matches("a CLINICAL\n trials x")]
    assert found == [("CLINICAL\n trials", "clinical-trial")]
    assert glossary.find("clinical-trial") is trial and glossary.find("Clinical  Trials") is trial
    assert glossary.find("trial") is None


# --- A page's own scripts ---------------------------------------------------------------


@pytest.mark.django_db
def test_a_page_loads_the_scripts_it_names_and_no_other_page_does(site, client):
    site.page("with-script", "Text.", scripts="[question-list]")
    site.page("without", "Text.")
    reset_registry()
    assert get_registry().get("with-script").scripts == ["js/question-list.js"]
    html = client.get("/with-script/").text
    assert re.search(r'<script src="/static/js/question-list[^"]*\.js" defer></script>', html)
    assert "question-list" not in client.get("/without/").text
    assert "<script>" not in html  # no inline script (the CSP forbids it)


# --- The real content -------------------------------------------------------------------

HAND_MADE = re.compile(r"\[([^\]]+)\]\(/glossary/#([a-z0-9-]+)\)")


@pytest.fixture(scope="module")
def registry():
    reset_registry()
    return get_registry()


def test_no_page_links_a_glossary_term_by_hand(registry):
    """The site makes those links; a hand-made one is kept only for a word the glossary does
    not list (for example "spread" linked to Metastatic)."""
    glossary = Glossary(registry.get("glossary").glossary_terms)
    hand_made = []
    for path in sorted(Path(settings.CONTENT_DIR).glob("*.md")):
        if path.name in {"README.md", "glossary.md"}:
            continue
        for text, anchor in HAND_MADE.findall(path.read_text(encoding="utf-8")):
            if glossary.find(text) is not None:
                hand_made.append(f"{path.name}: [{text}](/glossary/#{anchor})")
    assert hand_made == []


def test_real_pages_link_their_first_glossary_terms(registry):
    links = GLOSSARY_LINK.findall(registry.get("treatment-journey").html)
    anchors = [anchor for anchor, _ in links]
    assert len(anchors) == len(set(anchors)) >= 10
    assert "cyclophosphamide" in anchors and "fludarabine" in anchors
    assert GLOSSARY_LINK.findall(registry.get("glossary").html) == []


def test_every_pronunciation_in_the_glossary_is_cited(registry):
    """A pronunciation comes from a published source, never from us."""
    html = registry.get("glossary").html
    entries = re.findall(r"<dd>(.*?)</dd>", html, re.DOTALL)
    said = [entry for entry in entries if "Say it:" in entry]
    assert len(said) >= 5
    for entry in said:
        assert re.match(r'Say it: <em>[A-Za-z-]+</em><sup class="citation">', entry), entry

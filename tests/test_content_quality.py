"""Quality bars for the real content in content/ and content/es/: citations, reading level,
links, honesty. Tests taking `registry` run once per language."""

import re
from html.parser import HTMLParser
from urllib.parse import urlsplit
from xml.etree import ElementTree

import pytest

from tests.readability import (
    IN_SHORT_MAX_GRADE,
    INFLESZ_IN_SHORT_MIN,
    INFLESZ_PAGE_MIN,
    PAGE_MAX_GRADE,
    READING_GRADES,
    READING_GRADES_ES,
    grade,
    inflesz,
    prose_of,
)
from tilsite.pages import get_registry, reset_registry, twins

CITED_BLOCKS = {"p", "li", "td", "th", "dd"}
# Names that contain digits but state no figure: drug, gene and trial names, a standard's version.
NAMES_WITH_DIGITS = re.compile(
    r"\b(IL-\d+|PD-L?1|CD\d+|CTLA-4|MHC-I+|C-144-01|M14TIL|WCAG 2\.2|CAR-T|T-cells?|B-cells?)\b",
    re.IGNORECASE,
)
FIGURE = re.compile(r'<img alt="([^"]*)"[^>]*? src="([^"]+)"')


LANGUAGES = ["en-gb", "es"]


@pytest.fixture(scope="module", params=LANGUAGES, ids=["en", "es"])
def registry(request):
    reset_registry()
    return get_registry(request.param)


@pytest.fixture(scope="module")
def english():
    return get_registry("en-gb")


def all_pages(registry):
    return [registry.home, *registry.reading_order]


def twin(registry, english_slug):
    """The page of `registry`'s language that translates the English page `english_slug`."""
    page = get_registry("en-gb").get(english_slug)
    return twins(page)[registry.language]


class _Block:
    def __init__(self, tag):
        self.tag, self.text, self.cited = tag, [], False


class _BlockCollector(HTMLParser):
    """Collects each paragraph, list item and table cell with its own text and whether it
    carries a citation (text of nested blocks belongs to them, not to the outer block)."""

    def __init__(self):
        super().__init__()
        self.open_blocks: list[_Block] = []
        self.blocks: list[_Block] = []
        self.tags: list[str] = []
        self.in_citation = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"br", "img", "hr", "input", "wbr"}:
            return
        self.tags.append(tag)
        if tag == "sup" and "citation" in (dict(attrs).get("class") or ""):
            self.in_citation += 1
            if self.open_blocks:
                self.open_blocks[-1].cited = True
        if tag in CITED_BLOCKS:
            self.open_blocks.append(_Block(tag))

    def handle_endtag(self, tag):
        while self.tags:
            closed = self.tags.pop()
            if closed == "sup" and self.in_citation:
                self.in_citation -= 1
            if closed in CITED_BLOCKS and self.open_blocks:
                self.blocks.append(self.open_blocks.pop())
            if closed == tag:
                break

    def handle_data(self, data):
        if self.open_blocks and not self.in_citation:
            self.open_blocks[-1].text.append(data)


def uncited_figures(html: str) -> list[str]:
    collector = _BlockCollector()
    collector.feed(html)
    found = []
    for block in collector.blocks:
        text = " ".join("".join(block.text).split())
        if re.search(r"\d", NAMES_WITH_DIGITS.sub("", text)) and not block.cited:
            found.append(f"<{block.tag}> {text[:90]}")
    return found


def test_every_figure_carries_a_citation(registry):
    missing = {
        page.slug: uncited_figures(page.intro_html + page.html)
        for page in all_pages(registry)
        if uncited_figures(page.intro_html + page.html)
    }
    assert missing == {}


def test_the_figure_check_can_fail():
    assert uncited_figures("<p>About 7 in 10 people.</p>") == ["<p> About 7 in 10 people."]
    assert uncited_figures('<p>7 in 10<sup class="citation"><a>1</a></sup>.</p>') == []
    assert uncited_figures("<ul><li>IL-2 and PD-1 drugs</li></ul>") == []
    assert uncited_figures("<li>Outer <ul><li>inner 5 days</li></ul></li>") == ["<li> inner 5 days"]


def test_reading_level(english):
    registry = english
    too_hard = []
    for page in all_pages(registry):
        prose, in_short = prose_of(page.intro_html + page.html)
        page_grade, in_short_grade = grade(prose), grade(in_short)
        READING_GRADES.append((page.slug, in_short_grade, page_grade, len(prose.split())))
        if in_short_grade > IN_SHORT_MAX_GRADE or page_grade > PAGE_MAX_GRADE:
            too_hard.append((page.slug, in_short_grade, page_grade))
    assert too_hard == []


def test_spanish_reading_level_inflesz():
    """Spanish pages: Szigriszt-Pazos / INFLESZ at least 65 ("bastante fácil"), 70 for the
    "En resumen" box."""
    too_hard = []
    for page in all_pages(get_registry("es")):
        prose, in_short = prose_of(page.intro_html + page.html)
        page_score, in_short_score = inflesz(prose), inflesz(in_short)
        READING_GRADES_ES.append((page.slug, in_short_score, page_score, len(prose.split())))
        if in_short_score < INFLESZ_IN_SHORT_MIN or page_score < INFLESZ_PAGE_MIN:
            too_hard.append((page.slug, in_short_score, page_score))
    assert too_hard == []


def test_the_spanish_measure_tells_easy_from_hard():
    easy = "<p>Las células crecen en un laboratorio. Luego vuelven a su cuerpo. Tarda semanas.</p>"
    hard = (
        "<p>La quimioterapia linfodepletiva administrada por vía intravenosa facilita la "
        "implantación y la proliferación de linfocitos autólogos infiltrantes de tumores, "
        "posteriormente potenciados mediante la administración de interleucina.</p>"
    )
    assert inflesz(prose_of(easy)[0]) >= INFLESZ_IN_SHORT_MIN
    assert inflesz(prose_of(hard)[0]) < INFLESZ_PAGE_MIN


def test_every_english_page_has_a_spanish_twin_with_the_same_sources(english):
    missing, different = [], []
    for page in all_pages(english):
        spanish = twins(page).get("es")
        if spanish is None:
            missing.append(page.slug)
        elif {c.source.id for c in spanish.sources} != {c.source.id for c in page.sources}:
            different.append(page.slug)
    assert (missing, different) == ([], [])


def test_the_reading_level_measure_tells_easy_from_hard():
    easy = "<p>We grow your cells in a lab. Then you get them back. It takes a few weeks.</p>"
    hard = (
        "<p>Lymphodepleting chemotherapy administered intravenously facilitates "
        "engraftment and proliferation of autologous tumour-infiltrating lymphocytes "
        "subsequently supported by interleukin-2 administration.</p>"
    )
    assert grade(prose_of(easy)[0]) <= IN_SHORT_MAX_GRADE
    assert grade(prose_of(hard)[0]) > PAGE_MAX_GRADE


def test_every_page_starts_with_an_in_short_box(registry):
    assert [p.slug for p in all_pages(registry) if not p.intro_html] == []


class _LinksAndIds(HTMLParser):
    def __init__(self):
        super().__init__()
        self.links, self.ids = [], set()

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if attributes.get("id"):
            self.ids.add(attributes["id"])
        if tag == "a" and attributes.get("href"):
            self.links.append(attributes["href"])


def parse(html):
    parser = _LinksAndIds()
    parser.feed(html)
    return parser


@pytest.mark.django_db
def test_every_internal_link_and_anchor_resolves(registry, client):
    rendered = {}

    def fetch(path):
        if path not in rendered:
            response = client.get(path)
            rendered[path] = (response.status_code, parse(response.text) if response.text else None)
        return rendered[path]

    broken = []
    for page in all_pages(registry):
        for href in parse(page.intro_html + page.html).links:
            parts = urlsplit(href)
            if parts.scheme or parts.netloc:
                continue
            path = parts.path or page.url
            status, target = fetch(path)
            if status != 200:
                broken.append(f"{page.url}: {href} answers {status}")
            elif parts.fragment and parts.fragment not in target.ids:
                broken.append(f"{page.url}: {href} has no #{parts.fragment}")
    assert broken == []


def test_glossary_links_point_to_entries(registry):
    glossary = twin(registry, "glossary")
    glossary_ids = parse(glossary.html).ids
    missing, linked = set(), 0
    for page in all_pages(registry):
        for href in parse(page.intro_html + page.html).links:
            if href.startswith(glossary.url + "#"):
                linked += 1
                if href.split("#", 1)[1] not in glossary_ids:
                    missing.add(f"{page.slug}: {href}")
    assert missing == set()
    assert linked > 100  # the automatic glossary links are there


@pytest.mark.django_db
def test_no_page_is_orphaned(registry, client):
    """Each page is in the header or footer navigation, or linked from another page's text
    (the home page's list of every page does not count)."""
    layout = client.get(registry.home.url).text
    navigation = re.findall(r"<header.*?</header>|<footer.*?</footer>", layout, re.DOTALL)
    linked = {urlsplit(href).path for part in navigation for href in parse(part).links}
    for page in all_pages(registry):
        for href in parse(page.intro_html + page.html).links:
            target = urlsplit(href).path
            if not urlsplit(href).netloc and target != page.url:
                linked.add(target)
    orphans = [p.url for p in registry.reading_order if p.url not in linked]
    assert orphans == []


SYMPTOM_WORDS = re.compile(
    r"\b(side effects?|symptoms?|efectos? secundarios?|síntomas?)\b", re.IGNORECASE
)
WARNING_SIGNS = 'class="admonition urgent warning-signs"'


def test_every_page_about_side_effects_or_symptoms_shows_the_warning_signs_block(registry):
    """The shared block (content/_blocks/warning-signs.md): the signs to act on, the team's
    24-hour number, the emergency number."""
    missing = [
        page.slug
        for page in all_pages(registry)
        if SYMPTOM_WORDS.search(prose_of(page.intro_html + page.html)[0])
        and WARNING_SIGNS not in page.html
    ]
    assert missing == []


def test_the_warning_signs_block_gives_a_temperature_and_both_numbers(registry):
    html = twin(registry, "side-effects").html
    block = html[html.index(WARNING_SIGNS) :]
    block = block[: block.index("</div>")]
    assert re.search(r"100\.4\s*°F \(38\s*°C\)", block)
    assert "24-hour" in block or "24 horas" in block
    assert "emergency number" in block or "número de emergencias" in block


def test_every_figure_has_an_accessible_name():
    """Images on pages have alt text; each SVG figure names itself (role, title, desc) too,
    and is shown on a page of one language or another."""
    from pathlib import Path

    from django.conf import settings

    images = []
    for language in LANGUAGES:
        for page in all_pages(get_registry(language)):
            images += [(page.slug, alt, src) for alt, src in FIGURE.findall(page.html)]
    assert images, "no page shows a figure"
    assert [image for image in images if not image[1].strip()] == []
    figures = sorted(Path(settings.BASE_DIR, "static", "img", "figures").glob("*.svg"))
    assert figures
    for path in figures:
        root = ElementTree.parse(path).getroot()  # noqa: S314 (the project's own file)
        title = root.find("{http://www.w3.org/2000/svg}title")
        assert root.get("role") == "img", path.name
        assert title is not None and title.text.strip(), path.name
        assert title.get("id") in root.get("aria-labelledby", "").split(), path.name
        assert any(path.name in src for _, _, src in images), f"{path.name} is on no page"


def test_every_source_has_a_published_title_a_link_and_an_accessed_date(registry):
    incomplete = [
        source.id
        for source in registry.catalogue.sources.values()
        if not (source.title and source.link and source.accessed)
        or source.title.lower().startswith(("http", "www."))
    ]
    assert incomplete == []
    assert registry.catalogue.problems == []


@pytest.mark.parametrize(
    "word",
    ["tumor", "center", "counselor", "randomized", "hospitalization", "breakthrough", "miracle"],
)
def test_spelling_and_voice(english, word):
    """British spelling throughout (source titles stay as published); no hype."""
    pattern = re.compile(rf"\b{word}s?\b", re.IGNORECASE)
    found = [p.slug for p in all_pages(english) if pattern.search(prose_of(p.html)[0])]
    assert found == []

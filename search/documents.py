"""What the search index holds: the text of each rendered page, in parts, and each glossary
entry as a document of its own.

The text comes from the HTML the site serves (`Page.html` and `Page.intro_html`, rendered once
by the page engine), read with the standard library's HTML parser: what a reader sees, without
citation numbers or the words only screen readers hear ("Source 1", "(external site)").
"""

import re
from collections import Counter
from dataclasses import dataclass, field
from html.parser import HTMLParser

from tilsite.pages import Page, PageRegistry

GLOSSARY_SLUG = "glossary"  # in another language, the page whose translation_of is this
# A paragraph found on this many pages or more is a shared block (the warning signs, included
# in most pages): it is indexed in a column of its own that weighs little, so that it does not
# make every page look like an answer to "chills".
SHARED_MIN_PAGES = 3
# Characters the index uses to mark matched words in snippets; never left in the text itself.
MARK_START, MARK_END = "\ue000", "\ue001"
BLOCK_TAGS = {
    "p", "li", "dt", "dd", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6", "div", "section",
    "figcaption", "caption", "blockquote", "pre", "ul", "ol", "dl", "table", "tr", "figure",
}  # fmt: skip
HEADING_TAGS = {"h2", "h3", "h4"}
SKIPPED_CLASSES = {"citation", "visually-hidden"}
VOID_TAGS = {"br", "img", "hr", "input", "meta", "link", "source", "wbr"}
SPACES = re.compile(r"\s+")


@dataclass
class Heading:
    id: str
    text: str


@dataclass
class Passage:
    """A part of a document a snippet is taken from: the summary, the "In short" box, or the
    text under one heading (linked to from the result)."""

    text: str
    heading: Heading | None = None
    shared: bool = False


@dataclass
class Document:
    """One search result: a page, or a glossary entry (url /glossary/#term)."""

    url: str
    title: str
    section: str
    summary: str = ""
    intro: str = ""
    headings: list[Heading] = field(default_factory=list)
    body: str = ""
    shared: str = ""
    is_glossary_entry: bool = False
    passages: list[Passage] = field(default_factory=list)


@dataclass
class GlossaryEntry:
    id: str
    term: str
    definition: str
    page_url: str = f"/{GLOSSARY_SLUG}/"
    # Other ways to write the term, from the glossary ("also" forms, plural or singular).
    forms: tuple[str, ...] = ()

    @property
    def url(self) -> str:
        return f"{self.page_url}#{self.id}"


@dataclass
class _Segment:
    kind: str  # "heading", "text", "term" or "definition"
    text: str
    id: str = ""


class _TextParser(HTMLParser):
    """Splits rendered page HTML into segments: headings (with their ids), paragraphs and
    other blocks of text, glossary terms (dt) and definitions (dd)."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.segments: list[_Segment] = []
        self._stack: list[tuple[str, bool]] = []  # (tag, skipped)
        self._skip_depth = 0
        self._parts: list[str] = []
        self._kind = "text"
        self._id = ""

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag in BLOCK_TAGS:
            self._flush()
            if tag in HEADING_TAGS or "admonition-title" in (attributes.get("class") or ""):
                self._kind, self._id = "heading", attributes.get("id") or ""
            elif tag == "dt":
                self._kind, self._id = "term", attributes.get("id") or ""
            elif tag == "dd":
                self._kind = "definition"
        if tag in VOID_TAGS:
            return
        classes = set((attributes.get("class") or "").split())
        skipped = bool(classes & SKIPPED_CLASSES)
        self._stack.append((tag, skipped))
        self._skip_depth += skipped

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        # Pop to the matching tag (the renderer's HTML is well formed; this is belt and braces).
        while self._stack:
            open_tag, skipped = self._stack.pop()
            self._skip_depth -= skipped
            if open_tag == tag:
                break
        if tag in BLOCK_TAGS:
            self._flush()

    def handle_data(self, data):
        if not self._skip_depth:
            self._parts.append(data)

    def _flush(self):
        text = clean_text("".join(self._parts))
        if text:
            self.segments.append(_Segment(self._kind, text, self._id))
        self._parts, self._kind, self._id = [], "text", ""

    def close(self):
        super().close()
        self._flush()


def clean_text(text: str) -> str:
    return SPACES.sub(" ", text.replace(MARK_START, "").replace(MARK_END, "")).strip()


def segments(html: str) -> list[_Segment]:
    parser = _TextParser()
    parser.feed(html)
    parser.close()
    return parser.segments


def is_glossary(page: Page) -> bool:
    return GLOSSARY_SLUG in {page.slug, page.translation_of}


def glossary_entries(page: Page, parts: list[_Segment]) -> list[GlossaryEntry]:
    """The glossary page's definition list: each term (with its id) and its definition."""
    forms = {term.anchor: term.forms for term in page.glossary_terms}
    entries: list[GlossaryEntry] = []
    pending: GlossaryEntry | None = None
    for segment in parts:
        if segment.kind == "term" and segment.id:
            pending = GlossaryEntry(
                segment.id, segment.text, "", page.url, tuple(forms.get(segment.id, ()))
            )
            entries.append(pending)
        elif segment.kind == "definition" and pending is not None:
            pending.definition = f"{pending.definition} {segment.text}".strip()
        elif segment.kind != "definition":
            pending = None
    return entries


def build_documents(registry: PageRegistry) -> tuple[list[Document], list[GlossaryEntry]]:
    """Every page and glossary entry as a document, and the glossary entries."""
    page_segments = {slug: segments(page.html) for slug, page in registry.pages.items()}
    # A paragraph on several pages is a shared block: count pages, not occurrences.
    seen_on = Counter(
        text
        for parts in page_segments.values()
        for text in {s.text for s in parts if s.kind in {"text", "heading"}}
    )
    documents = []
    entries: list[GlossaryEntry] = []
    glossary_title = ""
    for slug, page in registry.pages.items():
        document = _page_document(page, page_segments[slug], seen_on)
        documents.append(document)
        if is_glossary(page):
            entries = glossary_entries(page, page_segments[slug])
            glossary_title = page.menu_title
    for entry in entries:
        documents.append(
            Document(
                url=entry.url,
                title=entry.term,
                section=glossary_title,  # "Glossary", or the glossary's title in its language
                body=entry.definition,
                is_glossary_entry=True,
                passages=[Passage(entry.definition)],
            )
        )
    return documents, entries


def _page_document(page: Page, parts: list[_Segment], seen_on: Counter) -> Document:
    intro = " ".join(s.text for s in segments(page.intro_html) if s.kind != "heading")
    document = Document(
        url=page.url,
        title=clean_text(page.title),
        section=page.section,
        summary=clean_text(page.summary),
        intro=intro,
    )
    body, shared = [], []
    heading: Heading | None = None
    section: list[str] = []
    sections: list[tuple[Heading | None, list[str]]] = [(None, section)]
    for segment in parts:
        if segment.kind in {"text", "heading"} and seen_on[segment.text] >= SHARED_MIN_PAGES:
            shared.append(segment.text)
        elif segment.kind == "heading":
            # A glossary letter ("A", "B") is a signpost, not a topic.
            if len(segment.text) > 1:
                heading = Heading(segment.id, segment.text)
                document.headings.append(heading)
                section = []
                sections.append((heading, section))
        elif segment.kind in {"term", "definition"} and is_glossary(page):
            continue  # each entry is a document of its own
        else:
            body.append(segment.text)
            section.append(segment.text)
    document.body, document.shared = " ".join(body), " ".join(shared)
    document.passages = [Passage(document.summary), Passage(intro)]
    document.passages += [Passage(" ".join(texts), heading) for heading, texts in sections if texts]
    document.passages.append(Passage(document.shared, shared=True))
    document.passages = [p for p in document.passages if p.text]
    return document

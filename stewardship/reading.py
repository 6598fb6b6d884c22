"""Reading level of the site's pages, measured on prose only: one place for the tests' bars
and the content dashboard.

Prose is the text of paragraphs and list items in the rendered page body, without headings,
tables, the sources list, the page's review dates or the contents list. The "In short" box is
measured on its own.

textstat (pinned at 0.7.8: later versions download NLTK's cmudict at run time and fail
offline) loads the whole CMU pronouncing dictionary on its first use, which adds about 66 MB to
the process (measured). A web worker therefore never imports it: `page_grades` measures in a
short-lived child process (`python -m stewardship.reading`, texts in on stdin, grades out on
stdout), once per page registry, and keeps the result with that registry.
"""

import json
import logging
import subprocess
import sys
import threading
import weakref
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path

IN_SHORT_MAX_GRADE = 6
PAGE_MAX_GRADE = 8
# A registry of 25 pages is measured in about a second; this is a generous ceiling.
CHILD_TIMEOUT_SECONDS = 120

SKIPPED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "table", "nav", "sup", "script", "style"}
SKIPPED_CLASSES = {"sources", "page-meta", "toc", "admonition-title", "pager", "breadcrumbs"}
VOID_TAGS = {"br", "img", "hr", "input", "meta", "link", "wbr", "source", "col", "area"}
BLOCK_TAGS = {"p", "li", "dd", "dt", "td", "th", "div", "section", "aside", "blockquote"}

logger = logging.getLogger(__name__)


class _ProseExtractor(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack: list[tuple[str, bool, bool]] = []  # (tag, skipped, in_short)
        self.prose: list[str] = []
        self.in_short: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in VOID_TAGS:
            return
        classes = set((dict(attrs).get("class") or "").split())
        parent_skipped = bool(self.stack) and self.stack[-1][1]
        parent_in_short = bool(self.stack) and self.stack[-1][2]
        skipped = parent_skipped or tag in SKIPPED_TAGS or bool(classes & SKIPPED_CLASSES)
        in_short = parent_in_short or "in-short" in classes
        self.stack.append((tag, skipped, in_short))
        if tag in BLOCK_TAGS:
            self.prose.append("\n")
            self.in_short.append("\n")

    def handle_endtag(self, tag):
        if tag in VOID_TAGS:
            return
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if self.stack and self.stack[-1][1]:
            return
        self.prose.append(data)
        if self.stack and self.stack[-1][2]:
            self.in_short.append(data)


def _sentences(chunks):
    # Each block (list item, paragraph) is a sentence even without a full stop.
    lines = [" ".join(line.split()) for line in "".join(chunks).split("\n")]
    return " ".join(
        line if line.endswith((".", "?", "!", ":")) else line + "." for line in lines if line
    )


def prose_of(html: str) -> tuple[str, str]:
    """(whole-page prose, In-short prose) from a page body's HTML."""
    parser = _ProseExtractor()
    parser.feed(html)
    return _sentences(parser.prose), _sentences(parser.in_short)


def grade(text: str) -> float:
    """Flesch-Kincaid grade, to one decimal (0 for no text). Loads textstat in this process."""
    import textstat

    return round(textstat.flesch_kincaid_grade(text), 1) if text.strip() else 0.0


# Spanish pages: the Szigriszt-Pazos index on the INFLESZ scale (65-80 "bastante fácil").
INFLESZ_PAGE_MIN = 65
INFLESZ_IN_SHORT_MIN = 70


def inflesz(text: str) -> float:
    """Szigriszt-Pazos perspicuity of Spanish text, to one decimal (100 for no text)."""
    import textstat

    if not text.strip():
        return 100.0
    textstat.set_lang("es")
    try:
        return round(textstat.szigriszt_pazos(text), 1)
    finally:
        textstat.set_lang("en_US")


def word_count(text: str) -> int:
    import textstat

    return textstat.lexicon_count(text)


@dataclass(frozen=True)
class PageGrades:
    in_short: float
    page: float
    words: int

    @property
    def in_short_too_hard(self) -> bool:
        return self.in_short > IN_SHORT_MAX_GRADE

    @property
    def page_too_hard(self) -> bool:
        return self.page > PAGE_MAX_GRADE


def measure(texts: list[tuple[str, str]]) -> list[PageGrades]:
    """Grades of (prose, In-short prose) pairs, measured in a child process (see above)."""
    completed = subprocess.run(
        [sys.executable, "-m", "stewardship.reading"],
        input=json.dumps(texts),
        capture_output=True,
        text=True,
        timeout=CHILD_TIMEOUT_SECONDS,
        cwd=Path(__file__).resolve().parent.parent,
        check=True,
    )
    return [PageGrades(*row) for row in json.loads(completed.stdout)]


_kept: tuple[weakref.ReferenceType, dict] | None = None
_lock = threading.Lock()


def page_grades(registry) -> dict | None:
    """{slug: PageGrades} for every page of this registry, measured once per registry (a new
    registry, after a content edit, is measured again); None when they cannot be measured."""
    global _kept
    with _lock:
        if _kept is not None and _kept[0]() is registry:
            return _kept[1]
        pages = list(registry.pages.values())
        try:
            measured = measure([prose_of(page.intro_html + page.html) for page in pages])
        except (OSError, ValueError, TypeError, subprocess.SubprocessError) as error:
            logger.error("Could not measure reading grades: %s", error.__class__.__name__)
            return None
        grades = {page.slug: found for page, found in zip(pages, measured, strict=True)}
        _kept = (weakref.ref(registry), grades)
        return grades


def _child() -> None:
    """Read [[prose, in_short], ...] as JSON on stdin; write [[in_short, page, words], ...]."""
    texts = json.load(sys.stdin)
    rows = [(grade(in_short), grade(prose), word_count(prose)) for prose, in_short in texts]
    json.dump(rows, sys.stdout)


if __name__ == "__main__":
    _child()

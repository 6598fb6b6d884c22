"""Reading level of the site's pages, measured on prose only.

Prose is the text of paragraphs and list items in the rendered page body, without headings,
tables, the sources list, the page's review dates or the contents list. The "In short" box is
measured on its own. Run `python -m tests.readability` for a table of every page.
"""

from html.parser import HTMLParser

import textstat

IN_SHORT_MAX_GRADE = 6
PAGE_MAX_GRADE = 8
# (slug, In short grade, page grade, words), filled by the content tests and printed by
# tests/conftest.py after every run.
READING_GRADES: list[tuple[str, float, float, int]] = []

SKIPPED_TAGS = {"h1", "h2", "h3", "h4", "h5", "h6", "table", "nav", "sup", "script", "style"}
SKIPPED_CLASSES = {"sources", "page-meta", "toc", "admonition-title", "pager", "breadcrumbs"}
VOID_TAGS = {"br", "img", "hr", "input", "meta", "link", "wbr", "source", "col", "area"}
BLOCK_TAGS = {"p", "li", "dd", "dt", "td", "th", "div", "section", "aside", "blockquote"}


class _ProseExtractor(HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack = []  # (tag, skipped, in_short)
        self.prose, self.in_short = [], []

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
    return round(textstat.flesch_kincaid_grade(text), 1) if text.strip() else 0.0


def main():
    from tilsite.pages import get_registry

    registry = get_registry()
    print(f"{'page':38} {'in short':>9} {'page':>6} {'words':>6}")
    for page in [registry.home, *registry.reading_order]:
        prose, in_short = prose_of(page.intro_html + page.html)
        words = textstat.lexicon_count(prose)
        print(f"{page.slug:38} {grade(in_short):>9} {grade(prose):>6} {words:>6}")


if __name__ == "__main__":
    import django

    django.setup()
    main()

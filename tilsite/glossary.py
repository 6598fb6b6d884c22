"""Glossary links made when a page is rendered: the first use of each glossary term on a page
links to the term's entry on the glossary page, so that authors do not add them by hand.

The terms come from the glossary page (content/glossary.md), a definition list whose terms
carry an id: `Antigen {#antigen}`. Rendering that page collects them (`GlossaryCollector`).
A term is matched by the text before a bracket and the text inside it ("Filgrastim (G-CSF)"
is found as "filgrastim" and as "G-CSF"), by the other names its entry lists
(`Caregiver {#caregiver also="carer"}`), and by the plural or singular of each, in any case,
as whole words. Every other page is rendered with `GlossaryLinker`, which links each term's
first use in reading order and never touches headings, links, code, citations, callout
titles, definition-list terms or the "In short" box.
"""

import re
import xml.etree.ElementTree as etree
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

GLOSSARY_SLUG = "glossary"
ALSO_ATTRIBUTE = "also"  # other names of a term, comma-separated; removed from the page
LINK_CLASS = "glossary-link"
SKIPPED_TAGS = {
    *(f"h{level}" for level in range(1, 7)),
    *("a", "code", "pre", "kbd", "samp", "sup", "dt", "script", "style"),
    *("button", "label", "select", "textarea", "svg"),
}
SKIPPED_CLASSES = {"in-short", "admonition-title"}
BRACKETED = re.compile(r"^(?P<main>[^(]+?)\s*\((?P<inner>[^()]+)\)\s*$")
# After the inline patterns (20), attr_list (8: ids on terms) and the citation numbering (10);
# before the site's own HTML adjustments (5).
PRIORITY = 6


@dataclass(frozen=True)
class GlossaryTerm:
    anchor: str
    name: str
    forms: tuple[str, ...]


def _other_number(form: str) -> str | None:
    """The plural of a singular form, the singular of a plural one, or None. Only the last
    word changes ("clinical trial" -> "clinical trials", "platelets" -> "platelet")."""
    last = form.rsplit(" ", 1)[-1]
    stem, lower = form[: len(form) - len(last)], last.lower()
    if not last[-1:].isalpha() or lower.endswith(("us", "is")):
        return None  # "PD-1", "autologous"
    if lower.endswith("ss") or lower.endswith(("x", "z", "ch", "sh")):
        return f"{stem}{last}es"
    if lower.endswith("s"):
        return f"{stem}{last[:-1]}"
    if re.search(r"[^aeiou]y$", lower):
        return f"{stem}{last[:-1]}ies"
    return f"{stem}{last}s"


def match_forms(name: str, also: Iterable[str] = ()) -> tuple[str, ...]:
    """Every way a term is written in running text, each once (case ignored)."""
    found = BRACKETED.match(name)
    bases = [found["main"], found["inner"]] if found else [name]
    forms: dict[str, str] = {}
    for base in [*bases, *also]:
        base = " ".join(base.split())
        other = _other_number(base) if base else None
        for form in (base, other):
            if form:
                forms.setdefault(form.casefold(), form)
    return tuple(forms.values())


def _words(form: str) -> str:
    # A term may be broken over two lines of the markdown source.
    return r"\s+".join(re.escape(word) for word in form.split())


class Glossary:
    """The glossary's terms and a matcher that finds any of them in a piece of text."""

    def __init__(self, terms: Iterable[GlossaryTerm], url: str = f"/{GLOSSARY_SLUG}/"):
        self.terms = list(terms)
        self.url = url
        self.problems: list[str] = []
        self._by_form: dict[str, GlossaryTerm] = {}
        clashes = set()
        for term in self.terms:
            for form in term.forms:
                other = self._by_form.setdefault(form.casefold(), term)
                if other is not term and (other.anchor, term.anchor) not in clashes:
                    clashes.add((other.anchor, term.anchor))
                    self.problems.append(
                        f"'{form}' would match two glossary terms: '{other.name}' and "
                        f"'{term.name}' (the first one is used)"
                    )
        # Longest first, so that "lymphodepleting chemotherapy" wins over "chemotherapy".
        forms = sorted(self._by_form, key=len, reverse=True)
        self._pattern = (
            re.compile(
                r"(?<![\w-])(?:" + "|".join(_words(form) for form in forms) + r")(?![\w-])",
                re.IGNORECASE,
            )
            if forms
            else None
        )

    def __bool__(self) -> bool:
        return bool(self.terms)

    def href(self, term: GlossaryTerm) -> str:
        return f"{self.url}#{term.anchor}"

    def find(self, name: str) -> GlossaryTerm | None:
        """The term with this id, or matched by this text."""
        name = " ".join(str(name).split()).casefold()
        for term in self.terms:
            if term.anchor == name:
                return term
        return self._by_form.get(name)

    def matches(self, text: str) -> Iterator[tuple[re.Match[str], GlossaryTerm]]:
        if self._pattern is None:
            return
        for match in self._pattern.finditer(text):
            yield match, self._by_form[" ".join(match.group().split()).casefold()]


class GlossaryCollector(Treeprocessor):
    """On the glossary page: reads each defined term (a <dt> with an id)."""

    def __init__(self, md, extension: "GlossaryExtension"):
        super().__init__(md)
        self.extension = extension

    def run(self, root):
        for term in root.iter("dt"):
            also = [name for name in term.attrib.pop(ALSO_ATTRIBUTE, "").split(",") if name]
            name = " ".join("".join(term.itertext()).split())
            anchor = term.get("id")
            if not anchor:
                self.extension.problems.append(
                    f"glossary term '{name}' has no id: write it as '{name} {{#an-id}}'"
                )
                continue
            self.extension.terms.append(GlossaryTerm(anchor, name, match_forms(name, also)))


class GlossaryLinker(Treeprocessor):
    """On every other page: links the first use of each term, in reading order. A term the
    page already links to by hand, earlier on, is not linked again."""

    def __init__(self, md, glossary: Glossary, excluded: set[str]):
        super().__init__(md)
        self.glossary = glossary
        self.excluded = excluded  # anchors the page turned off (no_glossary_links)
        self.linked: set[str] = set()

    def run(self, root):
        self.linked = set()
        self._walk(root)

    def _skipped(self, element) -> bool:
        classes = set((element.get("class") or "").split())
        return element.tag in SKIPPED_TAGS or bool(classes & SKIPPED_CLASSES)

    def _walk(self, element):
        if self._skipped(element):
            self._note_links(element)
            return
        element.text, links = self._link(element.text)
        for index, link in enumerate(links):
            element.insert(index, link)
        for child in list(element)[len(links) :]:
            self._walk(child)
            child.tail, links = self._link(child.tail)
            position = list(element).index(child) + 1
            for offset, link in enumerate(links):
                element.insert(position + offset, link)

    def _note_links(self, element):
        prefix = f"{self.glossary.url}#"
        for link in element.iter("a"):
            href = link.get("href") or ""
            if href.startswith(prefix):
                self.linked.add(href.removeprefix(prefix))

    def _link(self, text: str | None) -> tuple[str | None, list[etree.Element]]:
        """The text up to the first new link, and the links, each with the text after it."""
        if not text:
            return text, []
        leading, cursor = text, 0
        links: list[etree.Element] = []
        for match, term in self.glossary.matches(text):
            if term.anchor in self.linked or term.anchor in self.excluded:
                continue  # matched all the same, so that no shorter term inside it is linked
            self.linked.add(term.anchor)
            link = etree.Element("a", {"href": self.glossary.href(term), "class": LINK_CLASS})
            link.text = match.group()
            if links:
                links[-1].tail = text[cursor : match.start()]
            else:
                leading = text[: match.start()]
            links.append(link)
            cursor = match.end()
        if links:
            links[-1].tail = text[cursor:]
        return leading, links


class GlossaryExtension(Extension):
    """`GlossaryExtension(collect=True)` reads the terms of the glossary page into `terms`;
    `GlossaryExtension(glossary=..., excluded=...)` links them on any other page."""

    def __init__(
        self,
        glossary: Glossary | None = None,
        excluded: Iterable[str] = (),
        collect: bool = False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.glossary = glossary
        self.excluded = set(excluded)
        self.collect = collect
        self.terms: list[GlossaryTerm] = []
        self.problems: list[str] = []

    def extendMarkdown(self, md):
        if self.collect:
            md.treeprocessors.register(GlossaryCollector(md, self), "glossary", PRIORITY)
        elif self.glossary:
            md.treeprocessors.register(
                GlossaryLinker(md, self.glossary, self.excluded), "glossary", PRIORITY
            )

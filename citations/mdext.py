"""Python-Markdown extension for citations: `[@source-id]` or `[@a; @b]`.

Each page numbers its sources in order of first use. A citation becomes a superscript link to
the page's Sources list (`#source-N`); each occurrence has its own id so that the list can link
back to every place that cites it. Screen readers hear "Source 3", not a bare "3".
"""

import re
import xml.etree.ElementTree as etree
from dataclasses import dataclass, field

from markdown.extensions import Extension
from markdown.inlinepatterns import InlineProcessor
from markdown.treeprocessors import Treeprocessor

from citations.catalogue import Catalogue, Source

KEY = r"[a-z0-9][a-z0-9-]*"
CITATION_PATTERN = rf"\[@({KEY}(?:\s*;\s*@{KEY})*)\]"
# For scanning raw markdown (validation with line numbers): any [@...] group, even malformed.
CITATION_SCAN = re.compile(r"\[@([^\]]*)\]")


def keys_in(group: str) -> list[str]:
    return [part.strip().removeprefix("@").strip() for part in group.split(";")]


@dataclass
class CitedSource:
    number: int
    source: Source
    backrefs: list[str] = field(default_factory=list)


class CitationState:
    """The sources one page cites, numbered in order of first use."""

    def __init__(self, catalogue: Catalogue):
        self.catalogue = catalogue
        self.cited: dict[str, CitedSource] = {}

    def cite(self, key: str) -> CitedSource | None:
        """The numbered source, or None for a key the catalogue does not know (the page
        engine reports those, with their line, before rendering)."""
        source = self.catalogue.sources.get(key)
        if source is None:
            return None
        if key not in self.cited:
            self.cited[key] = CitedSource(number=len(self.cited) + 1, source=source)
        cited = self.cited[key]
        cited.backrefs.append(f"cite-{cited.number}-{len(cited.backrefs) + 1}")
        return cited

    @property
    def in_order(self) -> list[CitedSource]:
        return sorted(self.cited.values(), key=lambda cited: cited.number)


class CitationInlineProcessor(InlineProcessor):
    """Turns [@a; @b] into a <sup> of placeholder links; numbering happens afterwards."""

    # InlineProcessor changes the signature of Pattern.handleMatch, its base; the markdown
    # stubs silence the same complaint on InlineProcessor itself.
    def handleMatch(  # type: ignore[override]
        self, m: re.Match[str], data: str
    ) -> tuple[etree.Element, int, int]:
        sup = etree.Element("sup", {"class": "citation"})
        previous = None
        for key in keys_in(m.group(1)):
            element = etree.SubElement(sup, "a", {"data-cite": key})
            if previous is not None:
                previous.tail = ", "
            previous = element
        return sup, m.start(0), m.end(0)


class CitationNumberingTreeprocessor(Treeprocessor):
    """Numbers citations in document order (inline patterns do not run in that order)."""

    def __init__(self, md, state: CitationState):
        super().__init__(md)
        self.state = state

    def run(self, root):
        self._attach_to_preceding_word(root)
        for link in root.iter("a"):
            key = link.attrib.pop("data-cite", None)
            if key is None:
                continue
            cited = self.state.cite(key)
            if cited is None:
                link.tag = "span"
                link.set("class", "citation-unknown")
                link.text = f"[unknown source {key}]"
                continue
            link.set("href", f"#source-{cited.number}")
            link.set("id", cited.backrefs[-1])
            hidden = etree.SubElement(link, "span", {"class": "visually-hidden"})
            hidden.text = "Source "
            hidden.tail = str(cited.number)

    @staticmethod
    def _attach_to_preceding_word(root):
        """'fact [@id].' is written with a space; the superscript sits against the word."""
        for parent in root.iter():
            for index, child in enumerate(parent):
                if child.tag != "sup" or child.get("class") != "citation":
                    continue
                if index == 0:
                    parent.text = (parent.text or "").rstrip(" ")
                else:
                    parent[index - 1].tail = (parent[index - 1].tail or "").rstrip(" ")


class CitationExtension(Extension):
    def __init__(self, state: CitationState, **kwargs):
        self.state = state
        super().__init__(**kwargs)

    def extendMarkdown(self, md):
        # Before links (priority 160), which would otherwise read "[@id]" as link text.
        md.inlinePatterns.register(CitationInlineProcessor(CITATION_PATTERN, md), "citation", 175)
        # After inline patterns (20): the tree is complete and can be walked in order.
        md.treeprocessors.register(
            CitationNumberingTreeprocessor(md, self.state), "citation_numbers", 10
        )

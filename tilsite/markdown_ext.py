"""HTML adjustments made inside Python-Markdown (a treeprocessor), not with regexes.

- Links to other sites get rel="noopener", class "external" and a visually hidden
  "(external site)" so that screen-reader users know where a link goes.
- The "In short" box's title becomes a heading (it starts the page's outline); other callout
  titles stay as bold paragraphs.
- Tables are wrapped in a focusable, labelled region that scrolls sideways on a phone.
"""

import xml.etree.ElementTree as etree

from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor


class SiteHtmlTreeprocessor(Treeprocessor):
    def run(self, root):
        for parent in list(root.iter()):
            for index, child in enumerate(list(parent)):
                if child.tag == "table":
                    self._wrap_table(parent, index, child)
        for link in root.iter("a"):
            if link.get("href", "").startswith(("http://", "https://")):
                self._mark_external(link)
        for box in root.iter("div"):
            if "admonition" in box.get("class", "").split():
                self._title_callout(box)

    @staticmethod
    def _wrap_table(parent, index, table):
        wrapper = etree.Element(
            "div", {"class": "table-wrap", "role": "region", "tabindex": "0", "aria-label": "Table"}
        )
        parent.remove(table)
        wrapper.append(table)
        wrapper.tail, table.tail = table.tail, None
        parent.insert(index, wrapper)

    @staticmethod
    def _mark_external(link):
        link.set("rel", "noopener")
        link.set("class", " ".join(filter(None, [link.get("class"), "external"])))
        hint = etree.SubElement(link, "span", {"class": "visually-hidden"})
        hint.text = " (external site)"

    @staticmethod
    def _title_callout(box):
        classes = box.get("class", "").split()
        if not len(box) or box[0].get("class") != "admonition-title":
            return
        title = box[0]
        if "in-short" in classes:
            title.tag = "h2"
            title.set("id", "in-short")
            box.set("aria-labelledby", "in-short")
            box.tag = "section"
        else:
            box.set("role", "note")


class SiteHtmlExtension(Extension):
    def extendMarkdown(self, md):
        # After the inline patterns (priority 20), so links and tables exist.
        md.treeprocessors.register(SiteHtmlTreeprocessor(md), "site_html", 5)

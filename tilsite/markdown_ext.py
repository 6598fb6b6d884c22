"""HTML adjustments made inside Python-Markdown (a treeprocessor), not with regexes.

- Links to other sites get rel="noopener", class "external" and a visually hidden
  "(external site)" so that screen-reader users know where a link goes.
- The "In short" box's title becomes a heading (it starts the page's outline); other callout
  titles stay as bold paragraphs.
- Tables are wrapped in a focusable region that scrolls sideways on a phone, named after the
  heading above it ("Table: How common is each side effect?"), unique on the page.
- Images from the site's own static files (`/static/img/...`) get their hashed address, so they
  can be cached for ever, and the width and height of their viewBox (SVG), so the page does not
  jump when they load. An image without alt text, or a file that does not exist, is a problem
  reported by `manage.py check`.
"""

import contextlib
import re
import xml.etree.ElementTree as etree

from django.contrib.staticfiles import finders
from django.contrib.staticfiles.storage import staticfiles_storage
from markdown.extensions import Extension
from markdown.treeprocessors import Treeprocessor

STATIC_PREFIX = "/static/"
VIEWBOX = re.compile(rb'viewBox="\s*[-\d.]+[\s,]+[-\d.]+[\s,]+([\d.]+)[\s,]+([\d.]+)\s*"')


class SiteHtmlTreeprocessor(Treeprocessor):
    def __init__(self, md, problems: list[str]):
        super().__init__(md)
        self.problems = problems

    def run(self, root):
        parents = {child: parent for parent in root.iter() for child in parent}
        heading, labels = "", set()
        for element in list(root.iter()):  # document order: a heading, then what follows it
            if element.tag in {"h2", "h3"}:
                heading = "".join(element.itertext()).strip()
            elif element.tag == "table":
                # Each scrolling region is a landmark: its name must be unique on the page.
                base = label = f"Table: {heading}" if heading else "Table"
                number = 2
                while label in labels:
                    label, number = f"{base} ({number})", number + 1
                labels.add(label)
                parent = parents[element]
                self._wrap_table(parent, list(parent).index(element), element, label)
        for link in root.iter("a"):
            if link.get("href", "").startswith(("http://", "https://")):
                self._mark_external(link)
        for box in root.iter("div"):
            if "admonition" in box.get("class", "").split():
                self._title_callout(box)
        for image in root.iter("img"):
            self._check_image(image)

    def _check_image(self, image):
        src = image.get("src", "")
        if not image.get("alt", "").strip():
            self.problems.append(f"image {src} has no alt text (its accessible name)")
        if not src.startswith(STATIC_PREFIX):
            return
        name = src.removeprefix(STATIC_PREFIX)
        found = finders.find(name)
        if found is None:
            self.problems.append(f"image {src} is not a file in static/")
            return
        with open(found, "rb") as file:
            size = VIEWBOX.search(file.read(4096))
        if size:
            image.set("width", str(round(float(size.group(1)))))
            image.set("height", str(round(float(size.group(2)))))
        # Not collected yet (a check run before collectstatic): keep the plain address, which
        # whitenoise and nginx serve as well, with a short cache lifetime.
        with contextlib.suppress(ValueError):
            image.set("src", staticfiles_storage.url(name))

    @staticmethod
    def _wrap_table(parent, index, table, label):
        wrapper = etree.Element(
            "div", {"class": "table-wrap", "role": "region", "tabindex": "0", "aria-label": label}
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
    """`problems` lists what the treeprocessor found wrong in the page (missing images...)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.problems: list[str] = []

    def extendMarkdown(self, md):
        # After the inline patterns (priority 20), so links and tables exist.
        md.treeprocessors.register(SiteHtmlTreeprocessor(md, self.problems), "site_html", 5)

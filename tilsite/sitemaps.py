"""sitemap.xml: every content page in every language, with the date it was last reviewed and
its twins in the other languages (hreflang alternates, and x-default: the English page).

A page not yet translated is listed once, in English: the English page shown at a Spanish
address is not a Spanish page.
"""

from django.contrib.sitemaps import Sitemap

from tilsite.languages import HREFLANG
from tilsite.pages import all_registries, default_language, twins


class PageSitemap(Sitemap):
    def items(self):
        pages = []
        for registry in all_registries():
            home = [registry.home] if registry.home else []
            pages += home + registry.reading_order
        return pages

    def location(self, item):
        return item.url

    def lastmod(self, item):
        return item.last_reviewed

    def _urls(self, page, protocol, domain):
        urls = super()._urls(page, protocol, domain)  # type: ignore[misc]
        for url in urls:
            found = twins(url["item"])
            if len(found) < 2:
                continue
            for language, twin in found.items():
                url["alternates"].append(
                    {
                        "location": f"{protocol}://{domain}{twin.url}",
                        "lang_code": HREFLANG.get(language, language),
                    }
                )
            original = found.get(default_language())
            if original is not None:
                url["alternates"].append(
                    {"location": f"{protocol}://{domain}{original.url}", "lang_code": "x-default"}
                )
        return urls

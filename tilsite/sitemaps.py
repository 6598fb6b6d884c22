"""sitemap.xml: every content page, with the date it was last reviewed."""

from django.contrib.sitemaps import Sitemap

from tilsite.pages import get_registry


class PageSitemap(Sitemap):
    def items(self):
        registry = get_registry()
        home = [registry.home] if registry.home else []
        return home + registry.reading_order

    def location(self, item):
        return item.url

    def lastmod(self, item):
        return item.last_reviewed

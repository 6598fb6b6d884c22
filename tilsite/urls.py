"""Root URLs. The admin's address comes from the ADMIN_URL setting.

Fixed addresses come first; the last pattern serves content pages, whose slug must match
^[a-z0-9-]+$ and is then looked up among the loaded pages (never joined onto a path).
What readers see exists in every language: English at these addresses, Spanish under /es/
(i18n_patterns; tilsite.language activates the language from the address).
"""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path

from stewardship.views import content_dashboard
from tilsite import page_views, views
from tilsite.sitemaps import PageSitemap

handler400 = "tilsite.views.bad_request"
handler403 = "tilsite.views.permission_denied"
handler404 = "tilsite.views.page_not_found"
handler500 = "tilsite.views.server_error"

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("favicon.ico", views.favicon),
    path("sitemap.xml", sitemap, {"sitemaps": {"pages": PageSitemap}}, name="sitemap"),
    # Before the admin's own patterns, under its address and behind its sign-in.
    path(
        f"{settings.ADMIN_URL}content-dashboard/",
        admin.site.admin_view(content_dashboard),
        name="content_dashboard",
    ),
    path(settings.ADMIN_URL, admin.site.urls),
    *i18n_patterns(
        path("contact/", include("inquiries.urls")),
        path("sources/", include("citations.urls")),
        path("feedback/", include("feedback.urls")),
        path("search/", include("search.urls")),
        path("", page_views.home, name="home"),
        re_path(r"^(?P<slug>[a-z0-9-]+)/$", page_views.page, name="page"),
        prefix_default_language=False,
    ),
]

"""Root URLs. The admin's address comes from the ADMIN_URL setting.

Fixed addresses come first; the last pattern serves content pages, whose slug must match
^[a-z0-9-]+$ and is then looked up among the loaded pages (never joined onto a path).
"""

from django.conf import settings
from django.contrib import admin
from django.contrib.sitemaps.views import sitemap
from django.urls import include, path, re_path

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
    path(settings.ADMIN_URL, admin.site.urls),
    path("contact/", include("inquiries.urls")),
    path("sources/", include("citations.urls")),
    path("", page_views.home, name="home"),
    re_path(r"^(?P<slug>[a-z0-9-]+)/$", page_views.page, name="page"),
]

"""Root URLs. The admin's address comes from the ADMIN_URL setting."""

from django.conf import settings
from django.contrib import admin
from django.urls import path
from django.views.generic import TemplateView

from tilsite import views

handler400 = "tilsite.views.bad_request"
handler403 = "tilsite.views.permission_denied"
handler404 = "tilsite.views.page_not_found"
handler500 = "tilsite.views.server_error"

urlpatterns = [
    path("", TemplateView.as_view(template_name="home_placeholder.html"), name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("robots.txt", views.robots_txt, name="robots_txt"),
    path("favicon.ico", views.favicon),
    path(settings.ADMIN_URL, admin.site.urls),
]

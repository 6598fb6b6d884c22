"""Site-wide views: health check, robots.txt, favicon and the error pages."""

from django.conf import settings
from django.db import connection
from django.http import HttpResponse, HttpResponseServerError
from django.shortcuts import redirect, render
from django.template import loader
from django.templatetags.static import static
from django.utils import translation
from django.views.decorators.cache import cache_control, never_cache
from django.views.decorators.http import require_GET

from tilsite.languages import html_lang


@never_cache
@require_GET
def healthz(request):
    """200 when the database answers, 503 when it does not (for load balancers)."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception:  # any database failure means "not healthy"
        return HttpResponse("database unavailable\n", status=503, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")


@require_GET
@cache_control(max_age=86400, public=True)
def robots_txt(request):
    return render(request, "robots.txt", content_type="text/plain")


@require_GET
@cache_control(max_age=3600, public=True)
def favicon(request):
    # A temporary redirect, kept an hour at most: the icon's hashed name changes with each
    # deploy, and a permanent one would send browsers to a file that is gone.
    return redirect(static("img/favicon.svg"))


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # No context processors and no database: whatever broke may break them too.
    template = loader.get_template("errors/500.html")
    context = {
        "site_name": settings.SITE_NAME,
        "html_lang": html_lang(translation.get_language() or settings.LANGUAGE_CODE),
    }
    return HttpResponseServerError(template.render(context))

"""Values every template may show. Nothing here depends on the request's user or session,
so that content pages stay identical for every visitor and can be cached whole."""

from django.conf import settings

from tilsite.pages import get_registry


def site(request):
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "organisation_name": settings.ORGANISATION_NAME,
        "nav_pages": get_registry().nav,
    }

"""Values every template may show. Nothing here depends on the request's user or session,
so that content pages stay identical for every visitor and can be cached whole."""

from django.conf import settings


def site(request):
    return {
        "site_name": settings.SITE_NAME,
        "site_url": settings.SITE_URL,
        "organisation_name": settings.ORGANISATION_NAME,
    }

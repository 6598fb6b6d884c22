"""The language of a request comes from its address alone: /es/... is Spanish, everything else
is the default language (English).

Not Django's LocaleMiddleware: that one falls back to the Accept-Language header and a cookie
for addresses without a prefix and adds `Vary: Accept-Language`, so the same English page
would be kept once per browser language by every cache in front of the site. Here an address
always means one language; readers switch with the language link on every page.
"""

from django.utils import translation

from tilsite.pages import content_language, default_language


def language_from_path(path: str) -> str:
    first = path.lstrip("/").split("/", 1)[0]
    language = content_language(first) if first else default_language()
    return language if first == language else default_language()


class LanguageFromPathMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        language = language_from_path(request.path_info)
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", language)
        translation.deactivate()
        return response

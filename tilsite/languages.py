"""Links between the languages of a page: hreflang alternates and the language link.

A content page links to its own twin in the other language (never to the other home page when
a twin exists); other pages (the form, sources, search) to the same address in the other
language (Django's translate_url with i18n_patterns).
"""

from dataclasses import dataclass

from django.conf import settings
from django.urls import translate_url
from django.utils import translation

from tilsite.pages import Page, get_registry, language_prefix, twins

HREFLANG = {"en-gb": "en"}  # British English serves every English reader


@dataclass(frozen=True)
class LanguageLink:
    language: str  # Django's code: "en-gb", "es"
    hreflang: str  # "en", "es"
    name: str  # the language's own name: "English", "Español"
    url: str  # path on this site


def _name(language: str) -> str:
    return dict(settings.LANGUAGES)[language]


def _link(language: str, url: str) -> LanguageLink:
    return LanguageLink(language, HREFLANG.get(language, language), _name(language), url)


def page_alternates(page: Page) -> tuple[list[LanguageLink], list[LanguageLink]]:
    """(every language the page exists in, for hreflang; links to the other languages)."""
    found = twins(page)
    alternates = [
        _link(language, found[language].url)
        for language, _ in settings.LANGUAGES
        if language in found
    ]
    active = translation.get_language()
    links = []
    for language, _ in settings.LANGUAGES:
        if language == active:
            continue
        twin = found.get(language)
        home = get_registry(language).home
        url = twin.url if twin else (home.url if home else language_prefix(language) + "/")
        links.append(_link(language, url))
    return alternates, links


def language_links(request) -> list[LanguageLink]:
    """For any other page: the same address in each other language."""
    active = translation.get_language()
    links = []
    for language, _ in settings.LANGUAGES:
        if language != active:
            url = translate_url(request.path, language)
            if url == request.path:  # no equivalent: that language's home page
                url = language_prefix(language) + "/"
            links.append(_link(language, url))
    return links


def html_lang(language: str) -> str:
    """The `lang` attribute: en-GB, es."""
    head, _, tail = language.partition("-")
    return f"{head}-{tail.upper()}" if tail else head

"""JSON-LD for search engines: each content page described as a schema.org MedicalWebPage,
from its front matter.

The script is a data block (type application/ld+json), which browsers never run, so the site's
CSP (script-src 'self', no 'unsafe-inline') allows it; it is the same for everyone, so content
pages stay rendered once and cached. Nothing is added that the front matter and settings do
not say: `reviewedBy` appears only when the page names its reviewer, and as that text (schema.org
accepts text where a Person or Organization is expected; the front matter does not say which).
"""

import json

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe

from tilsite.pages import Page

# What every page is about, and for whom: the site's subject and readers (README.md).
THERAPY = {
    "@type": "MedicalTherapy",
    "name": "Tumour-infiltrating lymphocyte (TIL) therapy",
    "alternateName": "TIL therapy",
}
AUDIENCE = [
    {"@type": "MedicalAudience", "audienceType": "Patients"},
    {"@type": "MedicalAudience", "audienceType": "Caregivers"},
]
# Characters that could end the <script> element or start a comment or markup inside it; in
# JSON strings their \u escapes mean the same characters.
SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def language_tag(language_code: str) -> str:
    """A BCP 47 tag as the page's <html lang> writes it: en-gb becomes en-GB."""
    language, _, region = language_code.partition("-")
    return f"{language.lower()}-{region.upper()}" if region else language.lower()


def medical_web_page(page: Page) -> dict:
    data = {
        "@context": "https://schema.org",
        "@type": "MedicalWebPage",
        "name": page.title,
        "description": page.summary,
        "url": settings.SITE_URL + page.url,
        "inLanguage": language_tag(settings.LANGUAGE_CODE),
        "lastReviewed": page.last_reviewed.isoformat(),
        "audience": AUDIENCE,
        "about": THERAPY,
    }
    if page.reviewed_by:
        data["reviewedBy"] = page.reviewed_by
    return data


def json_ld(page: Page) -> SafeString:
    """The page's JSON-LD, safe to write between <script type="application/ld+json"> tags."""
    text = json.dumps(medical_web_page(page), ensure_ascii=False, indent=None)
    return mark_safe(text.translate(SCRIPT_ESCAPES))  # noqa: S308 (escaped just above)

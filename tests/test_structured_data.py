"""JSON-LD for search engines: every content page describes itself as a schema.org
MedicalWebPage, checked against the page's own front matter as read from its file."""

import json
import re

import pytest
import yaml

from tilsite.pages import get_registry, reset_registry, split_front_matter

LD_JSON = re.compile(r'<script type="application/ld\+json">(.*?)</script>', re.DOTALL)


def json_ld_of(html: str) -> tuple[dict, str]:
    """The page's one JSON-LD block, parsed, and its raw text."""
    (raw,) = LD_JSON.findall(html)
    return json.loads(raw), raw


def front_matter_of(path) -> dict:
    front, _, _ = split_front_matter(path.read_text(encoding="utf-8"))
    return yaml.safe_load(front)


@pytest.fixture(scope="module")
def real_pages():
    reset_registry()
    return get_registry().reading_order


@pytest.mark.django_db
def test_every_content_page_carries_json_ld_from_its_front_matter(client, settings, real_pages):
    assert len(real_pages) > 10
    for page in real_pages:
        html = client.get(page.url).text
        data, _ = json_ld_of(html)
        meta = front_matter_of(page.path)
        expected = {
            "@context": "https://schema.org",
            "@type": "MedicalWebPage",
            "name": meta["title"].strip(),
            "description": meta["summary"].strip(),
            "url": f"{settings.SITE_URL}/{page.path.stem}/",
            "inLanguage": "en-GB",
            "lastReviewed": meta["last_reviewed"].isoformat(),
            "audience": [
                {"@type": "MedicalAudience", "audienceType": "Patients"},
                {"@type": "MedicalAudience", "audienceType": "Caregivers"},
            ],
            "about": {
                "@type": "MedicalTherapy",
                "name": "Tumour-infiltrating lymphocyte (TIL) therapy",
                "alternateName": "TIL therapy",
            },
        }
        if (meta.get("reviewed_by") or "").strip():
            expected["reviewedBy"] = meta["reviewed_by"].strip()
        assert data == expected, page.slug
        # The language is the one the page declares for itself.
        assert f'<html lang="{data["inLanguage"]}">' in html
        assert f'<link rel="canonical" href="{data["url"]}">' in html


@pytest.mark.django_db
def test_a_named_reviewer_is_given_and_an_absent_one_is_not_invented(site, client):
    site.page("named", reviewed_by='"Dr A. Example, oncologist"')
    site.page("unnamed", reviewed_by='""')
    assert json_ld_of(client.get("/named/").text)[0]["reviewedBy"] == "Dr A. Example, oncologist"
    assert "reviewedBy" not in json_ld_of(client.get("/unnamed/").text)[0]


@pytest.mark.django_db
def test_text_that_could_close_the_script_is_escaped(site, client):
    title = "Cells </script><script>alert(1)</script> & <!-- more"
    site.page("tricky", title=json.dumps(title), summary='"Sizes < 2 cm & > 1 cm"')
    html = client.get("/tricky/").text
    data, raw = json_ld_of(html)
    assert (data["name"], data["description"]) == (title, "Sizes < 2 cm & > 1 cm")
    assert "<" not in raw and ">" not in raw and "&" not in raw
    assert "<script>alert(1)" not in html


@pytest.mark.django_db
def test_pages_with_json_ld_are_still_rendered_once_and_the_same_for_everyone(site, client):
    site.page("steps")
    first = client.get("/steps/")
    second = client.get("/steps/", headers={"Accept-Language": "es"})
    assert first["ETag"] == second["ETag"]
    assert first["Cache-Control"] == "public, max-age=300"
    assert not first.cookies
    assert "nonce" not in first.text.split("</head>")[0]

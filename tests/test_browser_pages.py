"""Content pages in a real browser: citations work both ways; no accessibility violations."""

import pytest

from tilsite.pages import get_registry

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_citation_link_goes_to_the_sources_list_and_back(page, live_server):
    page.goto(live_server.url + "/treatment-journey/")
    first = page.locator("sup.citation a").first
    # Screen readers hear "Source N": the link's accessible name includes the word.
    label = first.evaluate("el => el.textContent")
    assert label.startswith("Source ")
    first.click()
    assert page.url.endswith("#source-1")
    target = page.locator("#source-1")
    assert target.is_visible()
    assert page.evaluate("window.scrollY") > 0
    target.locator("a[href^='#cite-1-']").first.click()
    assert "#cite-1-" in page.url
    assert page.locator(page.url[page.url.index("#") :]).is_visible()


def test_content_page_and_sources_page_pass_axe(page, live_server, axe):
    page.goto(live_server.url + "/side-effects/")
    axe(page)
    page.goto(live_server.url + "/sources/")
    assert page.get_by_role("heading", level=1).inner_text() == "Sources"
    axe(page)


def test_every_page_passes_axe_and_loads_nothing_from_elsewhere(page, live_server, axe):
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    paths = [p.url for p in [get_registry().home, *get_registry().reading_order]]
    for path in [*paths, "/sources/", "/contact/"]:
        response = page.goto(live_server.url + path)
        assert response.status == 200, path
        axe(page)
    assert requested and all(url.startswith(live_server.url) for url in requested), [
        url for url in requested if not url.startswith(live_server.url)
    ]


def test_every_page_fits_a_320_pixel_screen(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    too_wide = {}
    for content_page in [get_registry().home, *get_registry().reading_order]:
        page.goto(live_server.url + content_page.url)
        width = page.evaluate("document.documentElement.scrollWidth")
        if width > 320:
            too_wide[content_page.url] = width
    assert too_wide == {}

"""The base layout in a real browser: accessible, keyboard-usable, fits a phone."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_home_page_has_no_accessibility_violations(page, live_server, axe):
    page.goto(live_server.url + "/")
    assert page.title()
    axe(page)


def test_404_page_has_no_accessibility_violations(page, live_server, axe):
    response = page.goto(live_server.url + "/this-page-does-not-exist/")
    assert response.status == 404
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
    axe(page)


def test_skip_link_comes_first_and_keyboard_reaches_every_link(page, live_server):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent.trim()") == "Skip to main content"
    link_count = page.locator("a[href]").count()
    reached = set()
    for _ in range(link_count + 2):
        href = page.evaluate("document.activeElement.getAttribute('href')")
        if href:
            reached.add(href)
        page.keyboard.press("Tab")
    all_links = set(
        page.locator("a[href]").evaluate_all("els => els.map(e => e.getAttribute('href'))")
    )
    assert all_links <= reached


def test_layout_fits_a_narrow_phone_without_sideways_scrolling(page, live_server):
    page.set_viewport_size({"width": 320, "height": 640})
    page.goto(live_server.url + "/")
    assert page.evaluate("document.documentElement.scrollWidth") <= 320


def test_focus_is_visible(page, live_server):
    page.goto(live_server.url + "/")
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    style = page.evaluate(
        "(() => { const s = getComputedStyle(document.activeElement);"
        " return [s.outlineStyle, s.outlineWidth]; })()"
    )
    assert style[0] != "none" and style[1] != "0px"

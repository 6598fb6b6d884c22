"""The search box and the results pages in a real browser: by keyboard, without JavaScript,
at a phone's width and a desktop's, checked by axe-core."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def search_from_the_header(page, text):
    box = page.get_by_role("search").get_by_label("Search this site")
    box.fill(text)
    box.press("Enter")
    page.wait_for_load_state()


def result_titles(page):
    return page.locator(".search-result__title a").all_inner_texts()


def test_keyboard_user_searches_from_a_content_page_and_gets_the_corrected_results(
    page, live_server, axe
):
    page.goto(live_server.url + "/treatment-journey/")
    axe(page)
    page.keyboard.press("Tab")  # skip link
    page.keyboard.press("Tab")  # site name
    page.keyboard.press("Tab")  # the page in Spanish
    assert page.evaluate("document.activeElement.getAttribute('hreflang')") == "es"
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "site-search-query"
    page.keyboard.type("side efects")
    page.keyboard.press("Enter")
    page.wait_for_url("**/search/?q=side+efects")
    assert "Showing results for side effects" in page.locator(".search-correction").inner_text()
    assert result_titles(page)[0] == "Side effects of TIL therapy"
    assert page.locator(".search-result mark").first.inner_text().lower() == "side"
    axe(page)
    page.locator(".search-correction a").click()
    assert "exact=1" in page.url
    axe(page)


def test_a_misspelt_medical_word_offers_the_right_word(page, live_server, axe):
    page.goto(live_server.url + "/")
    search_from_the_header(page, "lymphocites")
    assert "lymphocytes" in page.locator(".search-correction").inner_text()
    assert page.get_by_role("searchbox", name="Search this site").input_value() == "lymphocites"
    axe(page)


def test_amtagvi_tumor_and_il_2_find_what_the_site_calls_them(page, live_server, axe):
    page.goto(live_server.url + "/search/?q=Amtagvi")
    assert "approved" in page.locator(".search-definition").inner_text()
    assert page.locator(".search-result").count() > 3
    page.goto(live_server.url + "/search/?q=tumor")
    assert page.locator(".search-result mark", has_text="tumour").count() > 0
    page.goto(live_server.url + "/search/?q=IL-2")
    assert page.locator(".search-result mark", has_text="IL-2").count() > 0
    axe(page)


def test_a_glossary_term_alone_shows_its_definition_first(page, live_server, axe):
    page.goto(live_server.url + "/search/?q=neutropenia")
    headings = page.locator("main h2").all_inner_texts()
    assert headings[0] == "Neutropenia"
    page.get_by_role("link", name="“Neutropenia” in the glossary").click()
    page.wait_for_url("**/glossary/#neutropenia")
    page.go_back()
    axe(page)


def test_no_results_page_is_kind_and_accessible(page, live_server, axe):
    page.goto(live_server.url + "/search/?q=xylophone+quintet")
    assert page.get_by_role("heading", name="Things to try").is_visible()
    assert page.get_by_role("link", name="ask us a question").is_visible()
    axe(page)


def test_empty_search_page_and_hostile_query_are_accessible(page, live_server, axe):
    page.goto(live_server.url + "/search/")
    axe(page)
    page.goto(live_server.url + "/search/?q=%3Cscript%3Ealert(1)%3C%2Fscript%3E%00")
    assert page.get_by_role("searchbox").input_value().startswith("<script>alert(1)")
    axe(page)


def test_searching_works_without_javascript(browser, live_server):
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.goto(live_server.url + "/side-effects/")
    search_from_the_header(page, "capilary leak")
    assert "capillary leak" in page.locator(".search-correction").inner_text()
    assert page.locator(".search-result").count() >= 2
    context.close()


@pytest.mark.parametrize("width", [320, 375, 1280])
def test_the_search_box_fits_every_width(page, live_server, width):
    page.set_viewport_size({"width": width, "height": 800})
    for path in ("/", "/search/?q=side+efects", "/search/?q=xylophone"):
        page.goto(live_server.url + path)
        assert page.evaluate("document.documentElement.scrollWidth") <= width, path
    page.goto(live_server.url + "/")
    box = page.locator(".site-search").bounding_box()
    name = page.locator(".site-name").bounding_box()
    button = page.locator(".site-search__button").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width
    assert button["height"] >= 24 and button["width"] >= 24  # WCAG 2.5.8 target size
    if width >= 1280:
        # Beside the site name, at the right.
        assert abs((box["y"] + box["height"] / 2) - (name["y"] + name["height"] / 2)) < 20
        assert box["x"] > width / 2
    else:
        # Under the site name, as wide as the screen allows.
        assert box["y"] > name["y"] + name["height"] - 1
        assert box["width"] >= min(width - 40, 26 * 16 - 1)


def test_the_spanish_header_box_searches_the_spanish_pages(page, live_server, axe):
    page.goto(live_server.url + "/es/")
    box = page.get_by_role("search").get_by_role("searchbox")
    box.fill("efectos secundaros")
    box.press("Enter")
    page.wait_for_url("**/es/search/?q=efectos+secundaros")
    assert result_titles(page)[0] == "Efectos secundarios de la terapia TIL"
    assert page.locator(".search-definition a").get_attribute("href").startswith("/es/glosario/")
    axe(page)

"""The scripts in Spanish, in a real browser: the question form's character count and "My
question list" write the words the page gives them (data-* attributes), with no inline script."""

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OWN = "¿Puede quedarse mi pareja conmigo en el hospital? Cuesta $&"
STUB_PRINT = "() => { window.printed = 0; window.print = () => { window.printed += 1; }; }"


def test_the_character_count_counts_in_spanish(page, live_server, console_errors, axe):
    page.goto(live_server.url + "/es/contact/")
    hint = page.locator("#id_question-info")
    assert hint.inner_text() == "Le quedan 5,000 caracteres"
    page.fill("#id_question", "x" * 4999)
    assert hint.inner_text() == "Le queda 1 carácter"
    page.fill("#id_question", "x" * 5002)
    assert hint.inner_text() == "Tiene 2 caracteres de más"
    assert console_errors == []
    axe(page)


def test_my_question_list_in_spanish(page, live_server, console_errors, axe):
    page.goto(live_server.url + "/es/preguntas-para-su-equipo/")
    page.evaluate(STUB_PRINT)
    status = page.get_by_role("status")
    page.get_by_role("button", name="Imprimir mi lista").click()
    assert status.inner_text().startswith("Marque al menos una pregunta")
    page.get_by_label("¿Qué otras opciones tengo, y cómo se comparan?").check()
    assert page.locator(".question-tools__count").inner_text() == "1 pregunta en su lista."
    page.get_by_label("Su pregunta", exact=True).fill(OWN)
    page.get_by_role("button", name="Añadir", exact=True).click()
    # What the reader typed is shown as typed, "$&" included.
    assert status.inner_text() == f"Añadida a su lista: {OWN}"
    assert page.locator(".question-tools__count").inner_text() == "2 preguntas en su lista."
    assert page.get_by_role("heading", name="Sus propias preguntas").is_visible()
    page.get_by_role("button", name="Imprimir mi lista").click()
    assert page.evaluate("window.printed") == 1
    printed_title = page.locator(".my-question-list h1").inner_text()
    assert printed_title == "Mis preguntas para mi equipo médico"
    page.get_by_role("button", name="Quitar").click()
    assert status.inner_text() == "Pregunta quitada."
    assert console_errors == []
    axe(page)

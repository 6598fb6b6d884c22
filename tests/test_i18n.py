"""The interface in Spanish: every string of the translation file translated and compiled, the
Spanish pages, form, messages and emails, and the English ones unchanged beside them."""

import datetime
import gettext
import re
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command
from django.utils import translation

from inquiries.emails import build_email
from inquiries.models import EmailDelivery, Inquiry
from inquiries.protection import status_token
from tests.content_helpers import front_matter
from tests.inquiries_helpers import element, form_data, make_inquiry, text_of

REPO = Path(__file__).resolve().parent.parent
PO_FILE = REPO / "locale" / "es" / "LC_MESSAGES" / "django.po"
MO_FILE = PO_FILE.with_suffix(".mo")
# What the README's command gives makemessages to leave out.
NOT_OURS = {".venv", ".tools", "staticfiles", "var", ".git", "node_modules", "__pycache__"}
SPANISH_MONTHS = (
    "enero|febrero|marzo|abril|mayo|junio|julio|agosto|septiembre|octubre|noviembre|diciembre"
)
SPANISH_DATE = rf"\d{{1,2}} de (?:{SPANISH_MONTHS}) de \d{{4}}"
ENGLISH_DATE = r"\d{1,2} (?:January|February|March|April|May|June|July|August|September|" + (
    r"October|November|December) \d{4}"
)


# --- The translation file -------------------------------------------------------------------


def po_entries(path: Path) -> list[dict]:
    """The entries of a .po file: flags, msgctxt, msgid, msgid_plural and msgstr[n], with
    obsolete (#~) entries left out."""
    entries, entry, field = [], None, None
    for line in [*path.read_text(encoding="utf-8").splitlines(), ""]:
        if not line.strip():
            if entry and "msgid" in entry:
                entries.append(entry)
            entry = None
            continue
        if line.startswith("#~"):
            continue
        entry = entry if entry is not None else {"flags": set(), "msgstr": {}}
        if line.startswith("#,"):
            entry["flags"] |= {flag.strip() for flag in line[2:].split(",")}
            continue
        if line.startswith("#"):
            continue
        match = re.match(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[(\d+)\])?) "(.*)"$', line)
        if match:
            field = match.group(1)
            value = _unescape(match.group(3))
            if field.startswith("msgstr"):
                field = int(match.group(2) or 0)
                entry["msgstr"][field] = value
            else:
                entry[field] = value
        elif line.startswith('"') and field is not None:
            if isinstance(field, int):
                entry["msgstr"][field] += _unescape(line[1:-1])
            else:
                entry[field] += _unescape(line[1:-1])
    return entries


def _unescape(text: str) -> str:
    escapes = {"n": "\n", "t": "\t", '"': '"', "\\": "\\"}
    return re.sub(r"\\(.)", lambda match: escapes[match.group(1)], text)


def message_keys(entries: list[dict]) -> set[tuple[str | None, str]]:
    return {(entry.get("msgctxt"), entry["msgid"]) for entry in entries if entry["msgid"]}


def test_every_message_has_a_spanish_translation_and_none_is_fuzzy():
    entries = po_entries(PO_FILE)
    messages = [entry for entry in entries if entry["msgid"]]
    assert len(messages) > 200  # the whole interface, not a stub
    untranslated = [
        entry["msgid"]
        for entry in messages
        if not entry["msgstr"] or not all(value.strip() for value in entry["msgstr"].values())
    ]
    assert not untranslated, f"Translate these in {PO_FILE.name}: {untranslated}"
    fuzzy = [entry["msgid"] or "(the header)" for entry in entries if "fuzzy" in entry["flags"]]
    assert not fuzzy, f"Check these translations and remove their fuzzy flag: {fuzzy}"
    plural = [entry for entry in messages if "msgid_plural" in entry]
    assert plural and all(len(entry["msgstr"]) == 3 for entry in plural)  # es: 3 forms


def test_the_translation_file_lists_every_string_the_code_marks(tmp_path, settings, monkeypatch):
    """makemessages, run on a copy of the code, finds exactly the file's messages: a string
    marked for translation and missing from the file, or one the code no longer has, fails."""
    copy = tmp_path / "code"

    def not_read(folder, names):
        """Folders makemessages is told to leave out, and files it does not read."""
        return [
            name
            for name in names
            if name in NOT_OURS
            or name == "locale"
            or (Path(folder, name).is_file() and Path(name).suffix not in {".py", ".html", ".txt"})
        ]

    shutil.copytree(REPO, copy, ignore=not_read)
    (copy / "locale" / "es" / "LC_MESSAGES").mkdir(parents=True)
    shutil.copy(PO_FILE, copy / "locale" / "es" / "LC_MESSAGES" / "django.po")
    settings.LOCALE_PATHS = [copy / "locale"]
    monkeypatch.chdir(copy)
    call_command("makemessages", locale=["es"], verbosity=0)
    found = po_entries(copy / "locale" / "es" / "LC_MESSAGES" / "django.po")
    new = message_keys(found) - message_keys(po_entries(PO_FILE))
    gone = message_keys(po_entries(PO_FILE)) - message_keys(found)
    assert not new, f"Run makemessages (README) and translate: {sorted(new, key=str)}"
    assert not gone, f"Run makemessages: these are no longer used: {sorted(gone, key=str)}"


def test_the_compiled_catalogue_is_the_translation_file():
    """locale/es/LC_MESSAGES/django.mo (built by `make install`, not committed) says what the
    .po says: a stale or missing .mo would show English to Spanish readers."""
    assert MO_FILE.exists(), "Compile the translations: make install"
    with MO_FILE.open("rb") as compiled:
        catalogue = gettext.GNUTranslations(compiled)
    for entry in po_entries(PO_FILE):
        if not entry["msgid"] or "msgid_plural" in entry:
            continue
        key = entry["msgid"]
        if "msgctxt" in entry:
            key = f"{entry['msgctxt']}\x04{key}"
        assert catalogue._catalog.get(key) == entry["msgstr"][0], (  # type: ignore[attr-defined]
            f"{entry['msgid']!r} differs in {MO_FILE.name}: run make install"
        )


def test_spanish_dates_read_day_de_month_de_year():
    with translation.override("es"):
        assert translation.gettext("j F Y") == r"j \d\e F \d\e Y"
    from django.template import engines

    template = engines["django"].from_string('{% load i18n %}{{ day|date:_("j F Y") }}')
    day = datetime.date(2026, 11, 5)
    with translation.override("es"):
        assert template.render({"day": day}) == "5 de noviembre de 2026"
    with translation.override("en-gb"):
        assert template.render({"day": day}) == "5 November 2026"


# --- Pages ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_spanish_home_page_has_a_spanish_menu_footer_and_review_dates(client):
    response = client.get("/es/")
    html = response.text
    assert response.status_code == 200
    assert '<html lang="es">' in html
    menu = html[html.index('class="site-nav"') : html.index("</nav>", html.index("site-nav"))]
    assert "¿Qué es la terapia TIL?" in menu
    assert ">Haga una pregunta</a>" in menu
    assert 'aria-label="Principal"' in html
    assert "Ir al contenido principal" in html
    footer = text_of(html[html.index('<footer class="site-footer">') :])
    for words in (
        "Este sitio no da consejos médicos.",
        "Hable con su equipo médico sobre su tratamiento.",
        "Acerca de esta información",
        "Privacidad",
        "Accesibilidad",
        "Fuentes",
        "Contacto",
    ):
        assert words in footer
    assert re.search(rf'Última revisión: <time datetime="[\d-]+">{SPANISH_DATE}</time>', html)
    assert re.search(rf'Próxima revisión: <time datetime="[\d-]+">{SPANISH_DATE}</time>', html)
    for english in ("Last reviewed", "Ask a question", "Skip to main content", "Sources</h2>"):
        assert english not in html


@pytest.mark.django_db
def test_the_english_pages_are_unchanged(client):
    html = client.get("/").text
    assert '<html lang="en-GB">' in html
    assert re.search(rf'Last reviewed: <time datetime="[\d-]+">{ENGLISH_DATE}</time>', html)
    assert re.search(rf'Next review due: <time datetime="[\d-]+">{ENGLISH_DATE}</time>', html)
    assert ">Ask a question</a>" in html
    assert "This site does not give medical advice." in html
    assert "Última revisión" not in html and "Haga una pregunta" not in html
    contact = client.get("/contact/").text
    assert "<h1>Ask a question</h1>" in contact
    assert re.search(r'<label for="id_name"[^>]*>\s*Your name\s*</label>', contact)
    assert 'value="Send question"' in contact
    assert "Su nombre" not in contact


def test_a_page_not_yet_in_spanish_is_shown_in_english_with_a_spanish_notice(site, client):
    site.page("only-english", "## A heading\n\nWords [@alpha].\n", title="In English", toc="true")
    spanish = site.content / "es"
    spanish.mkdir()
    (spanish / "index.md").write_text(
        front_matter(title="Inicio", translation_of="index") + "Bienvenida [@alpha].\n"
    )

    html = client.get("/es/only-english/").text
    notice = html.index("Esta página todavía no está traducida al español")
    article = re.search(r"<article [^>]*>", html)
    assert article and ' lang="en"' in article.group(0) and notice < article.start()
    # The interface around the English text stays Spanish, and says so.
    assert re.search(r'<div class="page-meta" lang="es">\s*<p>Última revisión:', html)
    assert '<h2 id="toc-title" lang="es">En esta página</h2>' in html
    assert re.search(r'<section class="sources" [^>]*lang="es"', html)
    english = client.get("/only-english/").text
    assert "traducida" not in english and ' lang="en"' not in english


@pytest.mark.django_db
def test_the_sources_page_in_spanish(client):
    html = client.get("/es/sources/").text
    assert "<h1>Fuentes</h1>" in html
    assert ">Organismos reguladores</h2>" in html and ">Ensayos clínicos</h2>" in html
    assert "(sitio externo)" in html and "Consultado el" in html
    assert ">Regulators</h2>" in client.get("/sources/").text


@pytest.mark.django_db
def test_the_question_list_script_gets_its_words_in_spanish(client):
    html = client.get("/es/preguntas-para-su-equipo/").text
    article = element(html, "article")
    assert article["data-question-list-print"] == "Imprimir mi lista"
    assert article["data-question-list-added"] == "Añadida a su lista: {question}"
    assert article["data-question-list-count-other"] == "{count} preguntas en su lista."
    english = element(client.get("/questions-to-ask/").text, "article")
    assert english["data-question-list-print"] == "Print my list"


# --- The question form ----------------------------------------------------------------------


@pytest.mark.django_db
def test_the_spanish_question_form(client):
    html = client.get("/es/contact/").text
    assert "<title>Haga una pregunta \N{EN DASH} " in html
    assert "<h1>Haga una pregunta</h1>" in html
    for input_id, label in {
        "id_name": "Su nombre",
        "id_email": "Correo electrónico",
        "id_phone": "Número de teléfono (opcional)",
        "id_question": "Su pregunta",
    }.items():
        assert re.search(rf'<label for="{input_id}"[^>]*>\s*{re.escape(label)}\s*</label>', html)
    for words in (
        "¿Quién pregunta?",
        "Un familiar o cuidador",
        "Otra cosa",
        "Este formulario no es para emergencias",
        "Puede escribir hasta 5000 caracteres",
        'value="Enviar pregunta"',
        'href="/es/privacidad/">aviso de privacidad</a>',
    ):
        assert words in html
    counter = element(html, "div", **{"data-module": "govuk-character-count"})
    assert counter["data-count-remaining-other"] == "Le quedan {count} caracteres"
    assert "Your name" not in html and "Send question" not in html


@pytest.mark.django_db
def test_the_empty_form_is_kept_once_per_language(client):
    """The empty form's fields are a cached fragment: each language has its own."""
    assert "Your name" in client.get("/contact/").text
    assert "Su nombre" in client.get("/es/contact/").text
    assert "Your name" in client.get("/contact/").text


@pytest.mark.django_db
def test_an_empty_spanish_form_gets_spanish_errors(client):
    empty = {key: "" for key in form_data()} | {"form_stamp": form_data()["form_stamp"]}
    response = client.post("/es/contact/", empty)
    html = response.text
    assert response.status_code == 200
    assert "<title>Error: Haga una pregunta \N{EN DASH} " in html
    summary = html[html.index('class="govuk-error-summary"') : html.index("<h1")]
    assert "Hay un problema" in summary
    assert '<a href="#id_name">Escriba su nombre</a>' in summary
    assert '<a href="#id_email">Escriba su correo electrónico</a>' in summary
    assert '<a href="#id_topic_1">Elija de qué trata su pregunta</a>' in summary
    assert "Marque la casilla para aceptar" in summary
    assert re.search(
        r'<span class="govuk-visually-hidden">Error:</span>\s*Escriba su pregunta\s*</span>', html
    )
    assert "Enter your name" not in html


@pytest.mark.django_db
def test_a_spanish_turn_away_message(client):
    response = client.post("/es/contact/", form_data(form_stamp="forged"))
    assert response.status_code == 400
    assert "No pudimos comprobar que este formulario venía de nuestro sitio web" in response.text


@pytest.mark.django_db
def test_a_question_sent_in_spanish_is_confirmed_and_followed_in_spanish(client, settings):
    settings.INQUIRY_REPLY_WORKING_DAYS = 2
    response = client.post("/es/contact/", form_data(), follow=True)
    html = response.text
    assert '<h1 class="inquiry-panel__title">Pregunta enviada</h1>' in html
    assert "Intentamos responder en un plazo de 2 días hábiles." in html
    inquiry = Inquiry.objects.get()
    status = client.get(f"/es/contact/status/{status_token(inquiry.reference)}/").text
    assert "<dt>Estado</dt>" in status and "<strong>Recibida</strong>" in status
    assert re.search(rf"<time [^>]*>{SPANISH_DATE}</time>", status)
    assert "marque el número de emergencias de su zona" in status


@pytest.mark.django_db
def test_a_closed_question_says_so_in_each_language(client):
    inquiry = make_inquiry(status=Inquiry.Status.CLOSED)
    token = status_token(inquiry.reference)
    assert "Esta pregunta está cerrada." in client.get(f"/es/contact/status/{token}/").text
    assert "This question is closed." in client.get(f"/contact/status/{token}/").text


# --- Emails to the person -------------------------------------------------------------------


@pytest.mark.django_db
def test_the_acknowledgement_to_a_spanish_reader_is_in_spanish(settings):
    settings.SITE_NAME = "TIL Answers"
    inquiry = make_inquiry(language="es", preferred_contact=Inquiry.ContactMethod.PHONE)
    email = build_email(inquiry, EmailDelivery.Kind.ACKNOWLEDGEMENT)
    html = email.alternatives[0][0]
    assert email.subject == f"Su pregunta a TIL Answers: referencia {inquiry.reference}"
    assert email.body.startswith("Hola:\n\nGracias por su pregunta a TIL Answers.")
    assert "le responderá por teléfono, como usted pidió." in email.body
    assert '<html lang="es">' in html and "Qué pasa ahora" in html
    english = build_email(make_inquiry(), EmailDelivery.Kind.ACKNOWLEDGEMENT)
    assert english.body.startswith("Hello,\n\nThank you for your question to TIL Answers.")
    assert '<html lang="en-GB">' in english.alternatives[0][0]


@pytest.mark.django_db
def test_error_pages_speak_the_language_of_the_address(client):
    spanish = client.get("/es/no-such-page/")
    assert spanish.status_code == 404
    assert "<h1>Página no encontrada</h1>" in spanish.text
    assert '<a href="/es/">Ir a la página de inicio</a>' in spanish.text
    english = client.get("/no-such-page/")
    assert "<h1>Page not found</h1>" in english.text


@pytest.mark.django_db
def test_the_spanish_search_speaks_spanish(client):
    found = client.get("/es/search/", {"q": "efectos secundaros"}).text
    assert "Resultados para <strong>efectos secundarios</strong>." in found
    assert "Efectos secundarios de la terapia TIL" in found
    nothing = client.get("/es/search/", {"q": "xilofono"}).text
    assert "No encontramos «xilofono» en este sitio." in nothing
    assert "<h2>Qué puede probar</h2>" in nothing

"""The page engine: markdown files in content/ become pages, read and rendered once.

`get_registry()` returns the registry of every page in the active language, built at start-up
(TilsiteConfig.ready) and kept in memory. The default language's pages are content/*.md; each
other language of settings.LANGUAGES has a folder of its own (content/es/*.md), whose pages name
their English twin with `translation_of`. With CONTENT_RELOAD on (development), a registry is
rebuilt when a file in its folder or sources.yaml changes, so an author sees an edit on reload.
Requests never render markdown: they look a slug up in the registry.

Problems are collected, not raised: `tilsite.checks` reports them through `manage.py check`
(and so at start-up and in CI), naming the file and line.
"""

import datetime
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path

import markdown
import yaml
from django.conf import settings
from django.contrib.staticfiles import finders
from django.urls import get_resolver
from django.urls.resolvers import LocalePrefixPattern, RoutePattern, URLResolver
from django.utils import translation

from citations.catalogue import Catalogue, load_catalogue
from citations.mdext import CITATION_SCAN, CitationExtension, CitationState, CitedSource, keys_in
from tilsite.glossary import GLOSSARY_SLUG, Glossary, GlossaryExtension, GlossaryTerm
from tilsite.markdown_ext import SiteHtmlExtension

SLUG = re.compile(r"^[a-z0-9-]+$")
# Front matter names a section in English in every language; gettext_noop only marks the names
# for makemessages, so that a template showing one can translate it ({% translate %}).
SECTIONS = [
    translation.gettext_noop("Understanding TIL"),
    translation.gettext_noop("Treatment"),
    translation.gettext_noop("Research"),
    translation.gettext_noop("Support"),
    translation.gettext_noop("About"),
]
REQUIRED_KEYS = {"title", "summary", "section", "last_reviewed", "next_review"}
OPTIONAL_KEYS = {
    *("nav_order", "nav_title", "parent", "reviewed_by", "toc"),
    *("glossary_links", "no_glossary_links", "scripts", "translation_of"),
}
# `scripts: [question-list]` loads static/js/question-list.js on that page only.
SCRIPT_NAME = re.compile(r"^[a-z0-9-]+$")
LIST_EXAMPLES = {"no_glossary_links": "[tumour, side effect]", "scripts": "[question-list]"}
HOME_SLUG = "index"
MAX_REVIEW_INTERVAL = {"Research": datetime.timedelta(days=366)}
DEFAULT_MAX_REVIEW_INTERVAL = datetime.timedelta(days=3 * 366)
# A line `!!! include warning-signs` is replaced by content/_blocks/warning-signs.md before the
# page is rendered, so a block shared by many pages is written once and numbered with each
# page's own citations.
BLOCKS_DIR = "_blocks"
INCLUDE_LINE = re.compile(r"^!!! include (?P<name>\S*)[ \t]*$", re.MULTILINE)
# Placeholders a block may use, filled from settings: what the organisation must supply.
EMERGENCY_NUMBER_DEFAULT = translation.gettext_noop("your local emergency number")
MARKDOWN_EXTENSIONS = ["tables", "toc", "attr_list", "admonition", "def_list", "md_in_html"]
MARKDOWN_CONFIG = {"toc": {"toc_depth": "2-2", "title": None}}


@dataclass(frozen=True)
class ContentProblem:
    """Something wrong with a content file; `line` is 1-based, 0 when not tied to a line."""

    file: str
    message: str
    code: str
    line: int = 0
    warning: bool = False

    def __str__(self):
        where = f"{self.file}, line {self.line}" if self.line else self.file
        return f"{where}: {self.message}"


@dataclass
class Page:
    slug: str
    title: str
    summary: str
    section: str
    last_reviewed: datetime.date
    next_review: datetime.date
    html: str
    intro_html: str = ""  # the "In short" box, shown above the contents list
    toc_html: str = ""
    nav_order: int | None = None
    nav_title: str = ""
    parent: str = ""
    reviewed_by: str = ""
    sources: list[CitedSource] = field(default_factory=list)
    scripts: list[str] = field(default_factory=list)  # static paths, e.g. js/question-list.js
    glossary_terms: list[GlossaryTerm] = field(default_factory=list)  # the glossary page's own
    path: Path | None = None
    language: str = ""  # e.g. "es"; "" until the registry sets it
    translation_of: str = ""  # the default-language twin's slug (other languages only)
    prefix: str = ""  # "" for the default language, "/es" for Spanish

    @property
    def url(self) -> str:
        return self.prefix + ("/" if self.slug == HOME_SLUG else f"/{self.slug}/")

    @property
    def menu_title(self) -> str:
        return self.nav_title or self.title

    @property
    def is_overdue(self) -> bool:
        return self.next_review < datetime.date.today()


@dataclass
class PageRegistry:
    pages: dict[str, Page]
    catalogue: Catalogue
    problems: list[ContentProblem]
    signature: tuple = ()
    language: str = ""
    # Rendered responses, filled lazily by the page views and dropped with the registry.
    response_cache: dict = field(default_factory=dict)

    def translation_of(self, slug: str) -> Page | None:
        """This language's twin of the default language's page `slug`."""
        for page in self.pages.values():
            if page.translation_of == slug:
                return page
        return None

    @property
    def errors(self) -> list[ContentProblem]:
        return [problem for problem in self.problems if not problem.warning]

    def get(self, slug: str) -> Page | None:
        return self.pages.get(slug)

    @property
    def home(self) -> Page | None:
        return self.pages.get(HOME_SLUG)

    @property
    def nav(self) -> list[Page]:
        """Pages in the main menu, in nav_order."""
        return sorted((p for p in self.pages.values() if p.nav_order is not None), key=_nav_key)

    @property
    def reading_order(self) -> list[Page]:
        """Every page but the home page, by section, then menu position, then title."""
        return sorted(
            (p for p in self.pages.values() if p.slug != HOME_SLUG),
            key=lambda p: (SECTIONS.index(p.section), p.nav_order or 999, p.parent, p.title),
        )

    def neighbours(self, page: Page) -> tuple[Page | None, Page | None]:
        order = self.reading_order
        if page not in order:
            return None, None
        index = order.index(page)
        previous = order[index - 1] if index > 0 else None
        following = order[index + 1] if index + 1 < len(order) else None
        return previous, following

    def breadcrumbs(self, page: Page) -> list[Page]:
        """The pages above this one, home first (not including the page itself)."""
        trail: list[Page] = []
        seen = {page.slug}
        parent = self.pages.get(page.parent)
        while parent is not None and parent.slug not in seen:
            trail.insert(0, parent)
            seen.add(parent.slug)
            parent = self.pages.get(parent.parent)
        home = self.home
        if home is not None and page.slug != HOME_SLUG:
            trail.insert(0, home)
        return trail


def _nav_key(page: Page):
    return (page.nav_order, page.title)


def split_front_matter(text: str) -> tuple[str, str, int] | None:
    """(front matter, body, line number where the body starts), or None without front matter."""
    lines = text.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        return None
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            return "".join(lines[1:index]), "".join(lines[index + 1 :]), index + 2
    return None


def _check_meta(meta: dict, name: str, problems: list[ContentProblem]) -> None:
    def problem(message, code="E002"):
        problems.append(ContentProblem(name, message, code, line=1))

    for key in sorted(REQUIRED_KEYS - set(meta)):
        problem(f"front matter is missing the required key '{key}'")
    for key in sorted(set(meta) - REQUIRED_KEYS - OPTIONAL_KEYS):
        problem(f"front matter has an unknown key '{key}'")
    for key in ("title", "summary", "nav_title", "reviewed_by", "parent", "translation_of"):
        if key in meta and meta[key] is not None and not isinstance(meta[key], str):
            problem(f"'{key}' must be text")
    for key in ("title", "summary"):
        if key in meta and not (isinstance(meta[key], str) and meta[key].strip()):
            problem(f"'{key}' must not be empty")
    if "section" in meta and meta["section"] not in SECTIONS:
        problem(f"'section' must be one of {', '.join(SECTIONS)} (got {meta['section']!r})")
    if "nav_order" in meta and (
        not isinstance(meta["nav_order"], int) or isinstance(meta["nav_order"], bool)
    ):
        problem(f"'nav_order' must be a whole number (got {meta['nav_order']!r})")
    for key in ("toc", "glossary_links"):
        if key in meta and not isinstance(meta[key], bool):
            problem(f"'{key}' must be true or false (got {meta[key]!r})")
    for key in ("no_glossary_links", "scripts"):
        value = meta.get(key)
        if key in meta and not (
            isinstance(value, list) and all(isinstance(item, str) and item for item in value)
        ):
            example = LIST_EXAMPLES[key]
            problem(f"'{key}' must be a list of names, such as {example} (got {value!r})")
    scripts = meta.get("scripts")
    for script in scripts if isinstance(scripts, list) else []:
        if not (isinstance(script, str) and script):
            continue
        if not SCRIPT_NAME.match(script):
            problem(f"'scripts' names '{script}': write the file's name without .js (a-z, 0-9, -)")
        elif finders.find(f"js/{script}.js") is None:
            problem(f"'scripts' names '{script}', but static/js/{script}.js does not exist")
    for key in ("last_reviewed", "next_review"):
        value = meta.get(key)
        if key in meta and (
            not isinstance(value, datetime.date) or isinstance(value, datetime.datetime)
        ):
            problem(f"'{key}' must be a date as YYYY-MM-DD (got {value!r})", "E003")
    last, following = meta.get("last_reviewed"), meta.get("next_review")
    if type(last) is datetime.date and type(following) is datetime.date:
        if last > datetime.date.today():
            problem(f"'last_reviewed' ({last}) is in the future", "E003")
        limit = MAX_REVIEW_INTERVAL.get(meta.get("section", ""), DEFAULT_MAX_REVIEW_INTERVAL)
        if following <= last:
            problem("'next_review' must come after 'last_reviewed'", "E003")
        elif following - last > limit:
            problem(f"'next_review' is more than {limit.days} days after 'last_reviewed'", "E003")


def emergency_number_text() -> str:
    """What to call in an emergency, in the active language: the organisation's number
    (EMERGENCY_NUMBER) or "your local emergency number"."""
    return settings.EMERGENCY_NUMBER or translation.gettext(EMERGENCY_NUMBER_DEFAULT)


def load_blocks(
    content_dir: Path, catalogue: Catalogue, folder: str = "content"
) -> tuple[dict[str, str], list]:
    """The shared blocks pages include, by name, with their placeholders filled in (in the
    active language)."""
    blocks: dict[str, str] = {}
    problems: list[ContentProblem] = []
    emergency = emergency_number_text()
    for path in sorted((content_dir / BLOCKS_DIR).glob("*.md")):
        name = f"{folder}/{BLOCKS_DIR}/{path.name}"
        text = path.read_text(encoding="utf-8")
        problems.extend(_unknown_citations(text, name, 1, catalogue))
        blocks[path.stem] = text.replace("{emergency_number}", emergency)
    return blocks, problems


def _unknown_citations(text: str, name: str, first_line: int, catalogue: Catalogue) -> list:
    problems = []
    for offset, line in enumerate(text.splitlines()):
        for match in CITATION_SCAN.finditer(line):
            for key in keys_in(match.group(1)):
                if key not in catalogue.sources:
                    message = f"unknown source '{key}' in {match.group(0)} (not in sources.yaml)"
                    problems.append(ContentProblem(name, message, "E004", line=first_line + offset))
    return problems


def _expand_includes(body: str, blocks: dict[str, str], name: str, first_line: int):
    """The body with every include line replaced by its block, and the unknown names."""
    problems = []
    for match in INCLUDE_LINE.finditer(body):
        if match.group("name") not in blocks:
            line = first_line + body.count("\n", 0, match.start())
            known = ", ".join(sorted(blocks)) or "none"
            message = f"unknown block '{match.group('name')}' (blocks: {known})"
            problems.append(ContentProblem(name, message, "E008", line=line))
    expanded = INCLUDE_LINE.sub(lambda m: blocks.get(m.group("name"), ""), body)
    return expanded, problems


def reserved_slugs() -> set[str]:
    """The first segments of the site's own addresses: a page with one of these slugs would be
    unreachable, or would hide the address. They come from the URLconf's fixed patterns (the
    admin's among them, wherever ADMIN_URL puts it) and from STATIC_URL."""
    reserved = {settings.STATIC_URL.strip("/").split("/")[0]}
    reserved |= {language_prefix(code).strip("/") for code, _ in settings.LANGUAGES}
    patterns = list(get_resolver().url_patterns)
    for pattern in patterns:
        if isinstance(pattern, URLResolver) and isinstance(pattern.pattern, LocalePrefixPattern):
            patterns.extend(pattern.url_patterns)  # /es/...: the same addresses
        elif isinstance(pattern.pattern, RoutePattern):  # not the content pages' own pattern
            reserved.add(str(pattern.pattern).split("/")[0])
    return reserved - {""}


def load_page(
    path: Path,
    catalogue: Catalogue,
    blocks: dict[str, str] | None = None,
    glossary: Glossary | None = None,
    folder: str = "content",
    is_glossary: bool | None = None,
) -> tuple[Page | None, list[ContentProblem]]:
    """Read, check and render one page. `glossary` holds the terms whose first use on the page
    becomes a link to the glossary (the glossary page itself is where they are collected)."""
    name = f"{folder}/{path.name}"
    if is_glossary is None:
        is_glossary = path.stem == GLOSSARY_SLUG
    problems: list[ContentProblem] = []
    slug = path.stem
    if not SLUG.match(slug):
        message = f"file name '{path.name}': a slug may only use a-z, 0-9 and hyphens"
        return None, [ContentProblem(name, message, "E005")]
    if slug in reserved_slugs():
        message = f"duplicate slug: /{slug}/ is already an address of the site"
        return None, [ContentProblem(name, message, "E005")]
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return None, [ContentProblem(name, f"is not UTF-8 text ({error})", "E001")]
    parts = split_front_matter(text)
    if parts is None:
        message = "has no front matter (the file must start with a '---' block)"
        return None, [ContentProblem(name, message, "E001", line=1)]
    front, body, body_line = parts
    try:
        meta = yaml.safe_load(front) or {}
    except (yaml.YAMLError, ValueError) as error:
        # ValueError: YAML read a date-like value that is not a real date (2026-13-45).
        mark = getattr(error, "problem_mark", None)
        line = mark.line + 2 if mark else 1
        message = f"front matter is not valid YAML: {getattr(error, 'problem', error)}"
        return None, [ContentProblem(name, message, "E001", line=line)]
    if not isinstance(meta, dict):
        return None, [ContentProblem(name, "front matter must be a set of keys", "E001", line=1)]
    _check_meta(meta, name, problems)

    problems.extend(_unknown_citations(body, name, body_line, catalogue))
    body, include_problems = _expand_includes(body, blocks or {}, name, body_line)
    problems.extend(include_problems)
    glossary_links = _glossary_extension(is_glossary, meta, glossary, name, problems)
    if problems:
        return None, problems

    state = CitationState(catalogue)
    site_html = SiteHtmlExtension()
    renderer = markdown.Markdown(
        extensions=[*MARKDOWN_EXTENSIONS, CitationExtension(state), glossary_links, site_html],
        extension_configs=MARKDOWN_CONFIG,
        output_format="html",
    )
    intro_html, html = _split_intro(renderer.convert(body))
    for message in site_html.problems:
        problems.append(ContentProblem(name, message, "E009"))
    for message in glossary_links.problems:
        problems.append(ContentProblem(name, message, "E010"))
    if problems:
        return None, problems
    page = Page(
        slug=slug,
        title=meta["title"].strip(),
        summary=meta["summary"].strip(),
        section=meta["section"],
        last_reviewed=meta["last_reviewed"],
        next_review=meta["next_review"],
        html=html,
        intro_html=intro_html,
        toc_html=getattr(renderer, "toc", "") if meta.get("toc") else "",  # set by "toc"
        nav_order=meta.get("nav_order"),
        nav_title=(meta.get("nav_title") or "").strip(),
        parent=(meta.get("parent") or "").strip(),
        reviewed_by=(meta.get("reviewed_by") or "").strip(),
        sources=state.in_order,
        scripts=[f"js/{script}.js" for script in meta.get("scripts") or []],
        glossary_terms=glossary_links.terms,
        path=path,
        translation_of=(meta.get("translation_of") or "").strip(),
    )
    if page.is_overdue:
        problems.append(
            ContentProblem(
                name, f"review was due on {page.next_review}", "W001", line=1, warning=True
            )
        )
    return page, problems


def _glossary_extension(
    is_glossary: bool,
    meta: dict,
    glossary: Glossary | None,
    name: str,
    problems: list[ContentProblem],
) -> GlossaryExtension:
    """The glossary page collects the terms; every other page links their first use, unless
    its front matter turns that off (`glossary_links: false`, `no_glossary_links: [...]`)."""
    if is_glossary:
        return GlossaryExtension(collect=True)
    excluded = set()
    names = meta.get("no_glossary_links")
    for term_name in names if isinstance(names, list) else []:
        term = glossary.find(term_name) if glossary and isinstance(term_name, str) else None
        if term is None:
            message = f"'no_glossary_links' names '{term_name}', which is not a glossary term"
            problems.append(ContentProblem(name, message, "E002", line=1))
        else:
            excluded.add(term.anchor)
    if meta.get("glossary_links") is False:
        return GlossaryExtension()
    return GlossaryExtension(glossary=glossary, excluded=excluded)


def _split_intro(html: str) -> tuple[str, str]:
    """Separate a leading "In short" box from the rest of the page body."""
    stripped = html.lstrip()
    first_tag = stripped[: stripped.find(">") + 1]
    if first_tag.startswith("<section") and 'class="admonition in-short"' in first_tag:
        end = stripped.find("</section>") + len("</section>")
        return stripped[:end], stripped[end:]
    return "", html


def _signature(content_dir: Path, sources_file: Path) -> tuple:
    """What the registry was built from: every file's name, size and modification time."""
    content_dir = Path(content_dir)
    files = [
        *sorted(content_dir.glob("*.md")),
        *sorted((content_dir / BLOCKS_DIR).glob("*.md")),
        Path(sources_file),
    ]
    signature = []
    for path in files:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        signature.append((str(path), stat.st_size, stat.st_mtime_ns))
    return tuple(signature)


TRANSLATION_OF = re.compile(r"^translation_of:\s*['\"]?([a-z0-9-]+)['\"]?\s*$", re.MULTILINE)


def default_language() -> str:
    return settings.LANGUAGE_CODE


def content_language(code: str | None) -> str:
    """The site language for a language code ("es-mx" -> "es"); the default otherwise."""
    if code:
        for language, _ in settings.LANGUAGES:
            if code == language or code.split("-")[0] == language.split("-")[0]:
                return language
    return default_language()


def language_prefix(language: str) -> str:
    """The address prefix of a language: "" for the default one, "/es" for Spanish."""
    return "" if language == default_language() else f"/{language}"


def content_dir_for(language: str) -> Path:
    base = Path(settings.CONTENT_DIR)
    return base if language == default_language() else base / language


def _is_glossary(path: Path, default: bool) -> bool:
    """The glossary is glossary.md, or in another language the page translating it."""
    if default:
        return path.stem == GLOSSARY_SLUG
    head = path.read_text(encoding="utf-8", errors="replace")[:2000]
    match = TRANSLATION_OF.search(head)
    return bool(match and match.group(1) == GLOSSARY_SLUG)


def build_registry(content_dir: Path, sources_file: Path, language: str = "") -> PageRegistry:
    content_dir, sources_file = Path(content_dir), Path(sources_file)
    language = language or default_language()
    default = language == default_language()
    folder = "content" if default else f"content/{content_dir.name}"
    prefix = language_prefix(language)
    catalogue = load_catalogue(sources_file)
    problems: list[ContentProblem] = []
    pages: dict[str, Page] = {}
    with translation.override(language):
        blocks, block_problems = load_blocks(content_dir, catalogue, folder)
    problems.extend(block_problems)
    if not content_dir.is_dir():
        problems.append(ContentProblem(str(content_dir), "the content folder is missing", "E006"))
    paths = [
        path
        for path in (sorted(content_dir.glob("*.md")) if content_dir.is_dir() else [])
        if path.name != "README.md"
    ]
    # The glossary first: every other page links to its terms.
    glossaries = {path for path in paths if _is_glossary(path, default)}
    glossary = None
    for path in sorted(paths, key=lambda path: path not in glossaries):
        page, page_problems = load_page(
            path, catalogue, blocks, glossary, folder, is_glossary=path in glossaries
        )
        problems.extend(page_problems)
        if page is None:
            continue
        page.language, page.prefix = language, prefix
        pages[page.slug] = page
        if path in glossaries:
            glossary = Glossary(page.glossary_terms, url=page.url)
            name = f"{folder}/{path.name}"
            problems.extend(ContentProblem(name, message, "E010") for message in glossary.problems)
        name = f"{folder}/{path.name}"
        if default and page.translation_of:
            message = "'translation_of' is for pages in another language's folder"
            problems.append(ContentProblem(name, message, "E002", line=1))
        if not default and not page.translation_of:
            message = "front matter is missing 'translation_of' (the English page it translates)"
            problems.append(ContentProblem(name, message, "E002", line=1))
    for page in pages.values():
        if page.parent and page.parent not in pages:
            problems.append(
                ContentProblem(
                    f"{folder}/{page.slug}.md",
                    f"'parent' names a page that does not exist: '{page.parent}'",
                    "E007",
                    line=1,
                )
            )
        for cited in page.sources:
            catalogue.record_use(cited.source.id, page.url, page.title)
    if content_dir.is_dir() and HOME_SLUG not in pages and not problems:
        problems.append(
            ContentProblem(f"{folder}/index.md", "the home page is missing", "E006", line=0)
        )
    return PageRegistry(
        pages=pages,
        catalogue=catalogue,
        problems=problems,
        signature=_signature(content_dir, sources_file),
        language=language,
    )


_registries: dict[str, PageRegistry] = {}
_lock = threading.Lock()


def get_registry(language: str | None = None) -> PageRegistry:
    """The registry of `language` (default: the active one); rebuilt only when its files
    changed and CONTENT_RELOAD is on."""
    language = content_language(language or translation.get_language())
    registry = _registries.get(language)
    if registry is not None and not settings.CONTENT_RELOAD:
        return registry
    content_dir = content_dir_for(language)
    if registry is not None and registry.signature == _signature(
        content_dir, settings.SOURCES_FILE
    ):
        return registry
    with _lock:
        # Another thread may have rebuilt it meanwhile, or reset_registry() emptied it.
        current = _registries.get(language)
        if current is None or current is registry:
            current = _registries[language] = build_registry(
                content_dir, settings.SOURCES_FILE, language
            )
        return current


def all_registries() -> list[PageRegistry]:
    """One registry per language the site has content for, the default language first."""
    registries = []
    for language, _ in settings.LANGUAGES:
        if language == default_language() or content_dir_for(language).is_dir():
            registries.append(get_registry(language))
    return registries


def twins(page: Page) -> dict[str, Page]:
    """The page in every language it exists in, by language (itself included)."""
    default = default_language()
    original = page if page.language == default else get_registry(default).get(page.translation_of)
    found = {page.language: page}
    if original is None:
        return found
    found[default] = original
    for registry in all_registries():
        if registry.language != default:
            twin = registry.translation_of(original.slug)
            if twin is not None:
                found[registry.language] = twin
    return found


def reset_registry() -> None:
    """Forget every registry (tests that change settings.CONTENT_DIR use this)."""
    with _lock:
        _registries.clear()

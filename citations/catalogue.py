"""The catalogue of sources: `sources.yaml` loaded once with yaml.safe_load and validated.

Problems are collected, not raised, so that `manage.py check` can report every one of them with
the source id (or list position) named. Pages tell the catalogue which of them cite which source
(`record_use`), at load time; this app knows nothing else about pages.
"""

import datetime
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from django.utils.translation import gettext_lazy as _

SOURCE_ID = re.compile(r"^[a-z0-9][a-z0-9-]*$")
DOI = re.compile(r"^10\.\d{4,9}/\S+$")
# The headings of /sources/, in the reader's language (lazy: read when the page is rendered).
KINDS = {
    "regulatory": _("Regulators"),
    "guideline": _("Guidelines and expert consensus"),
    "clinical-trial": _("Clinical trials"),
    "review": _("Reviews"),
    "preclinical": _("Laboratory and animal studies"),
    "patient-information": _("Patient information"),
    "news": _("News and announcements"),
}
FIELDS = {
    "id",
    "title",
    "authors",
    "journal",
    "publisher",
    "year",
    "date",
    "url",
    "doi",
    "accessed",
    "kind",
}


@dataclass(frozen=True)
class Problem:
    """One thing wrong in sources.yaml, named by file and source id or position."""

    where: str
    message: str
    code: str

    def __str__(self):
        return f"{self.where}: {self.message}"


@dataclass
class Source:
    id: str
    title: str
    kind: str
    container: str  # the journal or the publisher
    year: int
    date: datetime.date | None = None
    authors: str = ""
    url: str = ""
    doi: str = ""
    accessed: datetime.date | None = None

    @property
    def link(self) -> str:
        """Where a reader can check the source: the DOI resolver when there is a DOI."""
        return f"https://doi.org/{self.doi}" if self.doi else self.url

    @property
    def kind_label(self) -> str:
        return str(KINDS[self.kind])


@dataclass
class Citer:
    """A page that cites a source, as the page engine reports it."""

    url: str
    title: str


@dataclass
class Catalogue:
    path: Path
    sources: dict[str, Source] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    cited_by: dict[str, list[Citer]] = field(default_factory=dict)

    def record_use(self, source_id: str, url: str, title: str) -> None:
        citers = self.cited_by.setdefault(source_id, [])
        if all(citer.url != url for citer in citers):
            citers.append(Citer(url=url, title=title))

    def uncited(self) -> list[Source]:
        return [source for key, source in self.sources.items() if not self.cited_by.get(key)]

    def by_kind(self) -> list[tuple[str, list[Source]]]:
        """Sources grouped in the order of KINDS, each group sorted by title."""
        groups = []
        for kind, label in KINDS.items():
            members = sorted(
                (s for s in self.sources.values() if s.kind == kind), key=lambda s: s.title
            )
            if members:
                groups.append((str(label), members))
        return groups


def _as_date(value, where, key, problems) -> datetime.date | None:
    if isinstance(value, datetime.date) and not isinstance(value, datetime.datetime):
        return value
    if isinstance(value, str):
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            pass
    problems.append(Problem(where, f"'{key}' must be a date as YYYY-MM-DD (got {value!r})", "E004"))
    return None


def _text(entry, key) -> str:
    value = entry.get(key)
    return value.strip() if isinstance(value, str) else ""


def _parse_entry(entry, where: str, problems: list[Problem]) -> Source | None:
    if not isinstance(entry, dict):
        problems.append(Problem(where, "each source must be a mapping of keys", "E005"))
        return None
    before = len(problems)
    for key in sorted(set(entry) - FIELDS):
        problems.append(Problem(where, f"unknown key '{key}'", "E005"))
    for key in ("title",):
        if not _text(entry, key):
            problems.append(Problem(where, f"'{key}' is required", "E005"))
    container = _text(entry, "journal") or _text(entry, "publisher")
    if not container:
        problems.append(Problem(where, "needs a 'journal' or a 'publisher'", "E005"))
    kind = entry.get("kind")
    if kind not in KINDS:
        problems.append(
            Problem(where, f"'kind' must be one of {', '.join(KINDS)} (got {kind!r})", "E005")
        )
    url, doi = _text(entry, "url"), _text(entry, "doi")
    if not url and not doi:
        problems.append(Problem(where, "has neither a 'url' nor a 'doi'", "E003"))
    if url and not url.startswith(("https://", "http://")):
        problems.append(Problem(where, f"'url' must start with https:// (got {url!r})", "E003"))
    if doi and not DOI.match(doi):
        problems.append(Problem(where, f"'doi' must look like 10.1234/abc (got {doi!r})", "E003"))
    date = None
    if "date" in entry:
        date = _as_date(entry["date"], where, "date", problems)
    year = entry.get("year", date.year if date else None)
    if not isinstance(year, int) or not 1900 <= year <= 2100:
        problems.append(Problem(where, f"needs a 'year' (YYYY) or a 'date' (got {year!r})", "E004"))
    accessed = None
    if "accessed" not in entry:
        problems.append(Problem(where, "'accessed' (the date it was read) is required", "E004"))
    else:
        accessed = _as_date(entry["accessed"], where, "accessed", problems)
    if len(problems) > before:
        return None
    assert isinstance(kind, str) and isinstance(year, int)  # checked above, with a problem each
    return Source(
        id=entry["id"],
        title=_text(entry, "title"),
        kind=kind,
        container=container,
        year=year,
        date=date,
        authors=_text(entry, "authors"),
        url=url,
        doi=doi,
        accessed=accessed,
    )


def load_catalogue(path: Path) -> Catalogue:
    catalogue = Catalogue(path=Path(path))
    name = Path(path).name
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        catalogue.problems.append(Problem(name, "the sources file does not exist", "E001"))
        return catalogue
    except (yaml.YAMLError, ValueError) as error:  # ValueError: an impossible date
        mark = getattr(error, "problem_mark", None)
        where = f"{name}, line {mark.line + 1}" if mark else name
        catalogue.problems.append(Problem(where, f"is not valid YAML: {error}", "E001"))
        return catalogue
    if not isinstance(data, list):
        catalogue.problems.append(Problem(name, "must be a list of sources", "E001"))
        return catalogue
    for position, entry in enumerate(data, start=1):
        source_id = entry.get("id") if isinstance(entry, dict) else None
        if not isinstance(source_id, str) or not SOURCE_ID.match(source_id):
            where = f"{name}, source #{position}"
            catalogue.problems.append(
                Problem(
                    where,
                    f"'id' must be lowercase letters, digits, hyphens ({source_id!r})",
                    "E005",
                )
            )
            continue
        where = f"{name}, source '{source_id}'"
        if source_id in catalogue.sources:
            catalogue.problems.append(Problem(where, "duplicate source id", "E002"))
            continue
        source = _parse_entry(entry, where, catalogue.problems)
        if source:
            catalogue.sources[source_id] = source
    return catalogue


# The page engine installs a provider so that this app always sees the catalogue the pages
# were built with (and their usage); without one, the file named in settings is read.
_provider: Callable[[], Catalogue] | None = None


def set_provider(provider: Callable[[], Catalogue] | None) -> None:
    global _provider
    _provider = provider


def get_catalogue() -> Catalogue:
    if _provider is not None:
        return _provider()
    from django.conf import settings

    return load_catalogue(settings.SOURCES_FILE)

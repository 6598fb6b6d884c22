"""The site search: an SQLite FTS5 index in memory, built from the rendered pages.

`get_index()` returns the index of the active language's page registry (English at /search/,
Spanish at /es/search/), built once (the default language's at start-up, by
SearchConfig.ready; another on its first search) and built again only when its registry is
(a content change with CONTENT_RELOAD on). A search is a few FTS5 queries on a table of
about a hundred rows, with no database round trip: well under a millisecond for most queries.

How a query is read (`SearchIndex.search`):

- It is cleaned (control characters dropped, NFKC, at most MAX_QUERY_LENGTH characters) and
  split into words; a word may hold hyphens, digits, dots and apostrophes ("IL-2", "C-144-01").
- Each word (or run of words that is one of the site's synonyms) becomes a term: any of its
  alternatives may match. Alternatives are the words themselves, their British or American
  spellings when the site uses them ("tumor" -> "tumour"), the synonyms ("Amtagvi" ->
  "lifileucel"), and "IL2" for "IL-2" and back. FTS5's Porter stemmer matches plurals.
- Pages must match every term. They are ranked by where they match: every term in the title
  first, then in the title and headings, then by BM25 with the title and headings weighing
  most and the shared warning-signs block least.
- Nothing found: an unknown word is corrected from the site's own vocabulary by edit distance
  (rapidfuzz, optimal string alignment: "lymphocites" -> "lymphocytes"). One clear correction
  that finds pages is searched straight away; otherwise it is offered as "Did you mean". With
  several terms, pages that have some of them are shown, marked as partial matches.
- A query that names a glossary term (or its synonym) brings its definition first.
"""

import contextlib
import math
import re
import sqlite3
import threading
import unicodedata
from collections import Counter, OrderedDict
from dataclasses import dataclass, field

from django.utils import translation
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from rapidfuzz import process
from rapidfuzz.distance import OSA

from search.documents import (
    MARK_END,
    MARK_START,
    Document,
    GlossaryEntry,
    Passage,
    build_documents,
    is_glossary,
)
from search.language import Language, for_code
from tilsite.pages import PageRegistry, content_language, get_registry

MAX_QUERY_LENGTH = 200
MAX_WORDS = 12
MAX_WORD_LENGTH = 60
RESULTS_PER_PAGE = 10
# About 10 KB each: 256 pages is 2.5 MB per process.
RENDERED_PAGES_KEPT = 256
# A word, with the hyphens, dots and apostrophes inside it: "IL-2", "C-144-01", "100.4".
# (The apostrophes ' and \u2019, the hyphens - and \u2010 and \u2011.)
WORD = re.compile(r"[^\W_]+(?:['\u2019.\-\u2010\u2011][^\W_]+)*")
WORD_PARTS = re.compile(r"[^\W_]+")
LETTERS_THEN_DIGITS = re.compile(r"^([a-z]+)(\d+)$|^(\d+)([a-z]+)$")
COLUMNS = ("title", "headings", "summary", "intro", "body", "shared")
# BM25 weight of a match in each column, in the order of COLUMNS.
WEIGHTS = (10.0, 5.0, 4.0, 3.0, 1.0, 0.2)
# A passage's heading, its text, and the text it shares with other pages (the warning signs).
PASSAGE_WEIGHTS = "0, 2.0, 1.0, 0.1"  # document (not indexed), heading, text, shared
SNIPPET_TOKENS = 28
SNIPPET_CHARACTERS = 240  # a snippet with no match in it: the passage's start
HEADING_SEPARATOR = "\n"
ELLIPSIS = "…"
# Spelling variants are only looked for in words this long: "shoe" is not a spelling of "she".
MIN_VARIANT_LENGTH = 5
MIN_CORRECTABLE_LENGTH = 4
# A correction wins outright over the next best one when this many times as frequent on the
# site ("efects": "effects" far more than "defects").
CLEAR_FREQUENCY_RATIO = 3


def max_edit_distance(word: str) -> int:
    """How many letters may be wrong: one in a short word ("efects"), more in a long one.
    Two in a six-letter word would turn "script" into "strict"."""
    return 1 if len(word) <= 7 else 2 if len(word) <= 11 else 3


def clean_query(text: str) -> str:
    """The query as typed, made safe to handle: NFKC, no control or format characters,
    single spaces, at most MAX_QUERY_LENGTH characters."""
    text = unicodedata.normalize("NFKC", text[: MAX_QUERY_LENGTH * 4])
    text = "".join(
        " " if unicodedata.category(char) in {"Cc", "Cf", "Zl", "Zp"} else char for char in text
    )
    return " ".join(text.split())[:MAX_QUERY_LENGTH].strip()


def fold(word: str) -> str:
    """Lower case without accents, as FTS5's tokenizer compares words ("Infusión" = "infusion")."""
    decomposed = unicodedata.normalize("NFKD", word.lower())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def _phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@dataclass
class Term:
    """Part of a query: what the reader typed, and the phrases any of which may match."""

    typed: str
    alternatives: list[str]
    correctable: bool = False

    @property
    def expression(self) -> str:
        return "(" + " OR ".join(_phrase(a) for a in self.alternatives) + ")"


@dataclass
class Result:
    url: str
    title: str
    section: str
    snippet: SafeString
    heading_url: str = ""
    heading: str = ""
    is_glossary_entry: bool = False


@dataclass
class Outcome:
    """What a search found, for the results page."""

    query: str  # the cleaned query
    searchable: bool = False  # False: no word in the query to look for
    results: list[Result] = field(default_factory=list)
    total: int = 0
    page: int = 1
    page_count: int = 0
    corrected_from: str = ""  # the results are for `searched_for`, a correction of this
    searched_for: str = ""
    suggestion: str = ""  # "Did you mean ...?"
    partial: bool = False  # no page has every word; these have some
    definition: GlossaryEntry | None = None
    exact: bool = False  # asked not to correct the spelling

    @property
    def first_number(self) -> int:
        return (self.page - 1) * RESULTS_PER_PAGE + 1

    @property
    def found_nothing(self) -> bool:
        return self.searchable and not self.total and self.definition is None


@dataclass
class _Correction:
    text: str
    terms: list[Term]
    clear: bool


class SearchIndex:
    """Every page and glossary entry of one registry, in one language."""

    def __init__(self, registry: PageRegistry, language: Language):
        self.registry = registry
        self.language = language
        self.documents, self.glossary = build_documents(registry)
        self._lock = threading.Lock()
        # One connection per index, used under the lock: a search takes well under a
        # millisecond, and gunicorn's sync workers serve one request at a time anyway.
        self._db = sqlite3.connect(":memory:", check_same_thread=False)
        self._db.execute(
            f"CREATE VIRTUAL TABLE search USING fts5({', '.join(COLUMNS)}, "
            f"tokenize = '{language.tokenizer}')"
        )
        columns = ", ".join(COLUMNS)
        self._db.executemany(
            f"INSERT INTO search (rowid, {columns}) VALUES (?, ?, ?, ?, ?, ?, ?)",  # noqa: S608
            [
                (
                    rowid,
                    doc.title,
                    HEADING_SEPARATOR.join(h.text for h in doc.headings),
                    doc.summary,
                    doc.intro,
                    doc.body,
                    doc.shared,
                )
                for rowid, doc in enumerate(self.documents)
            ],
        )
        # Snippets come from the best passage of each result (a part under one heading), not
        # from a whole page: shorter to cut a snippet from, and the result can link to it.
        self._db.execute(
            "CREATE VIRTUAL TABLE passages USING fts5(document UNINDEXED, heading, text, shared, "
            f"tokenize = '{language.tokenizer}')"
        )
        self._passages = [
            (rowid, passage) for rowid, doc in enumerate(self.documents) for passage in doc.passages
        ]
        self._db.executemany(
            "INSERT INTO passages (rowid, document, heading, text, shared) VALUES (?, ?, ?, ?, ?)",
            [
                (
                    number,
                    document,
                    passage.heading.text if passage.heading else "",
                    "" if passage.shared else passage.text,
                    passage.text if passage.shared else "",
                )
                for number, (document, passage) in enumerate(self._passages)
            ],
        )
        self.vocabulary = self._count_words()
        # Candidates for spelling corrections: real words, not numbers or codes.
        self._spelling_words = [w for w in self.vocabulary if w.isalpha() and len(w) >= 3]
        self._synonyms = self._synonym_keys()
        self._glossary_keys = self._glossary_index()
        # Rendered results pages by query, kept by the view and dropped with this index: a
        # results page is the same for everyone who asks the same thing.
        self.rendered = LruCache(RENDERED_PAGES_KEPT)
        self.glossary_url = next(
            (page.url for page in registry.pages.values() if is_glossary(page)), ""
        )
        self._glossary_rows = {
            doc.url: rowid for rowid, doc in enumerate(self.documents) if doc.is_glossary_entry
        }

    # --- Building -----------------------------------------------------------------------

    def _count_words(self) -> Counter:
        """How often each word is on the site, accents folded; `self._written` keeps the way
        each folded word is most often written, to show in a correction."""
        words: Counter = Counter()
        for doc in self.documents:
            text = " ".join(
                [doc.title, doc.summary, doc.intro, doc.body, doc.shared]
                + [h.text for h in doc.headings]
            ).lower()
            for word in WORD.findall(text):
                words[word] += 1
                parts = WORD_PARTS.findall(word)
                if len(parts) > 1:
                    words.update(parts)
        folded: Counter = Counter()
        self._written: dict[str, str] = {}
        for word, count in words.most_common():
            folded[fold(word)] += count
            self._written.setdefault(fold(word), word)
        return folded

    def _key(self, text: str) -> tuple[str, ...]:
        """A phrase reduced for comparison: British spelling, singular, no punctuation, letters
        apart from digits ("IL2" is "IL-2")."""
        parts: list[str] = []
        for part in WORD_PARTS.findall(text.lower()):
            split = LETTERS_THEN_DIGITS.match(part)
            if split:
                parts.extend(group for group in split.groups() if group)
            else:
                parts.append(part)
        base_form = self.language.base_form
        return tuple(base_form(fold(self._site_spelling(part))) for part in parts)

    def _site_spelling(self, word: str) -> str:
        """The site's usual spelling of a word: of its spellings, the most frequent here."""
        if len(word) < MIN_VARIANT_LENGTH or not word.isalpha():
            return word
        spellings = {word} | self.language.spelling_variants(word)
        return min(spellings, key=lambda w: (-self.vocabulary[fold(w)], w != word, w))

    def _synonym_keys(self) -> dict[tuple[str, ...], tuple[str, ...]]:
        keys = {}
        for group in self.language.synonyms:
            for phrase in group:
                keys[self._key(phrase)] = group
        return keys

    def _glossary_index(self) -> dict[tuple[str, ...], GlossaryEntry]:
        """Each glossary entry under its term, and under each half of "Term (other name)"."""
        keys: dict[tuple[str, ...], GlossaryEntry] = {}
        for entry in self.glossary:
            names = [entry.term, *re.split(r"\s*[()]\s*", entry.term), *entry.forms]
            for name in names:
                key = self._key(name)
                if key:
                    keys.setdefault(key, entry)
        return keys

    # --- Reading a query --------------------------------------------------------------------

    def terms(self, query: str) -> list[Term]:
        """The query's terms: the longest run of words that is a synonym first, else a word
        with its other spellings; common words left out."""
        words = [w[:MAX_WORD_LENGTH] for w in WORD.findall(query.lower())][:MAX_WORDS]
        keys = [self._key(word) for word in words]
        terms: list[Term] = []
        start = 0
        while start < len(words):
            for end in range(len(words), start, -1):
                group = self._synonyms.get(tuple(p for k in keys[start:end] for p in k))
                if group:
                    typed = " ".join(words[start:end])
                    alternatives = [typed, *(p.lower() for p in group)]
                    for phrase in list(alternatives):
                        alternatives.extend(self._variants(phrase))
                    terms.append(Term(typed, list(dict.fromkeys(alternatives))))
                    start = end
                    break
            else:
                word = words[start]
                alternatives = [word, *sorted(self._variants(word))]
                terms.append(Term(word, alternatives, correctable=word.isalpha()))
                start += 1
        meaningful = [t for t in terms if t.typed not in self.language.stopwords]
        return meaningful or terms

    def _variants(self, word: str) -> set[str]:
        variants = set()
        if len(word) >= MIN_VARIANT_LENGTH and word.isalpha():
            variants |= {
                v for v in self.language.spelling_variants(word) if fold(v) in self.vocabulary
            }
        parts = WORD_PARTS.findall(word)
        if len(parts) > 1 and any(p.isdigit() for p in parts):
            variants.add("".join(parts))  # IL-2 -> IL2
        split = LETTERS_THEN_DIGITS.match(word)
        if split:
            variants.add("-".join(g for g in split.groups() if g))  # IL2 -> IL-2
        return variants - {word}

    # --- Searching ------------------------------------------------------------------------

    def search(self, query: str, page: int = 1, exact: bool = False) -> Outcome:
        cleaned = clean_query(query)
        outcome = Outcome(query=cleaned, searched_for=cleaned, exact=exact)
        terms = self.terms(cleaned)
        if not terms:
            return outcome
        outcome.searchable = True
        with self._lock:
            ranked = self._ranked(terms)
            if not ranked and not exact:
                correction = self._correction(cleaned, terms)
                if correction is not None:
                    corrected = self._ranked(correction.terms)
                    if corrected and correction.clear:
                        outcome.corrected_from, outcome.searched_for = cleaned, correction.text
                        terms, ranked = correction.terms, corrected
                    elif corrected:
                        outcome.suggestion = correction.text
            if not ranked and len(terms) > 1:
                ranked = self._ranked(terms, operator="OR")
                outcome.partial = bool(ranked)
            outcome.definition = self._definition(outcome.searched_for, terms)
            if outcome.definition is not None:
                row = self._glossary_rows.get(outcome.definition.url)
                ranked = [rowid for rowid in ranked if rowid != row]
            outcome.total = len(ranked)
            outcome.page_count = math.ceil(len(ranked) / RESULTS_PER_PAGE)
            outcome.page = min(max(page, 1), max(outcome.page_count, 1))
            first = (outcome.page - 1) * RESULTS_PER_PAGE
            shown = ranked[first : first + RESULTS_PER_PAGE]
            outcome.results = self._results(shown, terms)
        return outcome

    @staticmethod
    def _expression(terms: list[Term], operator: str = "AND") -> str:
        return f" {operator} ".join(term.expression for term in terms)

    def _ranked(self, terms: list[Term], operator: str = "AND") -> list[int]:
        """Row ids of the matching documents, best first."""
        expression = self._expression(terms, operator)
        weights = ", ".join(str(w) for w in WEIGHTS)
        rows = self._db.execute(
            f"SELECT rowid, bm25(search, {weights}) FROM search WHERE search MATCH ?",  # noqa: S608
            (expression,),
        ).fetchall()
        if not rows:
            return []
        in_title = self._matching(f"{{title}} : ({expression})")
        in_headings = self._matching(f"{{title headings}} : ({expression})")
        rows.sort(key=lambda row: (row[0] not in in_title, row[0] not in in_headings, row[1]))
        return [rowid for rowid, _ in rows]

    def _matching(self, expression: str) -> set[int]:
        rows = self._db.execute("SELECT rowid FROM search WHERE search MATCH ?", (expression,))
        return {rowid for (rowid,) in rows}

    def _results(self, rowids: list[int], terms: list[Term]) -> list[Result]:
        """The documents as results, each with a snippet from its best passage."""
        if not rowids:
            return []
        # Any term counts here: the passage with the most of them wins.
        expression = self._expression(terms, "OR")
        placeholders = ", ".join("?" * len(rowids))
        # SQLite gives the row of the min() with it: each document's best passage.
        rows = self._db.execute(
            "WITH scored AS MATERIALIZED ("  # noqa: S608 (constants and ? placeholders)
            f"SELECT document, rowid, bm25(passages, {PASSAGE_WEIGHTS}) AS score FROM passages "
            f"WHERE passages MATCH ? AND document IN ({placeholders})) "
            "SELECT document, rowid, min(score) FROM scored GROUP BY document",
            (expression, *rowids),
        )
        best = {document: number for document, number, _ in rows}
        snippets = {}
        if best:
            marks = f"'{MARK_START}', '{MARK_END}', '{ELLIPSIS}', {SNIPPET_TOKENS}"
            rows = self._db.execute(
                f"SELECT rowid, snippet(passages, 2, {marks}), snippet(passages, 3, {marks}) "  # noqa: S608
                f"FROM passages WHERE passages MATCH ? "
                f"AND rowid IN ({', '.join('?' * len(best))})",
                (expression, *best.values()),
            )
            snippets = {number: text or shared for number, text, shared in rows}
        results = []
        for rowid in rowids:
            document = self.documents[rowid]
            number = best.get(rowid)
            passage = self._passages[number][1] if number is not None else None
            results.append(self._result(document, passage, snippets.get(number, "")))
        return results

    @staticmethod
    def _result(doc: Document, passage: Passage | None, snippet: str) -> Result:
        if MARK_START not in snippet:
            snippet = (passage.text if passage else "") or doc.summary or doc.body
            if len(snippet) > SNIPPET_CHARACTERS:
                snippet = snippet[:SNIPPET_CHARACTERS].rsplit(" ", 1)[0] + ELLIPSIS
        result = Result(doc.url, doc.title, doc.section, _marked(snippet))
        result.is_glossary_entry = doc.is_glossary_entry
        if passage is not None and passage.heading is not None and passage.heading.id:
            result.heading = passage.heading.text
            result.heading_url = f"{doc.url}#{passage.heading.id}"
        return result

    # --- Spelling and the glossary ----------------------------------------------------------

    def _correction(self, query: str, terms: list[Term]) -> _Correction | None:
        """The query with each word the site does not have replaced by its closest word."""
        replacements, clear = {}, True
        for term in terms:
            if self._matching(term.expression):
                continue
            if not term.correctable or len(term.typed) < MIN_CORRECTABLE_LENGTH:
                return None
            candidates = process.extract(
                fold(term.typed),
                self._spelling_words,
                scorer=OSA.distance,
                score_cutoff=max_edit_distance(term.typed),
                limit=8,
            )
            if not candidates:
                return None
            ranked = sorted(
                ((distance, -self.vocabulary[word], word) for word, distance, _ in candidates)
            )
            best = ranked[0]
            if len(ranked) > 1:
                runner_up = ranked[1]
                clear = clear and (
                    best[0] < runner_up[0] or -best[1] >= CLEAR_FREQUENCY_RATIO * -runner_up[1]
                )
            replacements[term.typed] = self._written.get(best[2], best[2])
        if not replacements:
            return None
        text = query
        for typed, word in replacements.items():
            text = re.sub(rf"(?<!\w){re.escape(typed)}(?!\w)", word, text, flags=re.IGNORECASE)
        return _Correction(text, self.terms(text), clear)

    def _definition(self, query: str, terms: list[Term]) -> GlossaryEntry | None:
        """The glossary entry the whole query names, directly or through a synonym."""
        words = WORD_PARTS.findall(query.lower())
        meaningful = [word for word in words if word not in self.language.stopwords]
        for candidate in (self._key(" ".join(words)), self._key(" ".join(meaningful))):
            if candidate in self._glossary_keys:
                return self._glossary_keys[candidate]
        if len(terms) == 1:
            for alternative in terms[0].alternatives:
                entry = self._glossary_keys.get(self._key(alternative))
                if entry is not None:
                    return entry
        return None


class LruCache:
    """A bounded dict that forgets the least recently used entry first (thread-safe)."""

    def __init__(self, size: int):
        self.size = size
        self._items: OrderedDict = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key):
        with self._lock:
            value = self._items.get(key)
            if value is not None:
                self._items.move_to_end(key)
            return value

    def put(self, key, value) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.size:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)


def _marked(text: str) -> SafeString:
    """Escape a snippet, then turn the index's match markers into <mark> elements."""
    if text.count(MARK_START) != text.count(MARK_END):
        text = text.replace(MARK_START, "").replace(MARK_END, "")
    html = str(escape(text)).replace(MARK_START, "<mark>").replace(MARK_END, "</mark>")
    return mark_safe(html)  # noqa: S308 (escaped above; only our own <mark> tags added)


def fts5_available() -> bool:
    """Whether this Python's SQLite has FTS5 (Debian's, Ubuntu's and python.org's do)."""
    try:
        with contextlib.closing(sqlite3.connect(":memory:")) as db:
            db.execute("CREATE VIRTUAL TABLE probe USING fts5(text)")
    except sqlite3.OperationalError:
        return False
    return True


_indexes: dict[str, SearchIndex] = {}
_lock = threading.Lock()


def get_index(language: str | None = None) -> SearchIndex:
    """The index of a site language's pages (by default the active language's), built once
    for each page registry: again only when the registry is rebuilt."""
    code = content_language(language or translation.get_language())
    registry = get_registry(code)
    index = _indexes.get(code)
    if index is not None and index.registry is registry:
        return index
    with _lock:
        index = _indexes.get(code)
        if index is None or index.registry is not registry:
            index = _indexes[code] = SearchIndex(registry, for_code(code))
        return index

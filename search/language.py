"""What the search knows about a language: its words to leave out, the site's synonyms, and
spelling variants. One `Language` per language code (the first part of the site's language
code: "en" for "en-gb").

Synonyms and spelling variants widen a query ("tumor" also looks for "tumour"); a variant is
only used when the site's own text has it, so that over-eager rules cost nothing. FTS5 has a
stemmer for English only (Porter): Spanish words are matched with their accents folded
("infusion" finds "infusión") and their plural or singular found by the same variant rules
("infusiones" finds "infusión"). A real Spanish stemmer (the `snowballstemmer` package) would
have to stem the text before FTS5 sees it, and snippets would then show stems.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field


def english_singular(word: str) -> str:
    if len(word) > 4 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def spanish_base(word: str) -> str:
    """A Spanish word without its plural or final vowel, so that the singular and the plural
    meet: "pacientes" and "paciente", "infusiones" and "infusion" (accents folded)."""
    return re.sub(r"(?:[aeiou]s|[aeiou]|s)$", "", word) if len(word) > 4 else word


@dataclass(frozen=True)
class Language:
    code: str
    # SQLite FTS5 tokenizer: Porter stemming ("infusions" -> "infus") over unicode61, which
    # folds case and accents ("café" = "cafe") and splits on hyphens ("IL-2" -> "il", "2").
    tokenizer: str
    # Words a query may drop ("what are the side effects" looks for "side" and "effects").
    stopwords: frozenset[str]
    # Groups of words and phrases that mean the same thing on this site.
    synonyms: tuple[tuple[str, ...], ...]
    # (pattern, replacement) applied at one place in a word at a time, both ways round.
    spelling_rules: tuple[tuple[str, str], ...] = field(default=())
    # Whole-word spelling pairs the rules do not cover.
    spelling_pairs: tuple[tuple[str, str], ...] = field(default=())
    # A word reduced so that its singular and plural compare equal (glossary terms, synonyms).
    base_form: Callable[[str], str] = english_singular

    def spelling_variants(self, word: str) -> set[str]:
        """Other spellings of a word (American and British), not yet checked against the
        site's vocabulary."""
        variants = set()
        for pattern, replacement in self.spelling_rules:
            for match in re.finditer(pattern, word):
                variant = word[: match.start()] + match.expand(replacement) + word[match.end() :]
                if variant != word:
                    variants.add(variant)
        for one, other in self.spelling_pairs:
            if word.startswith(one):
                variants.add(other + word[len(one) :])
            if word.startswith(other):
                variants.add(one + word[len(other) :])
        return variants


ENGLISH = Language(
    code="en",
    tokenizer="porter unicode61 remove_diacritics 2",
    stopwords=frozenset(
        """a about am an and any are as at be been being but by can could did do does doing for
        from had has have how i if in into is it its me my of on or our so than that the their
        them then there these they this those to us was we were what when where which while who
        whom why will with would you your""".split()  # noqa: SIM905 (words read better as text)
    ),
    synonyms=(
        ("Amtagvi", "lifileucel"),
        ("TIL", "tumour-infiltrating lymphocytes", "tumour infiltrating lymphocytes"),
        ("IL-2", "interleukin-2", "aldesleukin", "Proleukin"),
        ("chemo", "chemotherapy"),
        ("carer", "caregiver"),
        ("ICU", "intensive care unit", "intensive care"),
        ("FDA", "Food and Drug Administration"),
        ("G-CSF", "filgrastim"),
        ("low blood counts", "cytopenia"),
        ("pembrolizumab", "Keytruda"),
        ("ipilimumab", "Yervoy"),
        ("nivolumab", "Opdivo"),
        ("CAR-T", "CAR T-cell therapy", "CAR T cells"),
    ),
    spelling_rules=(
        # tumor/tumour, color/colour, behavior/behaviour (and back)
        (r"(?<=[a-z]{2})or(?=s?$|ed$|ing$|al$)", "our"),
        (r"(?<=[a-z]{2})our(?=s?$|ed$|ing$|al$)", "or"),
        # anemia/anaemia, hematology/haematology, leukemia/leukaemia, pediatric/paediatric
        (r"(?<=[a-z])e(?=[a-z])", "ae"),
        (r"(?<=[a-z])ae", "e"),
        # edema/oedema, esophagus/oesophagus, fetus/foetus, diarrhea/diarrhoea
        (r"(?:^|(?<=[a-z]))e(?=[a-z])", "oe"),
        (r"oe", "e"),
        # randomized/randomised, organization/organisation, analyze/analyse
        (r"(?<=[a-z])([iy])z(?=e|ing|ation)", r"\1s"),
        (r"(?<=[a-z])([iy])s(?=e|ing|ation)", r"\1z"),
        # center/centre, fiber/fibre, liter/litre
        (r"(?<=[a-z][bt])er(?=s?$)", "re"),
        (r"(?<=[a-z][bt])re(?=s?$)", "er"),
        # canceled/cancelled, traveling/travelling, labeled/labelled
        (r"(?<=[aeiou])l(?=ed$|ing$|er$|ers$)", "ll"),
        (r"(?<=[aeiou])ll(?=ed$|ing$|er$|ers$)", "l"),
        # license/licence, defense/defence
        (r"(?<=[a-z])ense(?=s?$)", "ence"),
        (r"(?<=[a-z])ence(?=s?$)", "ense"),
        # catalog/catalogue, dialog/dialogue
        (r"(?<=[a-z]{3})og(?=s?$)", "ogue"),
        (r"(?<=[a-z]{3})ogue(?=s?$)", "og"),
    ),
    spelling_pairs=(
        ("program", "programme"),
        ("aging", "ageing"),
        ("judgment", "judgement"),
        ("gray", "grey"),
        ("mold", "mould"),
        ("artifact", "artefact"),
    ),
)

SPANISH = Language(
    code="es",
    tokenizer="unicode61 remove_diacritics 2",
    stopwords=frozenset(
        """a al algo como con cual cuales cuando de del donde el en es esta este esto estos
        ha hay la las le les lo los me mi mis para pero por que qué se si sin son su sus te tu
        un una uno unos y ya yo""".split()  # noqa: SIM905 (words read better as text)
    ),
    synonyms=(
        ("Amtagvi", "lifileucel"),
        ("TIL", "linfocitos infiltrantes de tumor", "linfocitos infiltrantes del tumor"),
        ("IL-2", "interleucina-2", "aldesleucina", "aldesleukin", "Proleukin"),
        ("quimio", "quimioterapia"),
        ("UCI", "unidad de cuidados intensivos", "cuidados intensivos"),
        ("G-CSF", "filgrastim"),
        ("recuentos sanguíneos bajos", "citopenia"),
        ("pembrolizumab", "Keytruda"),
        ("ipilimumab", "Yervoy"),
        ("nivolumab", "Opdivo"),
    ),
    spelling_rules=(
        # Plural and singular: infusiones/infusión, efectos/efecto, células/célula.
        (r"(?<=[aeiouáéó])s$", ""),
        (r"(?<=[^aeiouáéíóú])es$", ""),
        (r"(?<=[aeiouáéó])$", "s"),
        (r"(?<=[^aeiouáéíóús])$", "es"),
    ),
    base_form=spanish_base,
)

LANGUAGES = {language.code: language for language in (ENGLISH, SPANISH)}
DEFAULT_LANGUAGE = ENGLISH


def for_code(code: str) -> Language:
    """The search language of a site language code ("en-gb" -> English); English otherwise."""
    return LANGUAGES.get(code.split("-")[0].lower(), DEFAULT_LANGUAGE)

"""Reading level of the site's pages, for the content tests and the table printed after every
run. The measuring itself lives in stewardship/reading.py, where the content dashboard uses it
too. Run `python -m tests.readability` for a table of every page.
"""

from stewardship.reading import (
    IN_SHORT_MAX_GRADE,
    INFLESZ_IN_SHORT_MIN,
    INFLESZ_PAGE_MIN,
    PAGE_MAX_GRADE,
    grade,
    inflesz,
    prose_of,
    word_count,
)

__all__ = [
    "INFLESZ_IN_SHORT_MIN",
    "INFLESZ_PAGE_MIN",
    "IN_SHORT_MAX_GRADE",
    "PAGE_MAX_GRADE",
    "READING_GRADES",
    "READING_GRADES_ES",
    "grade",
    "inflesz",
    "prose_of",
]

# (slug, In short grade, page grade, words), filled by the content tests and printed by
# tests/conftest.py after every run; READING_GRADES_ES holds the Spanish pages' INFLESZ.
READING_GRADES: list[tuple[str, float, float, int]] = []
READING_GRADES_ES: list[tuple[str, float, float, int]] = []


def main():
    from tilsite.pages import get_registry

    registry = get_registry()
    print(f"{'page':38} {'in short':>9} {'page':>6} {'words':>6}")
    for page in [registry.home, *registry.reading_order]:
        prose, in_short = prose_of(page.intro_html + page.html)
        words = word_count(prose)
        print(f"{page.slug:38} {grade(in_short):>9} {grade(prose):>6} {words:>6}")


if __name__ == "__main__":
    import django

    django.setup()
    main()

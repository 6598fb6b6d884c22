"""Small builders for tests that need their own content folder and sources file."""

import datetime
import textwrap
from pathlib import Path

# Review dates relative to the day the tests run, so that a page made with the defaults is
# never overdue (an overdue page is a warning) and never reviewed in the future (an error).
LAST_REVIEWED = datetime.date.today() - datetime.timedelta(days=30)
NEXT_REVIEW = LAST_REVIEWED + datetime.timedelta(days=2 * 365)

SOURCES_YAML = """\
- id: alpha
  title: Alpha trial of something
  authors: Doe J, et al.
  journal: Journal of Tests
  year: 2024
  doi: 10.1234/alpha.1
  accessed: 2026-11-24
  kind: clinical-trial
- id: beta
  title: Beta guidance
  publisher: Agency
  date: 2025-02-16
  url: https://agency.example.org/beta
  accessed: 2026-11-24
  kind: regulatory
- id: gamma
  title: Gamma review
  journal: Reviews
  year: 2023
  url: https://reviews.example.org/gamma
  accessed: 2026-11-24
  kind: review
"""


def front_matter(**overrides) -> str:
    meta = {
        "title": "A test page",
        "summary": "A page used by the tests.",
        "section": "Treatment",
        "last_reviewed": LAST_REVIEWED.isoformat(),
        "next_review": NEXT_REVIEW.isoformat(),
    }
    meta.update(overrides)
    lines = [f"{key}: {value}" for key, value in meta.items() if value is not None]
    return "---\n" + "\n".join(lines) + "\n---\n"


class SiteFiles:
    def __init__(self, root: Path):
        self.content = root / "content"
        self.content.mkdir()
        self.sources = root / "sources.yaml"
        self.sources.write_text(SOURCES_YAML)
        self.page("index", "Welcome [@alpha]. Also [@beta] and [@gamma].", title="Home")

    def page(self, slug: str, body: str = "Text.", raw: str | None = None, **meta) -> Path:
        path = self.content / f"{slug}.md"
        text = raw if raw is not None else front_matter(**meta) + textwrap.dedent(body)
        path.write_text(text)
        return path

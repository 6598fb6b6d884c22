"""Small builders for tests that need their own content folder and sources file."""

import textwrap
from pathlib import Path

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
        "last_reviewed": "2026-01-10",
        "next_review": "2028-01-10",
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

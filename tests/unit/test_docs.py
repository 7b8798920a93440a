"""The documentation stays true: generated references match the code, links resolve."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCS = REPO / "docs"


@pytest.fixture(scope="module")
def generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("docs_generate", DOCS / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("page", ["magics.md", "cli.md", "rest-api.md"])
def test_generated_reference_matches_the_code(generator: ModuleType, page: str) -> None:
    committed = (DOCS / page).read_text(encoding="utf-8")
    fresh = generator.PAGES[page]()
    assert committed == fresh, f"docs/{page} is stale: run `python docs/generate.py` and commit"


def test_magics_reference_documents_every_subcommand(generator: ModuleType) -> None:
    from jupyter_mlops import magics
    from jupyter_mlops.magics._registry import SUBCOMMANDS

    magics._load_features()
    text = generator.magics_reference()
    for sub in SUBCOMMANDS.values():
        form = f"%%mlops {sub.name}" if sub.cell else f"%mlops {sub.name}"
        assert f"## {form}\n" in text
        assert sub.example in text
        for action in sub.parser._actions:
            for flag in action.option_strings:
                assert flag in text, f"{flag} of {form} missing from the reference"


def test_cli_reference_documents_every_command(generator: ModuleType) -> None:
    from jupyter_mlops.cli import build_parser

    text = generator.cli_reference()
    for prog, parser in generator._commands(build_parser()):
        assert f"## {prog}\n" in text
        for action in parser._actions:
            for flag in action.option_strings:
                assert flag in text, f"{flag} of {prog} missing from the reference"
    for nested in ("jupyter mlops data diff", "jupyter mlops pipeline run"):
        assert f"## {nested}\n" in text


def test_check_mode_reports_a_stale_page(generator: ModuleType, tmp_path: Path) -> None:
    for name, make in generator.PAGES.items():
        (tmp_path / name).write_text(make(), encoding="utf-8")
    assert generator.stale_pages(tmp_path) == []
    page = tmp_path / "cli.md"
    page.write_text(page.read_text(encoding="utf-8").replace("--json", "--jsn", 1))
    (tmp_path / "magics.md").unlink()
    assert generator.stale_pages(tmp_path) == ["magics.md", "cli.md"]


def _links(markdown: Path) -> list[str]:
    text = markdown.read_text(encoding="utf-8")
    return [m for m in re.findall(r"\]\(([^)\s]+)\)", text) if "://" not in m]


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")), ids=str)
def test_relative_links_resolve(page: str, generator: ModuleType) -> None:
    for link in _links(DOCS / page):
        target, _, anchor = link.partition("#")
        path = DOCS / target if target else DOCS / page
        assert path.exists(), f"docs/{page} links to missing {target}"
        if anchor and path.suffix == ".md":
            headings = re.findall(r"^#+ (.+)$", path.read_text(encoding="utf-8"), re.M)
            anchors = {generator._anchor(h.replace("`", "")) for h in headings}
            assert anchor in anchors, f"docs/{page} links to missing heading {link}"


def test_readme_and_index_link_every_page() -> None:
    pages = {p.name for p in DOCS.glob("*.md")}
    readme = {Path(link.partition("#")[0]).name for link in _links(REPO / "README.md")}
    index = {link.partition("#")[0] for link in _links(DOCS / "index.md")}
    assert pages - {"index.md"} <= index, f"docs/index.md misses {pages - {'index.md'} - index}"
    assert pages <= readme, f"README.md misses links to {sorted(pages - readme)}"

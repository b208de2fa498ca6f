"""The documentation: the `docs/` site builds with `mkdocs build --strict` (a broken link or anchor is an
error, see mkdocs.yml), and every relative link of README.md points to a file that exists (and, into a
docs page, to an anchor the built page has)."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

ROOT = Path(__file__).resolve().parents[1]
MKDOCS = Path(sys.executable).with_name("mkdocs")

# A Markdown link or image, outside code: [text](target) with an optional "title".
_CODE = re.compile(r"^(```|~~~).*?^\1[ \t]*$|`+[^`\n]*`+", re.MULTILINE | re.DOTALL)
_LINK = re.compile(r"!?\[[^\]\n]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")


def build(config: Path, site_dir: Path) -> subprocess.CompletedProcess:
    assert MKDOCS.exists(), "mkdocs is not installed: pip install -e '.[docs]' (part of the dev extras)"
    return subprocess.run(
        [str(MKDOCS), "build", "--strict", "--config-file", str(config), "--site-dir", str(site_dir)],
        cwd=config.parent, capture_output=True, text=True, timeout=120, check=False,
    )


def relative_links(markdown: str) -> list[str]:
    text = _CODE.sub("", markdown)
    return [t for t in _LINK.findall(text) if not urlsplit(t).scheme and not t.startswith(("mailto:", "//"))]


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    site_dir = tmp_path_factory.mktemp("site")
    result = build(ROOT / "mkdocs.yml", site_dir)
    assert result.returncode == 0, result.stdout + result.stderr
    return site_dir


def test_the_site_builds_strictly(site):
    for page in ("index", "training", "evaluation", "inference", "corpus", "growing-the-corpus",
                 "active_learning", "reliability", "robustness"):
        html = site / ("index.html" if page == "index" else f"{page}/index.html")
        assert html.is_file(), page


def test_every_docs_page_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    for page in sorted((ROOT / "docs").glob("*.md")):
        assert re.search(rf":\s*{re.escape(page.name)}\s*$", nav, re.MULTILINE), f"{page.name} is not in mkdocs.yml's nav"


def test_readme_links_point_to_existing_files_and_anchors(site):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    links = relative_links(readme)
    assert any(link.startswith("docs/") for link in links)
    for link in links:
        parts = urlsplit(link)
        if not parts.path:  # a link to a heading of the README itself
            continue
        target = (ROOT / unquote(parts.path)).resolve()
        assert target.exists(), f"README.md links to {link}, which does not exist"
        if parts.fragment and target.parent == ROOT / "docs" and target.suffix == ".md":
            page = site / ("index.html" if target.stem == "index" else f"{target.stem}/index.html")
            found = f'id="{parts.fragment}"' in page.read_text(encoding="utf-8")
            assert found, f"README.md links to {link}: the built page has no such anchor"


def _copy_project(tmp_path: Path) -> Path:
    """mkdocs.yml and a copy of docs/ in tmp_path, the rest of the repository linked beside them."""
    for entry in ROOT.iterdir():
        if entry.name in ("docs", "site", ".git", ".venv"):
            continue
        if entry.name == "mkdocs.yml":
            shutil.copy(entry, tmp_path / entry.name)
        else:
            (tmp_path / entry.name).symlink_to(entry)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    return tmp_path / "mkdocs.yml"


@pytest.mark.parametrize(
    "broken, message",
    [
        ("[a page](no-such-page.md)", "no-such-page.md', but the target is not found"),
        ("[a heading](training.md#no-such-heading)", "does not contain an anchor '#no-such-heading'"),
    ],
)
def test_a_broken_link_fails_the_build(tmp_path, broken, message):
    config = _copy_project(tmp_path)
    ok = build(config, tmp_path / "site-ok")
    assert ok.returncode == 0, ok.stdout + ok.stderr  # the copy builds as the repository does
    page = tmp_path / "docs" / "reliability.md"
    page.write_text(page.read_text(encoding="utf-8") + f"\nSee {broken}.\n", encoding="utf-8")
    result = build(config, tmp_path / "site-broken")
    assert result.returncode != 0
    assert message in result.stdout + result.stderr


def test_docs_pages_name_repository_files_instead_of_linking_out_of_the_site():
    """A link from a page to `../annotations/…` points outside the built site: name the file instead."""
    for page in sorted((ROOT / "docs").glob("*.md")):
        outside = [link for link in relative_links(page.read_text(encoding="utf-8")) if link.startswith("../")]
        assert not outside, f"{page.name} links out of the site: {outside}; write the path as `code` instead"

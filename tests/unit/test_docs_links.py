"""The README and the manual in docs/: every relative link reaches a file of the repository, every anchor a heading
of its page (GitHub's slugs), and the README stays a front page. Reads repository files only."""

from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

import pytest

from facedaemon.__main__ import _parser

REPO = Path(__file__).resolve().parents[2]
PAGES = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
README_MAX_LINES = 150

FENCE = re.compile(r"^(```|~~~).*?^\1", re.S | re.M)
INLINE_CODE = re.compile(r"`[^`\n]*`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*#*\s*$", re.M)


def prose(text: str) -> str:
    """The text without code blocks and inline code, where brackets are not links."""
    return INLINE_CODE.sub("", FENCE.sub("", text))


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading keeps its text
    text = re.sub(r"[^\w\- ]", "", text.lower().replace("`", ""))
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    seen: Counter[str] = Counter()
    found = set()
    for heading in HEADING.findall(FENCE.sub("", path.read_text())):
        base = slug(heading)
        found.add(base if not seen[base] else f"{base}-{seen[base]}")
        seen[base] += 1
    return found


def broken_links(page: Path, repo: Path = REPO) -> list[str]:
    problems = []
    for target in LINK.findall(prose(page.read_text())):
        if re.match(r"^[a-z][a-z0-9+.-]*:", target):  # http:, https:, mailto:, file: are not checked here
            continue
        path_part, _, anchor = target.partition("#")
        destination = (page.parent / path_part).resolve() if path_part else page
        if not destination.exists():
            problems.append(f"{page.relative_to(repo)}: {target} (no such file)")
        elif not destination.is_relative_to(repo):
            problems.append(f"{page.relative_to(repo)}: {target} (outside the repository)")
        elif anchor and destination.suffix == ".md" and anchor not in anchors(destination):
            problems.append(f"{page.relative_to(repo)}: {target} (no heading with that anchor)")
    return problems


@pytest.mark.parametrize("page", PAGES, ids=lambda page: str(page.relative_to(REPO)))
def test_every_link_and_anchor_resolves(page: Path) -> None:
    assert broken_links(page) == []


def test_the_checker_finds_a_broken_anchor_and_a_missing_file(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text("# A page\n\n## Run as a service\n")
    page = tmp_path / "b.md"
    page.write_text("[ok](a.md#run-as-a-service) [bad](a.md#run-as-service) [gone](c.md) `[code](c.md)`\n")
    assert broken_links(page, tmp_path) == ["b.md: a.md#run-as-service (no heading with that anchor)",
                                            "b.md: c.md (no such file)"]


def test_slugs_follow_github() -> None:
    assert slug("Run as a service") == "run-as-a-service"
    assert slug("Events: who arrived, who left") == "events-who-arrived-who-left"
    assert slug("`facedaemon bench --range`") == "facedaemon-bench---range"


def test_the_manual_exists_and_the_readme_is_a_front_page() -> None:
    assert len(PAGES) > 1, "docs/ holds the manual"
    lines = len((REPO / "README.md").read_text().splitlines())
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines: the manual lives in docs/"
    linked = {Path(target.partition("#")[0]).name for target in LINK.findall(prose((REPO / "README.md").read_text()))}
    unlinked = [page.name for page in PAGES[1:] if page.name not in linked]
    assert unlinked == [], f"pages of docs/ the README does not link: {unlinked}"


def test_the_readme_lists_every_command() -> None:
    # argparse keeps its subcommands on a private action; there is no public way to list them
    subcommands = next(action for action in _parser()._actions if isinstance(action, argparse._SubParsersAction))
    table = (REPO / "README.md").read_text()
    listed = re.findall(r"^\| `facedaemon ([a-z-]+)", table, re.M) + re.findall(r"` / `([a-z-]+)` \|", table)
    missing = sorted(set(subcommands.choices) - set(listed))
    assert missing == [], f"commands missing from the README's Commands table: {missing}"


CITING_FOLDERS = ("facedaemon", "devtools", "etc", "systemd", "scripts", "tests")
README_SECTION = re.compile(r"README[,:]?\s+(\"|“|[A-Z][a-z]+ [a-z])|see (the )?README\b|README: \d")


def test_no_file_cites_a_section_of_the_readme() -> None:
    """The manual lives in docs/: a comment or message that sends the reader to a README section is stale."""
    citing = []
    for folder in CITING_FOLDERS:
        for path in sorted((REPO / folder).rglob("*")):
            if path.is_file() and path.suffix not in {".pyc", ".jpg", ".png"} and path.name != Path(__file__).name:
                text = path.read_text(errors="replace")
                citing += [f"{path.relative_to(REPO)}: {match.group(0)}" for match in README_SECTION.finditer(text)]
    assert citing == [], "cite the page of docs/ instead"


def test_the_citation_pattern_catches_the_old_forms() -> None:
    for old in ('(see README, "Small faces")', 'see README "Run as a service"', "# README: 2-4 s",
                "README, Small faces"):
        assert README_SECTION.search(old), old
    assert not README_SECTION.search('install -m 0644 README.md "$PREFIX/README.md"')

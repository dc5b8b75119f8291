"""The example numbers in README.md and docs/ are the ones `make docs-example` wrote to
docs/example_numbers.json (the marked blocks, rendered again from that JSON, must match
exactly), docs/report.png is the screenshot that JSON names, and every relative link of
README.md and benchmarks/README.md points to a file (and heading) that exists. Nothing here
runs the workflow."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def _load_script():
    spec = importlib.util.spec_from_file_location("docs_example",
                                                  REPO / "benchmarks" / "docs_example.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


DOCS = _load_script()
DATA = json.loads(DOCS.JSON_PATH.read_text())


def _mismatches(target: str, text: str) -> list[str]:
    """Names of the blocks of ``text`` that differ from what the JSON renders (or are
    missing, or are not expected in ``target``)."""
    expected = DOCS.render_blocks(DATA, DOCS.TARGETS[target])
    found = DOCS.marked_blocks(text)
    wanted = DOCS.BLOCKS[target]
    bad = [n for n in wanted if found.get(n) != expected[n]]
    bad += [n for n in found if n not in wanted]
    return bad


@pytest.mark.parametrize("target", sorted(DOCS.TARGETS))
def test_marked_blocks_are_the_json_rendered(target: str) -> None:
    text = (REPO / target).read_text()
    assert _mismatches(target, text) == [], (
        f"{target}: example numbers differ from docs/example_numbers.json; run "
        "`make docs-example` (it reruns examples/amp_tiny and rewrites both)")


def test_a_changed_number_in_the_readme_is_caught() -> None:
    text = (REPO / "README.md").read_text()
    mcc = f"{DATA['models'][DATA['headline_model']]['test_mcc']:.3f}"
    assert mcc in DOCS.marked_blocks(text)["verdict"]
    stale = text.replace(f"test MCC {mcc}", "test MCC 0.999", 1)
    assert _mismatches("README.md", stale) == ["verdict"]
    no_markers = text.replace("<!-- example:predict:start -->", "", 1)
    assert _mismatches("README.md", no_markers) == ["predict"]


def test_readme_headline_is_the_best_model_of_the_json() -> None:
    models = DATA["models"]
    head = models[DATA["headline_model"]]
    order = {"pass": 0, "caution": 1, "fail": 2}
    assert all(order[head["level"]] <= order[m["level"]] for m in models.values())
    block = DOCS.marked_blocks((REPO / "README.md").read_text())["verdict"]
    line = f"> **{DATA['headline_model']}** {head['why']} — {head['verdict']}"
    assert block.lstrip("\n").startswith(line)
    assert f"test MCC {head['test_mcc']:.3f}" in head["verdict"]


def test_report_png_is_the_screenshot_the_json_names() -> None:
    digest = hashlib.sha256(DOCS.PNG_PATH.read_bytes()).hexdigest()
    assert digest == DATA["report_png_sha256"]


def test_json_predictions_cover_every_new_peptide() -> None:
    ids = [r.split()[0][1:] for r in (REPO / "examples" / "amp_tiny" / "new.fa").read_text()
           .splitlines() if r.startswith(">")]
    assert [p["id"] for p in DATA["predictions"]] == ids


def _slug(heading: str) -> str:
    """GitHub's anchor of a Markdown heading (lowercase, punctuation dropped, spaces -> -)."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(md: Path) -> set[str]:
    out, fence = set(), False
    for line in md.read_text().splitlines():
        if line.lstrip().startswith("```"):
            fence = not fence
        elif not fence and (m := re.match(r"^#{1,6} (.+)$", line)):
            out.add(_slug(m.group(1)))
    return out


def _relative_links(md: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", md.read_text(), flags=re.DOTALL)
    links = re.findall(r"\]\(([^)\s]+)\)", text)
    return [t for t in links if not re.match(r"^[a-z]+:", t)]


@pytest.mark.parametrize("page", ["README.md", "benchmarks/README.md"])
def test_relative_links_point_to_existing_files_and_headings(page: str) -> None:
    md = REPO / page
    broken = []
    for link in _relative_links(md):
        path, _, anchor = link.partition("#")
        target = (md.parent / path).resolve() if path else md
        missing_anchor = (anchor and target.exists() and target.suffix == ".md"
                          and anchor not in _anchors(target))
        if not target.exists() or missing_anchor:
            broken.append(link)
    assert broken == []


def test_link_check_catches_a_missing_file(tmp_path: Path) -> None:
    md = tmp_path / "README.md"
    (tmp_path / "a.md").write_text("# A title\n")
    md.write_text("[ok](a.md#a-title) [gone](b.md) [bad anchor](a.md#nope) [web](https://x.org)\n")
    assert _relative_links(md) == ["a.md#a-title", "b.md", "a.md#nope"]
    assert "a-title" in _anchors(tmp_path / "a.md") and "nope" not in _anchors(tmp_path / "a.md")

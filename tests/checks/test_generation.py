"""Generation checks (no torch): profiles, baselines, scores, the report table, the config."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from seqnn.checks.generation import (
    baselines,
    diversity,
    evaluate_generation,
    frechet_distance,
)
from seqnn.cli.main import main
from seqnn.config import ConfigError, dataset_from_dict
from seqnn.data.profiles import dipeptide_counts, js_divergence, profile_distances
from seqnn.report.generation import rows, verdict

TRAIN = ["ACDKW", "KKWAC", "ACDEFGH", "WWKKAC", "GHIKLM"]


def test_profiles_known_answers() -> None:
    assert js_divergence([1, 0], [0, 1]) == 1.0
    assert js_divergence([1, 2], [2, 4]) == 0.0
    assert np.isnan(js_divergence([0, 0], [1, 1]))
    d = dipeptide_counts(["AC", "CA"])  # no pair across the two sequences
    assert d.sum() == 2 and d[0 * 20 + 1] == 1 and d[1 * 20 + 0] == 1
    same = profile_distances(TRAIN, TRAIN, 10)
    assert same == {"length": 0.0, "residue": 0.0, "dipeptide": 0.0}


def test_baselines_match_what_they_claim() -> None:
    base = baselines(TRAIN, 40, seed=1)
    assert set(base) == {"composition", "markov", "shuffled"}
    assert base == baselines(TRAIN, 40, seed=1)
    lengths = {len(s) for s in TRAIN}
    for seqs in base.values():
        assert len(seqs) == 40 and {len(s) for s in seqs} <= lengths
    assert all(sorted(s) in [sorted(t) for t in TRAIN] for s in base["shuffled"])
    # the Markov chain uses observed transitions (a tiny pseudocount aside)
    seen = {t[i : i + 2] for t in TRAIN for i in range(len(t) - 1)}
    pairs = [s[i : i + 2] for s in base["markov"] for i in range(len(s) - 1)]
    assert np.mean([p in seen for p in pairs]) > 0.8


def test_scores_flag_copies_and_collapse() -> None:
    nearest = lambda q, t: np.array([1.0 if s in t else 0.2 for s in q])  # noqa: E731
    copies = TRAIN * 4
    res = evaluate_generation(copies, TRAIN, ["ACDKY", "KKWAD"], nearest=nearest, seed=0)
    gen, ref = res["sets"]["generator"], res["sets"]["reference"]
    assert gen["novelty"]["exact_copies"] == 1.0 and gen["novelty"]["share_ge_90"] == 1.0
    assert ref["novelty"]["share_ge_90"] == 0.0
    assert gen["memorisation"] is True and res["sets"]["composition"]["memorisation"] is False
    assert gen["uniqueness"] == 0.25 and gen["validity"] == 1.0
    collapsed = diversity(["ACDEFGHIK"] * 10)
    assert collapsed["mean_pairwise_jaccard"] == 1.0
    assert diversity(TRAIN)["mean_pairwise_jaccard"] < 0.5
    table = rows(res)
    assert [r[0] for r in table] == ["generator", "composition", "markov", "shuffled",
                                     "reference"]
    assert any("MEMORISATION" in line for line in verdict(res))


def test_frechet_distance() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(200, 3))
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)
    assert frechet_distance(a, a + 2.0) == pytest.approx(12.0, rel=0.01)


def test_check_generated_cli(tmp_path: Path) -> None:
    def fa(name: str, seqs: list[str]) -> str:
        path = tmp_path / name
        path.write_text("".join(f">{name}{i}\n{s}\n" for i, s in enumerate(seqs)))
        return str(path)

    out = tmp_path / "g.json"
    args = ["check-generated", fa("gen", ["ACDKWW", "KKWACD", "ACD"]), "--train",
            fa("train", TRAIN), "--reference", fa("ref", ["ACDKY", "KKWAD"]), "--no-mmseqs",
            "-o", str(out)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 0, res.output
    data = json.loads(out.read_text())
    assert data["sets"]["generator"]["n"] == 3 and data["caveat"] is None
    res = CliRunner().invoke(main, ["check-generated", str(tmp_path / "gen"), "-o",
                                    str(tmp_path / "x.json")])
    assert res.exit_code == 2 and not (tmp_path / "x.json").exists()
    assert "give --train and --reference" in res.output


def test_generate_block_in_config() -> None:
    spec = dataset_from_dict("g", {"task": "generative", "inputs": [{"fasta": "a.fa"}],
                                   "generate": {"n": 10, "reference": "valid"}})
    assert spec.generate.n == 10 and spec.generate.reference == "valid"
    with pytest.raises(ConfigError, match="generate: unknown key"):
        dataset_from_dict("g", {"task": "generative", "inputs": [{"fasta": "a.fa"}],
                                "generate": {"number": 10}})


def test_report_generation_cli(tmp_path: Path) -> None:
    nearest = lambda q, t: np.zeros(len(q))  # noqa: E731
    res = evaluate_generation(["ACDKWW", "KKWACD"], TRAIN, ["ACDKY", "KKWAD"], nearest=nearest)
    model = tmp_path / "models" / "gan"
    model.mkdir(parents=True)
    (model / "generation.json").write_text(json.dumps(res))
    out = tmp_path / "generation.html"
    cli = CliRunner().invoke(main, ["report-generation", str(tmp_path), "--models", "gan",
                                    "-o", str(out)])
    assert cli.exit_code == 0, cli.output
    html = out.read_text()
    assert "What this does not show" in html and "No wet-lab validation" in html
    assert all(f"<td>{s}</td>" in html for s in ("composition", "markov", "shuffled"))

"""The applicability check's training database (``<model>/nearest_db``): built once and
reused across chunks and calls, rebuilt when stale, atomic, a per-process copy for a
read-only model folder, and the same identities as building it on every call."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest

from seqnn.inference import nearest as nearest_mod
from seqnn.inference.nearest import NEAREST_DB, NearestTrain
from seqnn.split import mmseqs

AA = "ACDEFGHIKLMNPQRSTVWY"


def _proteins(rng: np.random.Generator, n: int, lo: int = 60, hi: int = 120) -> list[str]:
    return ["".join(rng.choice(list(AA), size=int(k))) for k in rng.integers(lo, hi, n)]


def _mutate(rng: np.random.Generator, seq: str, rate: float) -> str:
    return "".join(rng.choice(list(AA)) if rng.random() < rate else c for c in seq)


def _write(path: Path, seqs: list[str]) -> None:
    path.write_text("".join(f">t{i}\n{s}\n" for i, s in enumerate(seqs)))


@pytest.fixture
def data(tmp_path: Path) -> dict:
    rng = np.random.default_rng(1)
    train = _proteins(rng, 30)
    queries = ([train[0], train[5]] + [_mutate(rng, train[k], r) for k, r in
                                       ((1, 0.1), (2, 0.3), (3, 0.5), (4, 0.2))]
               + _proteins(rng, 4))
    model = tmp_path / "model"
    model.mkdir()
    _write(model / "train_sequences.fa", train)
    return {"model": model, "train": train, "queries": queries}


@pytest.fixture
def builds(monkeypatch) -> list[Path]:
    """Count the training databases built (nearest.createdb calls)."""
    seen: list[Path] = []
    real = nearest_mod.createdb

    def counting(seqs, db):  # noqa: ANN001, ANN202
        seen.append(Path(db))
        real(seqs, db)

    monkeypatch.setattr(nearest_mod, "createdb", counting)
    return seen


def _old_identity(queries: list[str], train: list[str]) -> np.ndarray:
    """The identities as the check computed them before (a database built per call)."""
    hits = mmseqs.align(queries, train, None, 1, coverage=0.8, evalue=10.0)
    best = hits.groupby("query")["identity"].max()
    out = best.reindex(np.arange(len(queries))).fillna(0.0).to_numpy(dtype=float, copy=True)
    out[[q in set(train) for q in queries]] = 1.0
    return out


def test_built_once_and_reused_across_chunks_and_calls(data, builds, monkeypatch) -> None:
    runs: list[tuple[str, ...]] = []
    real = mmseqs._mmseqs
    monkeypatch.setattr(mmseqs, "_mmseqs", lambda b, *a, **k: (runs.append(a), real(b, *a, **k)))
    near = NearestTrain(data["model"])
    # built beside the final folder, then renamed into place
    assert [(b.parent.parent, b.parent.name[:12], b.name) for b in builds] == [
        (data["model"], f".{NEAREST_DB}.", "train")]
    assert near.db_dir == data["model"] / NEAREST_DB
    q = data["queries"]
    first, second = near.identity(q[:5]), near.identity(q[5:])
    # per chunk: the queries' database only, searched against the kept one
    created = [Path(a[1]).name for a in runs if a[0] == "createdb"]
    assert created == ["train.fa", "q.fa", "q.fa"]
    assert [Path(a[2]) for a in runs if a[0] == "search"] == [
        data["model"] / NEAREST_DB / "train"] * 2
    again = NearestTrain(data["model"])  # a later predict call
    assert len(builds) == 1
    assert again.identity(q).tolist() == [*first, *second]
    stamp = json.loads((data["model"] / NEAREST_DB / "stamp.json").read_text())
    assert stamp["sequences"] == 30 and stamp["mmseqs"] == mmseqs.mmseqs_version()
    assert sorted(p.name for p in data["model"].iterdir()) == [NEAREST_DB, "train_sequences.fa"]


def test_same_identities_as_a_database_per_call(data) -> None:
    got = NearestTrain(data["model"]).identity(data["queries"])
    old = _old_identity(data["queries"], data["train"])
    assert got.tolist() == old.tolist()
    assert got[:2].tolist() == [1.0, 1.0] and (got[2:6] > 0.3).all() and (got[6:] < 0.3).all()


def test_prefiltered_search_keeps_identity_of_hits_found_by_both(data, monkeypatch) -> None:
    monkeypatch.setattr(nearest_mod, "EXHAUSTIVE_MAX_CELLS", 0.0)  # force the prefilter
    near = NearestTrain(data["model"])
    assert near.sensitivity == nearest_mod.NEAREST_SENSITIVITY
    fast = mmseqs.align(data["queries"], data["train"], None, 1, 0.8, 10.0,
                        sensitivity=near.sensitivity, target_db=near.db_dir / "train")
    audit = mmseqs.align(data["queries"], data["train"], None, 1, 0.8, 10.0,
                         sensitivity=mmseqs.AUDIT_SENSITIVITY)
    assert set(fast["query"]) <= set(audit["query"])
    full = mmseqs.align(data["queries"], data["train"], None, 1, 0.8, 10.0)
    both = fast.merge(full, on=["query", "target"], suffixes=("_fast", "_full"))
    assert len(both) >= 4
    assert both["identity_fast"].tolist() == both["identity_full"].tolist()
    assert set(fast["query"]) <= set(full["query"])
    got = near.identity(data["queries"])
    old = _old_identity(data["queries"], data["train"])
    assert got[:6].tolist() == old[:6].tolist()  # the homologues: same nearest identity


def test_a_stale_database_is_rebuilt(data, builds) -> None:
    NearestTrain(data["model"])
    rng = np.random.default_rng(7)
    added = _proteins(rng, 1)[0]
    _write(data["model"] / "train_sequences.fa", [*data["train"], added])
    near = NearestTrain(data["model"])
    assert len(builds) == 2
    assert near.identity([_mutate(rng, added, 0.1)])[0] > 0.8
    stamp_path = data["model"] / NEAREST_DB / "stamp.json"
    stamp = json.loads(stamp_path.read_text())
    assert stamp["sequences"] == 31
    stamp_path.write_text(json.dumps({**stamp, "mmseqs": "another version"}))
    NearestTrain(data["model"])
    assert len(builds) == 3
    assert json.loads(stamp_path.read_text()) == stamp
    assert sorted(p.name for p in data["model"].iterdir()) == [NEAREST_DB, "train_sequences.fa"]


def test_a_read_only_model_folder_uses_a_temporary_database(data, builds, monkeypatch) -> None:
    model = data["model"]
    real = tempfile.mkdtemp

    def refuse(suffix=None, prefix=None, dir=None):  # noqa: ANN001, ANN202, A002
        if dir is not None and Path(dir) == model:  # as for a non-root user after chmod
            raise PermissionError(13, "Permission denied", str(dir))
        return real(suffix, prefix, dir)

    monkeypatch.setattr(tempfile, "mkdtemp", refuse)
    model.chmod(0o555)
    try:
        near = NearestTrain(model)
        got = near.identity(data["queries"])
    finally:
        model.chmod(0o755)
    assert not (model / NEAREST_DB).exists()
    assert len(builds) == 1 and builds[0].parent == near.db_dir != model / NEAREST_DB
    assert got.tolist() == _old_identity(data["queries"], data["train"]).tolist()
    scratch = near.db_dir
    del near
    assert not scratch.exists()


def test_an_interrupted_build_leaves_nothing(data, monkeypatch) -> None:
    def broken(seqs, db):  # noqa: ANN001, ANN202
        Path(str(db) + ".index").write_text("half")
        raise KeyboardInterrupt

    monkeypatch.setattr(nearest_mod, "createdb", broken)
    with pytest.raises(KeyboardInterrupt):
        NearestTrain(data["model"])
    assert [p.name for p in data["model"].iterdir()] == ["train_sequences.fa"]

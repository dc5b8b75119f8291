"""The generation report: each generative model's ``generation.json`` as tables (the model
against three baselines and the held-out real sequences), a plain verdict and what the
numbers do not show. :func:`rows` gives the same table as plain text (README, terminal).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from .. import layout
from .html import esc, fmt, html_table, page

SETS = ("generator", "composition", "markov", "shuffled", "reference")
COLUMNS = ("set", "valid", "unique", "copies", "id≥0.7", "id≥0.9", "JS len", "JS res",
           "JS dipep", "pair J", "nearest J", "Fréchet", "clf+", "memorised")
#: distances where the generator must be lower than every baseline to claim a match
DISTANCES = (("distribution", "length"), ("distribution", "residue"),
             ("distribution", "dipeptide"), ("frechet", None))
CAVEATS = (
    "No wet-lab validation: nothing here says a generated peptide is active or safe.",
    "The classifier's share is not activity: the AMP classifier leans on composition, so "
    "composition-matched sequences can score high without being antimicrobial.",
    "Distribution distances compare profiles (length, residues, adjacent pairs); a set can "
    "match them and still lack the longer-range order of real peptides.",
    "Diversity is alignment-free (3-mer Jaccard on a sample of 300), novelty is MMseqs2 "
    "identity to the nearest training sequence (no hit counts as 0).",
)


def _get(entry: dict, key: str, sub: str | None) -> Any:
    value = entry.get(key)
    return value.get(sub) if sub is not None and isinstance(value, dict) else value


def _cells(entry: dict) -> list[Any]:
    nov, div = entry.get("novelty", {}), entry.get("diversity", {})
    dist = entry.get("distribution", {})
    return [entry.get("validity"), entry.get("uniqueness"), nov.get("exact_copies"),
            nov.get("share_ge_70"), nov.get("share_ge_90"), dist.get("length"),
            dist.get("residue"), dist.get("dipeptide"), div.get("mean_pairwise_jaccard"),
            div.get("mean_nearest_jaccard"), entry.get("frechet"),
            entry.get("classifier_positive"), entry.get("memorisation")]


def rows(result: dict) -> list[list[str]]:
    """The table of one ``generation.json`` as text cells (header: :data:`COLUMNS`)."""
    out = []
    for name in SETS:
        entry = result.get("sets", {}).get(name)
        if entry is not None:
            out.append([name, *(_text(v) for v in _cells(entry))])
    return out


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return f"{value:.3f}" if isinstance(value, float) else str(value)


def verdict(result: dict) -> list[str]:
    """Plain sentences: where the generator beats every baseline, where it does not, and
    memorisation."""
    sets = result.get("sets", {})
    gen = sets.get("generator", {})
    lines = []
    for key, sub in DISTANCES:
        g = _get(gen, key, sub)
        base = {b: _get(sets.get(b, {}), key, sub) for b in SETS[1:4]}
        if g is None or any(v is None for v in base.values()):
            continue
        what = f"{key} {sub}" if sub else key
        worse = [b for b, v in base.items() if not g < v]
        lines.append(f"{what}: beats all three baselines ({g:.3f})" if not worse else
                     f"{what}: does NOT beat {', '.join(worse)} ({g:.3f} vs "
                     + ", ".join(f"{base[b]:.3f}" for b in worse) + ")")
    if gen.get("memorisation"):
        lines.append("MEMORISATION: more near-copies (>= 0.9 identity) of training sequences "
                     "than the held-out real sequences have")
    return lines


def generation_section(name: str, result: dict) -> str:
    """One model's HTML section: verdict list, table, and the caveats."""
    table = html_table(COLUMNS, [[esc(r[0]), *(fmt(c) for c in r[1:])] for r in rows(result)])
    items = "".join(f"<li>{esc(v)}</li>" for v in verdict(result))
    caveat = result.get("caveat")
    extra = f"<p><b>Classifier:</b> {esc(result.get('classifier'))}: {esc(caveat)}</p>" \
        if caveat else ""
    return (f"<h2>{esc(name)}</h2><ul>{items}</ul>{table}{extra}"
            f"<p>Embeddings for the Fréchet distance: {esc(result.get('embed_model') or 'none')}"
            f"; {esc(result.get('n_train'))} training and {esc(result.get('n_reference'))} "
            f"held-out real sequences.</p>")


def write_generation_report(dataset_dir: str | Path, models: list[str], out: str | Path) -> None:
    """``generation.html`` for the generative ``models`` of ``dataset_dir`` (atomically)."""
    from ..data.files import write_text

    parts = []
    for m in models:
        path = layout.model_dir(dataset_dir, m) / layout.GENERATION
        parts.append(generation_section(m, json.loads(path.read_text())))
    notes = "".join(f"<li>{esc(c)}</li>" for c in CAVEATS)
    legend = ("<p>Sets: the model's samples, three baselines of the same size (composition, "
              "first-order Markov chain, shuffled training sequences) and the held-out real "
              "sequences. JS: Jensen–Shannon divergence (bits) to the held-out real sequences; "
              "J: 3-mer Jaccard similarity; clf+: share the classifier calls positive.</p>")
    body = legend + "".join(parts) + f"<h2>What this does not show</h2><ul>{notes}</ul>"
    write_text(page(f"Generation: {Path(dataset_dir).name}", body), Path(out))


__all__ = ["CAVEATS", "COLUMNS", "generation_section", "rows", "verdict",
           "write_generation_report"]

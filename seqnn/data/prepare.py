"""Turn published benchmark packages into seqnn's input table.

``seqnn prepare scl2205 -o scl2205.tsv`` reads the SCL2205 subcellular-localisation data
(Ouso & Pollastri; CC0 data) from the ``p-scldata==2025.6.0`` package (``pip install -e
'.[scl2205]'``; later versions of that package carry no data) and writes one table with the
columns ``id`` (UniProt accession), ``sequence``, ``label`` (class name) and ``split``
(the published split: ``trn`` -> train, ``evl`` -> valid, ``tst`` -> test).

The package's ``splits.json`` lists integer row numbers that map to accessions through
``entries.json``; ``labels.json`` maps the integer ``scl`` column to class names. The table
keeps every row as published: identical sequences (also across splits, some with
conflicting labels) are left for the ingest step and the leakage audit to find and report.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..errors import SeqnnInputError
from .files import write_table
from .tables import read_table

SCL2205_SPLITS = {"trn": "train", "evl": "valid", "tst": "test"}


def scl2205_data_dir() -> Path:
    """Folder of the installed ``scldata`` package's data files (clear error if missing)."""
    try:
        import scldata
    except ImportError:
        raise SeqnnInputError(
            "scldata", "the SCL2205 data package is not installed; run "
            "pip install -c constraints.txt -e '.[scl2205]' (it pins p-scldata==2025.6.0)"
        ) from None
    folder = Path(scldata.__file__).parent / "data"
    if not (folder / "scl2205.csv").exists():
        raise SeqnnInputError(folder, "no scl2205.csv: install p-scldata==2025.6.0 "
                              "(later versions carry no data)")
    return folder


def _json(path: Path) -> dict:
    if not path.exists():
        raise SeqnnInputError(path, "file not found")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as exc:
        raise SeqnnInputError(path, f"not valid JSON ({exc.msg} at line {exc.lineno})") from None


def scl2205_table(folder: Path) -> pd.DataFrame:
    """The SCL2205 table (id, sequence, label, split) from the package's four data files."""
    rows = read_table(folder / "scl2205.csv", ["entry", "seq", "scl"])
    entries = _json(folder / "entries.json")
    names = _json(folder / "labels.json").get("index_to_label")
    splits = _json(folder / "splits.json")
    if not isinstance(names, dict):
        raise SeqnnInputError(folder / "labels.json", "no 'index_to_label' mapping")
    split_of: dict[str, str] = {}
    for key, split in SCL2205_SPLITS.items():
        for index in splits.get(key, []):
            acc = entries.get(str(index))
            if acc is None:
                raise SeqnnInputError(folder / "entries.json", f"no entry for row {index} "
                                      f"listed in splits.json[{key!r}]")
            split_of[acc] = split
    missing = [e for e in rows["entry"] if e not in split_of]
    if missing:
        raise SeqnnInputError(folder / "splits.json", "entry in no split", missing[0])
    unknown = sorted(set(rows["scl"]) - set(names))
    if unknown:
        raise SeqnnInputError(folder / "scl2205.csv", f"class index {unknown[0]} has no name "
                              "in labels.json")
    return pd.DataFrame({
        "id": rows["entry"], "sequence": rows["seq"],
        "label": rows["scl"].map(names), "split": rows["entry"].map(split_of),
    })


PREPARERS = {"scl2205": lambda folder: scl2205_table(folder or scl2205_data_dir())}


def prepare(name: str, out: str, folder: str | None = None) -> pd.DataFrame:
    """Write the input table of the named benchmark to ``out`` (atomically) and return it.

    ``folder`` overrides where the package's files are read from (tests use a fixture).
    """
    if name not in PREPARERS:
        raise SeqnnInputError(name, f"unknown dataset; known: {', '.join(PREPARERS)}")
    table = PREPARERS[name](Path(folder) if folder else None)
    write_table(table, out)
    return table

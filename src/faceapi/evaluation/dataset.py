"""Labelled image folders: `labels.csv` with a `file` column relative to the folder."""

from __future__ import annotations

import csv
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.evaluation.metrics import age_band

LABELS_FILE = "labels.csv"
LABEL_COLUMNS = ("age", "gender", "expression", "age_group", "race")
GENDERS = ("M", "F")
# `--limit` draws its sample with this seed, so reruns and peers see the same images.
SAMPLE_SEED = 20240611

T = TypeVar("T")


class DatasetError(ValueError):
    """The folder is not laid out as a labelled dataset, or a label is not understood."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One image and whichever labels the dataset gives it (None where it gives none)."""

    file: str  # as written in labels.csv
    path: Path
    age: float | None = None
    gender: str | None = None
    expression: str | None = None
    age_group: str | None = None
    race: str | None = None

    @property
    def band(self) -> str | None:
        """The age band: the `age_group` label if given, else the band of `age`."""
        if self.age_group is not None:
            return self.age_group
        return None if self.age is None else age_band(self.age)


@dataclass(frozen=True, slots=True)
class Dataset:
    root: Path
    samples: tuple[Sample, ...]
    columns: tuple[str, ...]  # the label columns labels.csv has, in LABEL_COLUMNS order
    rows: int  # rows in labels.csv (of the chosen split), before `limit`
    split: str | None
    limit: int | None
    seed: int

    @property
    def name(self) -> str:
        return self.root.name if self.split is None else f"{self.root.name}/{self.split}"


def load_dataset(
    root: Path, *, split: str | None = None, limit: int | None = None, seed: int = SAMPLE_SEED
) -> Dataset:
    """Read `root/labels.csv`; keep the rows of `split`, then a seeded sample of `limit`."""
    labels = root / LABELS_FILE
    if not labels.is_file():
        raise DatasetError(f"{labels} does not exist")
    with labels.open(newline="") as handle:
        reader = csv.DictReader(handle)
        header = tuple(reader.fieldnames or ())
        rows = list(reader)
    columns = _label_columns(labels, header)
    rows = _rows_of_split(labels, header, rows, split)
    chosen = _seeded_sample(len(rows), limit, seed)
    samples = tuple(_sample(root, rows[i], i + 2) for i in chosen)  # +2: header, 1-based
    _check_files_exist(labels, samples)
    return Dataset(root, samples, columns, len(rows), split, limit, seed)


def _label_columns(labels: Path, header: tuple[str, ...]) -> tuple[str, ...]:
    if "file" not in header:
        raise DatasetError(f"{labels} has no `file` column")
    columns = tuple(column for column in LABEL_COLUMNS if column in header)
    if not columns:
        raise DatasetError(f"{labels} has none of the label columns {', '.join(LABEL_COLUMNS)}")
    return columns


def _rows_of_split(
    labels: Path, header: tuple[str, ...], rows: list[dict[str, str]], split: str | None
) -> list[dict[str, str]]:
    if split is None:
        return rows
    if "split" not in header:
        raise DatasetError(f"{labels} has no `split` column to choose {split!r} from")
    chosen = [row for row in rows if row["split"] == split]
    if not chosen:
        splits = sorted({row["split"] for row in rows})
        raise DatasetError(f"{labels} has no rows of split {split!r}; it has {splits}")
    return chosen


def _seeded_sample(size: int, limit: int | None, seed: int) -> list[int]:
    """Row indices: all, or `limit` of them drawn with `seed`, kept in file order."""
    if limit is None or limit >= size:
        return list(range(size))
    return sorted(random.Random(seed).sample(range(size), limit))


def _check_files_exist(labels: Path, samples: tuple[Sample, ...]) -> None:
    missing = [sample.file for sample in samples if not sample.path.is_file()]
    if missing:
        listed = ", ".join(missing[:5]) + (", ..." if len(missing) > 5 else "")
        raise DatasetError(f"{len(missing)} files named in {labels} are missing: {listed}")


def _sample(root: Path, row: dict[str, str], line: int) -> Sample:
    return Sample(
        file=row["file"],
        path=root / row["file"],
        age=_label(row, "age", float, line),
        gender=_label(row, "gender", _one_of(GENDERS), line),
        expression=_label(row, "expression", _one_of(EXPRESSIONS), line),
        age_group=_label(row, "age_group", str, line),
        race=_label(row, "race", str, line),
    )


def _label(row: dict[str, str], column: str, parse: Callable[[str], T], line: int) -> T | None:
    """The parsed label, or None where the column is absent or the cell empty."""
    value = (row.get(column) or "").strip()
    if not value:
        return None
    try:
        return parse(value)
    except ValueError as error:
        raise DatasetError(f"labels.csv line {line}: {column} {value!r}: {error}") from error


def _one_of(allowed: tuple[str, ...]) -> Callable[[str], str]:
    def parse(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"expected one of {', '.join(allowed)}")
        return value

    return parse

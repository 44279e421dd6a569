"""Checks on the labelled measuring data in ../shared/data; skipped where it is absent."""

from __future__ import annotations

import csv
import statistics
from pathlib import Path

import pytest

from faceapi.engine.pipeline import Engine, Task
from tests.conftest import shared_data

# The six group photos, counted by eye: every face is an adult woman.
GROUP_FACES = {"group1.jpg": 3, "group2.jpg": 3, "group3.jpg": 3, "group4.jpg": 4,
               "group5.jpg": 5, "group6.jpg": 4}  # fmt: skip


def utkface(low: int, high: int) -> list[dict[str, str]]:
    """UTKFace dev faces aged low..high, in a fixed order."""
    folder = shared_data("utkface-dev")
    with (folder / "labels.csv").open() as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["file"])
    return [
        row | {"path": str(folder / row["file"])} for row in rows if low <= int(row["age"]) <= high
    ]


def estimate(engine: Engine, path: str, task: Task) -> float:
    analysis = engine.analyze(Path(path).read_bytes(), frozenset({task}))
    value = analysis.age if task is Task.AGE else analysis.male_probability
    assert value is not None
    return value


def test_seventy_year_olds_look_older_than_five_year_olds(engine: Engine) -> None:
    elders = [estimate(engine, r["path"], Task.AGE) for r in utkface(70, 70)[:5]]
    children = [estimate(engine, r["path"], Task.AGE) for r in utkface(5, 5)[:5]]
    assert statistics.median(elders) > statistics.median(children) + 30
    assert min(elders) > max(children)


def test_gender_on_clearly_labelled_adults(engine: Engine) -> None:
    adults = utkface(25, 50)[::60][:30]
    correct = sum(
        (estimate(engine, r["path"], Task.GENDER) >= 0.5) == (r["gender"] == "M") for r in adults
    )
    assert len(adults) == 30
    assert correct >= 27, f"{correct} of {len(adults)}"


@pytest.mark.parametrize(("photo", "faces"), sorted(GROUP_FACES.items()))
def test_every_face_in_the_group_photos_is_found(engine: Engine, photo: str, faces: int) -> None:
    data = shared_data("photos", photo).read_bytes()
    analysis = engine.analyze(data, frozenset({Task.GENDER}))
    assert analysis.faces_found == faces

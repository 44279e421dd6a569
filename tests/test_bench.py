"""`faceapi bench`: a real server process driven over HTTP for a few seconds, and its report."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from PIL import Image

from faceapi.cli.evaluate import _command_line, bench
from faceapi.cli.main import main
from faceapi.evaluation.bench.images import bench_images
from faceapi.evaluation.bench.load import Budget

FACEAPI = [sys.executable, "-m", "faceapi.cli"]
IMAGE_KINDS = ["face-200", "photo-640x480", "group-1920"]


def test_bench_end_to_end_against_a_real_server(tmp_path: Path) -> None:
    out = tmp_path / "bench"
    command = ["bench", "--duration", "1", "--concurrency", "1", "--concurrency", "2"]
    command += ["--warmup", "1", "--profile-runs", "2", "--out", str(out)]
    done = subprocess.run([*FACEAPI, *command], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    report = json.loads((out / "report.json").read_text())

    assert report["command"].startswith("faceapi bench ")
    assert report["server"]["started_here"] is True
    assert report["server"]["idle_rss_mb"] > 50
    assert [image["kind"] for image in report["images"]] == IMAGE_KINDS
    assert len(report["endpoints"]) == 3
    levels = {(level["target"], level["concurrency"]): level for level in report["levels"]}
    assert set(levels) == {(t, c) for t in ["healthz", *IMAGE_KINDS] for c in (1, 2)}
    for (target, _), level in levels.items():
        assert level["errors"] == {}, target
        assert level["ok"] == level["requests"] > 0
        assert level["requests_per_second"] > 0
        latency = level["latency_ms"]
        assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] <= latency["max"]
        assert level["server_cpu_percent"] >= 0
        assert level["server_peak_rss_mb"] > 50

    profile = report["stage_profile"]
    assert list(profile) == IMAGE_KINDS
    for entry in profile.values():
        stages = entry["stages"]
        assert {"decode", "detect", "align", "total"} < set(stages)  # models: by their id
        assert entry["slowest"] in stages
        assert entry["faces_found"] >= 1
    assert profile["group-1920"]["faces_found"] >= 2
    summary = (out / "summary.md").read_text()
    assert "| healthz | 2 |" in summary
    assert (out / "latency.png").stat().st_size > 0


def test_bench_images_fall_back_to_the_astronaut_at_the_same_sizes(tmp_path: Path) -> None:
    images = bench_images(tmp_path / "no-data-here")
    assert [image.kind for image in images] == IMAGE_KINDS
    for image in images:
        assert Image.open(io.BytesIO(image.data)).size == (image.width, image.height)
        assert "astronaut" in image.source
    assert [(i.width, i.height) for i in images] == [(200, 200), (640, 480), (1920, 1280)]


def test_a_budget_is_a_request_count_or_a_duration() -> None:
    assert Budget(requests=2).allows(1, time.perf_counter())
    assert not Budget(requests=2).allows(2, time.perf_counter())
    assert Budget(seconds=60).allows(10**6, time.perf_counter())
    assert not Budget(seconds=0.5).allows(0, time.perf_counter() - 1)


def test_bench_at_a_url_needs_a_key() -> None:
    result = CliRunner().invoke(main, ["bench", "--url", "http://127.0.0.1:9"])
    assert result.exit_code == 2
    assert "--url needs --api-key" in result.output


def test_the_report_command_hides_the_api_key() -> None:
    arguments = ["--url", "http://127.0.0.1:9", "--api-key", "fa_secret", "--duration", "2"]
    with bench.make_context("bench", arguments) as context:
        line = _command_line(context)
    assert "fa_secret" not in line
    assert line == "faceapi bench --url http://127.0.0.1:9 --api-key '<hidden>' --duration 2.0"


@pytest.mark.parametrize("option", ["--concurrency", "--duration", "--requests"])
def test_bench_refuses_non_positive_load(option: str) -> None:
    result = CliRunner().invoke(main, ["bench", option, "0"])
    assert result.exit_code == 2

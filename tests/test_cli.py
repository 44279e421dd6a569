"""The CLI as scripts use it: keys, config, models, and local analysis."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from faceapi.cli.main import main
from faceapi.errors import ErrorCode
from tests.conftest import encode

Invoke = Callable[..., str]


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("FACEAPI_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.sqlite3'}")
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> str:
        result = runner.invoke(main, list(args), catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_key_lifecycle(run: Invoke) -> None:
    assert "No keys yet" in run("keys", "list")
    output = run("keys", "create", "--name", "shop")
    key = output.strip().splitlines()[-1]
    assert key.startswith("fa_")
    assert " " not in key
    (listed,) = json.loads(run("keys", "list", "--json"))
    assert listed["name"] == "shop"
    assert listed["status"] == "active"
    assert key not in run("keys", "list")  # only the prefix is ever shown again
    assert listed["prefix"] in run("keys", "list")
    run("keys", "revoke", listed["id"])
    assert json.loads(run("keys", "list", "--json"))[0]["status"].startswith("revoked")
    assert "no active key" in run("keys", "revoke", listed["id"], code=1)


def test_config_shows_effective_settings(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "faceapi.toml"
    config.write_text("port = 9000\nstrict_http_status = true\n")
    monkeypatch.setenv("FACEAPI_MAX_QUEUE", "7")
    output = run("--config", str(config), "config")
    assert "port = 9000" in output
    assert "strict_http_status = true" in output
    assert "max_queue = 7" in output
    assert "does not exist" in run("--config", str(tmp_path / "missing.toml"), "config", code=1)


def test_models_lists_sources_licences_and_checksums(run: Invoke) -> None:
    models = json.loads(run("models", "--json"))
    assert {"retinaface", "cydral-age", "cydral-gender", "expression-fer"} <= {
        m["id"] for m in models
    }
    assert all(len(m["sha256"]) == 64 and m["licence"] for m in models)


def test_analyze_prints_what_the_api_would(
    run: Invoke,
    tmp_path: Path,
    astronaut: np.ndarray,
    cat: np.ndarray,
) -> None:
    face, no_face = tmp_path / "face.jpg", tmp_path / "cat.jpg"
    face.write_bytes(encode(astronaut))
    no_face.write_bytes(encode(cat))
    output = run("analyze", str(face), str(no_face), code=1)
    answers = [json.loads(line) for line in output.splitlines()]
    assert answers[0]["face_age_detection"]["result"] == "Ok"
    assert answers[0]["face_gender_detection"]["data"]["gender"] == "F"
    assert sum(answers[0]["face_expression_detection"]["data"].values()) == 100
    assert answers[1]["face_age_detection"]["code"] == ErrorCode.NO_FACE_FOUND
    only_age = json.loads(run("analyze", "--endpoint", "age", str(face)))
    assert set(only_age) == {"image", "face_age_detection"}

"""The CLI as scripts use it: keys and their limits, accounts, config, models, local analysis."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from faceapi.api import server
from faceapi.api.app import create_app
from faceapi.cli.main import main
from faceapi.errors import ErrorCode
from faceapi.settings import Settings
from tests.conftest import NoFaceEngine, encode

Invoke = Callable[..., str]
PASSWORD = "correct horse battery"


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'cli.sqlite3'}"


@pytest.fixture
def run(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    monkeypatch.setenv("FACEAPI_DATABASE_URL", database_url)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, stdin: str | None = None) -> str:
        result = runner.invoke(main, list(args), input=stdin, catch_exceptions=False)
        assert result.exit_code == code, result.output
        return result.output

    return invoke


def test_key_lifecycle(run: Invoke) -> None:
    assert "No keys yet" in run("keys", "list")
    output = run("keys", "create", "--name", "shop")
    key = output.strip().splitlines()[-1]
    assert key.startswith("fa_")
    assert " " not in key
    (listed,) = json.loads(run("keys", "list", "--json"))  # for scripts: ISO times, null
    assert (listed["name"], listed["status"], listed["owner"]) == ("shop", "active", None)
    assert listed["last_used_at"] is None
    assert listed["revoked_at"] is None
    assert datetime.fromisoformat(listed["created_at"]).utcoffset() == timedelta(0)
    table = run("keys", "list")  # for people: minutes in UTC, "never"
    assert key not in table  # only the prefix is ever shown again
    assert listed["prefix"] in table
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC +never +active", table)
    run("keys", "revoke", listed["id"])
    (revoked,) = json.loads(run("keys", "list", "--json"))
    assert revoked["status"] == "revoked"
    assert datetime.fromisoformat(revoked["revoked_at"]) >= datetime.fromisoformat(
        listed["created_at"]
    )
    assert re.search(r"revoked \d{4}-\d\d-\d\d \d\d:\d\d UTC", run("keys", "list"))
    assert "no active key" in run("keys", "revoke", listed["id"], code=1)


def test_a_name_stored_before_names_were_checked_cannot_rewrite_the_terminal(
    run: Invoke, database_url: str
) -> None:
    run("keys", "create", "--name", "shop")
    with sqlite3.connect(database_url.removeprefix("sqlite:///")) as db:
        db.execute("UPDATE api_keys SET name = ?", ("\x1b]0;pwned\x07shop",))
    table = run("keys", "list")
    assert "\x1b" not in table
    assert "\\x1b]0;pwned\\x07shop" in table


def test_users_and_the_keys_they_own(run: Invoke) -> None:
    assert "No accounts yet" in run("users", "list")
    created = run(
        "users", "create", "--admin", "Root@Example.com", "--password-stdin", stdin=PASSWORD
    )
    assert "administrator account root@example.com" in created
    prompted = run("users", "create", "ada@example.com", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert "developer account ada@example.com" in prompted
    assert PASSWORD not in prompted  # the prompt does not echo it
    assert "already exists" in run(
        "users", "create", "ada@example.com", "--password-stdin", stdin=PASSWORD, code=1
    )
    assert "at least 10" in run(
        "users", "create", "x@example.com", "--password-stdin", stdin="abc", code=1
    )

    run("keys", "create", "--name", "ada's site", "--owner", "ADA@example.com")
    run("keys", "create", "--name", "batch job")
    owners = {key["name"]: key["owner"] for key in json.loads(run("keys", "list", "--json"))}
    assert owners == {"ada's site": "ada@example.com", "batch job": None}
    assert "no account" in run(
        "keys", "create", "--name", "x", "--owner", "eve@example.com", code=1
    )

    assert "Disabled ada@example.com" in run("users", "disable", "ada@example.com")
    assert "already disabled" in run("users", "disable", "ada@example.com", code=1)
    assert _statuses(run) == {"root@example.com": "active", "ada@example.com": "disabled"}
    assert "keys work again" in run("users", "enable", "ADA@example.com")
    assert "not disabled" in run("users", "enable", "ada@example.com", code=1)
    assert "no account" in run("users", "enable", "eve@example.com", code=1)
    assert _statuses(run) == {"root@example.com": "active", "ada@example.com": "active"}


def _statuses(run: Invoke) -> dict[str, str]:
    users = json.loads(run("users", "list", "--json"))
    return {user["email"]: user["status"] for user in users}


def test_key_limits_set_with_the_cli_are_enforced_by_the_api(
    run: Invoke, database_url: str
) -> None:
    key = run("keys", "create", "--name", "shop").strip().splitlines()[-1]
    key_id = key.split("_")[1]
    assert "at least 1" in run("keys", "limits", key_id, "--burst", "0", code=1)
    assert "per second" in run("keys", "limits", key_id, "--rate", "nan", code=1)
    assert "whole number" in run("keys", "limits", key_id, "--monthly-quota", "1_000", code=1)
    assert "at most" in run("keys", "limits", key_id, "--monthly-quota", "9" * 12, code=1)
    assert "no key" in run("keys", "limits", "000000000000", "--rate", "1", code=1)
    shown = run("keys", "limits", key_id, "--rate", "0.01", "--burst", "2")
    assert _limit_lines(shown) == {
        "rate": "0.01 per second this key",
        "burst": "2 this key",
        "monthly quota": "none server default",
    }
    assert _limit_lines(run("keys", "limits", key_id)) == _limit_lines(shown)  # only shows them

    app = create_app(Settings(database_url=database_url), engine=NoFaceEngine())  # type: ignore[arg-type]
    with TestClient(app) as api:
        answers = [
            api.post("/faceapi/v1/face_age_detection", json={"image": "aGk=", "api_key": key})
            for _ in range(3)
        ]
        assert [answer.json()["code"] for answer in answers] == [
            ErrorCode.NO_FACE_FOUND,
            ErrorCode.NO_FACE_FOUND,
            ErrorCode.RATE_LIMITED,
        ]
        assert int(answers[-1].headers["retry-after"]) >= 1

        cleared = run("keys", "limits", key_id, "--clear", "--monthly-quota", "5")
        assert _limit_lines(cleared)["rate"] == "none server default"
        assert _limit_lines(cleared)["monthly quota"] == "5 a month this key"
        answer = api.post("/faceapi/v1/face_age_detection", json={"image": "aGk=", "api_key": key})
        assert answer.json()["code"] == ErrorCode.NO_FACE_FOUND  # no rate limit any more


def _limit_lines(output: str) -> dict[str, str]:
    """The printed table as {limit: "value set-by"}, spacing folded."""
    lines = output.strip().splitlines()[2:]  # after the title and the table's header
    rows = [line.split("  ", 1) for line in lines]
    return {name.strip(): " ".join(rest.split()) for name, rest in rows}


def test_backup_then_restore_as_the_readme_says(run: Invoke, tmp_path: Path) -> None:
    assert "there is no Face API database" in run("backup", str(tmp_path / "early.sqlite3"), code=1)
    assert not (tmp_path / "cli.sqlite3").exists()  # nothing made by asking
    key_id = run("keys", "create", "--name", "shop").split()[2]
    backup = tmp_path / "backup.sqlite3"
    assert f"to {backup} (" in run("backup", str(backup))
    assert "exists; name a new file" in run("backup", str(backup), code=1)
    run("keys", "revoke", key_id)
    # Restore: with the server stopped, the copy replaces the file and its -wal and -shm go.
    database = tmp_path / "cli.sqlite3"
    for sidecar in ("-wal", "-shm"):
        Path(f"{database}{sidecar}").unlink(missing_ok=True)
    backup.replace(database)
    (restored,) = json.loads(run("keys", "list", "--json"))
    assert (restored["id"], restored["status"]) == (key_id, "active")


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
    monkeypatch.setenv("FACEAPI_LOG_LEVEL", "WARNING")
    assert 'log_level = "warning"' in run("config")


def test_models_lists_sources_licences_and_checksums(run: Invoke) -> None:
    models = json.loads(run("models", "--json"))
    assert {m["task"] for m in models} >= {"detection", "age and gender", "expression"}
    assert all(m["licence"] and m["files"] for m in models)


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


@pytest.mark.parametrize(
    "command", [["models"], ["analyze", __file__], ["serve", "--port", "1"]], ids=lambda c: c[0]
)
def test_missing_models_are_one_line_with_the_remedy(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    """These used to end in a traceback (serve: one from each worker)."""
    monkeypatch.setenv("FACEAPI_NPM_MODELS_DIR", str(tmp_path / "nothing here"))
    output = run(*command, code=1)
    assert re.match(r"Error: npm package @vladmandic/[\w-]+ is not installed", output)
    assert output.strip().endswith("run the README's setup command")


def test_serve_hands_its_options_to_every_worker(
    run: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Worker processes read their settings afresh: --workers used to stay in the parent, so
    each worker took every CPU core for its own analyses."""
    started: list[Settings] = []
    monkeypatch.setattr(server, "run", started.append)
    monkeypatch.setattr(os, "sched_getaffinity", lambda _pid: set(range(8)))  # 8 cores here
    logged = run("serve", "--workers", "4", "--port", "9001")  # JSON log lines
    assert started[0].workers == 4
    (starting,) = [json.loads(line) for line in logged.splitlines() if '"starting"' in line]
    assert (starting["workers"], starting["analyses_per_worker"]) == (4, 2)
    in_a_worker = Settings.load()
    assert (in_a_worker.workers, in_a_worker.port) == (4, 9001)
    assert in_a_worker.analysis_slots() == 2  # 8 cores shared among 4 workers
    monkeypatch.setenv("FACEAPI_INFERENCE_THREADS", "3")
    assert Settings.load().analysis_slots() == 3
    assert "greater than or equal to 1" in run("serve", "--workers", "0", code=1)
    assert len(started) == 1


def test_operator_mistakes_are_one_line_errors(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each of these used to end in a traceback, or to carry on with every default."""
    monkeypatch.setenv("FACEAPI_DATABASE_URL", f"sqlite:///{tmp_path}/no/such/dir/db.sqlite3")
    for command in (["keys", "list"], ["serve"]):
        output = run(*command, code=1)
        assert output == f"Error: {tmp_path}/no/such/dir/db.sqlite3: unable to open database file\n"
    monkeypatch.setenv("FACEAPI_DATABASE_URL", "postgresql://face:S3cret@db.internal/faceapi")
    assert 'database_url = "postgresql://face:***@db.internal/faceapi"' in run("config")
    monkeypatch.setenv("FACEAPI_CONFIG", str(tmp_path / "typo.toml"))
    assert "typo.toml does not exist" in run("config", code=1)
    monkeypatch.delenv("FACEAPI_CONFIG")
    assert "is a directory" in run("analyze", str(tmp_path), code=2)
    # Bytes that are not UTF-8 in argv arrive as lone surrogates, which SQLite cannot store.
    monkeypatch.setenv("FACEAPI_DATABASE_URL", f"sqlite:///{tmp_path}/db.sqlite3")
    not_utf8 = b"\xffa@example.com".decode(errors="surrogateescape")
    for command in (["users", "disable"], ["keys", "revoke"], ["keys", "limits"]):
        assert "'\\udcffa@example.com' is not valid UTF-8" in run(*command, not_utf8, code=2)


def test_wrong_settings_are_named_as_they_are_set(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """pydantic's report named fields only, linked to its website, and showed secrets."""
    monkeypatch.setenv("FACEAPI_WORKERS", "0")
    monkeypatch.setenv("FACEAPI_BODY_TIMEOUT_SECONDS", "inf")  # passed, printed as Infinity
    monkeypatch.setenv("FACEAPI_SECRET_KEY", "too-short-to-sign")
    output = run("config", code=1)
    assert "workers (FACEAPI_WORKERS): Input should be greater than or equal to 1; given '0'" in (
        output
    )
    assert "body_timeout_seconds (FACEAPI_BODY_TIMEOUT_SECONDS): Input should be a finite" in output
    assert "secret_key (FACEAPI_SECRET_KEY): Signs console sessions (at least 32" in output
    assert "too-short-to-sign" not in output
    assert "17" not in output  # nor its length
    assert "pydantic.dev" not in output
    for name in ("FACEAPI_WORKERS", "FACEAPI_BODY_TIMEOUT_SECONDS", "FACEAPI_SECRET_KEY"):
        monkeypatch.delenv(name)
    broken = tmp_path / "broken.toml"
    broken.write_text("port = \n")
    assert f"config file {broken}: Invalid value" in run("--config", str(broken), "config", code=1)
    broken.write_text("prot = 8080\n")
    assert "prot: there is no such setting" in run("--config", str(broken), "config", code=1)


def test_key_and_account_commands_do_not_load_the_web_or_evaluation_stack() -> None:
    """They took 2.5 s to start, loading FastAPI, the console and matplotlib on every call."""
    probe = "import sys, faceapi.cli.main; print(sys.modules.keys() & {'fastapi', 'matplotlib'})"
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert loaded.strip() == "set()"


def test_serve_needs_only_the_models_its_settings_choose(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without the npm packages, families from PyPI and this repository still serve."""
    started: list[Settings] = []
    monkeypatch.setattr(server, "run", started.append)
    monkeypatch.setenv("FACEAPI_NPM_MODELS_DIR", str(tmp_path / "no npm packages"))
    for setting in ("AGE_MODELS", "GENDER_MODELS"):
        monkeypatch.setenv(f"FACEAPI_{setting}", '["cydral"]')
    monkeypatch.setenv("FACEAPI_EXPRESSION_MODELS", '["fer"]')
    run("serve")
    assert len(started) == 1
    monkeypatch.setenv("FACEAPI_EXPRESSION_MODELS", '["fer", "xception"]')  # from npm
    assert "@vladmandic/human is not installed" in run("serve", code=1)

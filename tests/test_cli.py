"""The CLI as scripts use it: keys and their limits, accounts, config, models, local analysis,
and the database it is pointed at (missing, another program's, read-only)."""

from __future__ import annotations

import json
import os
import re
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from contextlib import closing
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
from faceapi.services.accounts import AccountService, WrongCredentialsError
from faceapi.services.keys import KeyService
from faceapi.services.sessions import SessionService
from faceapi.settings import Settings
from faceapi.storage import open_store
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


def test_key_lifecycle(run: Invoke, database_url: str) -> None:
    open_store(database_url).close()  # as the server makes it
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


def test_users_and_the_keys_they_own(run: Invoke, database_url: str) -> None:
    open_store(database_url).close()  # as the server makes it
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
    assert "Enabled ada@example.com" in run("users", "enable", "ADA@example.com")  # as stored
    assert "ada@example.com is not disabled" in run("users", "enable", "ADA@example.com", code=1)
    assert "no account" in run("users", "enable", "eve@example.com", code=1)
    hidden = run("users", "enable", "eve\u3164@example.com", code=1)  # a Hangul filler
    assert "there is no account eve\\u3164@example.com" in hidden
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
    assert "there is no database at" in run("backup", str(tmp_path / "early.sqlite3"), code=1)
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
    missing = tmp_path / "no/such/dir/db.sqlite3"
    monkeypatch.setenv("FACEAPI_DATABASE_URL", f"sqlite:///{missing}")
    assert run("serve", code=1) == (
        f"Error: cannot create the database {missing}: No such file or directory\n"
    )
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


NEW_PASSWORD = "staple in the drawer"


READS = [["keys", "list"], ["users", "list", "--json"], ["backup", "copy.sqlite3"]]
WRITES = [
    ["keys", "revoke", "000000000000"],
    ["keys", "limits", "000000000000", "--rate", "1"],
    ["users", "disable", "ada@example.com"],
    ["users", "enable", "ada@example.com"],
    ["users", "set-password", "ada@example.com", "--password-stdin"],
]


def test_commands_that_need_a_database_refuse_a_missing_one(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run from the wrong folder, with a relative URL, they used to make an empty database
    there: the lists said "No keys yet" and a new key was one the server did not know."""
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    monkeypatch.setenv("FACEAPI_DATABASE_URL", "sqlite:///faceapi.sqlite3")
    for command in READS + WRITES:
        output = run(*command, code=1, stdin=PASSWORD)
        assert output.startswith(f"Error: there is no database at {elsewhere}/faceapi.sqlite3;")
        assert output.count("\n") == 1
    assert list(elsewhere.iterdir()) == []


def test_commands_that_write_name_the_database_they_wrote(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On a fresh machine `keys create` and `users create` make the database (the README's
    first steps), and say where, so a wrong folder shows at once."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("FACEAPI_DATABASE_URL", "sqlite:///faceapi.sqlite3")
    database = tmp_path / "faceapi.sqlite3"
    created = run(
        "users", "create", "--admin", "ada@example.com", "--password-stdin", stdin=PASSWORD
    )
    assert created == f"Created administrator account ada@example.com in {database}.\n"
    key = run("keys", "create", "--name", "shop").splitlines()
    assert key[0].endswith(f"(shop) in {database}. It will not be shown again:")
    key_id = key[0].split()[2]
    assert f"in {database}:" in run("keys", "limits", key_id, "--rate", "1")
    assert run("keys", "revoke", key_id) == f"Revoked key {key_id} in {database}.\n"
    assert (
        run("users", "disable", "ada@example.com") == f"Disabled ada@example.com in {database}.\n"
    )
    assert f"Enabled ada@example.com in {database}." in run("users", "enable", "ada@example.com")


@pytest.mark.parametrize(
    ("schema", "refusal"),
    [
        ("CREATE TABLE customers (id, name)", "is not a Face API database (it holds customers)"),
        ("CREATE TABLE api_keys (id TEXT)", "is not a Face API database this version can use"),
    ],
    ids=["foreign", "clashing"],
)
def test_another_programs_database_is_refused_in_one_line_and_left_unchanged(
    run: Invoke, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, schema: str, refusal: str
) -> None:
    """A foreign file got our tables and "No keys yet"; one with a clashing table gave a
    traceback, and `serve` started, said it was ready, and answered every call with 5001."""
    other = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(other)) as db:
        db.execute(schema)
    before = other.read_bytes()
    monkeypatch.setenv("FACEAPI_DATABASE_URL", f"sqlite:///{other}")
    started: list[Settings] = []
    monkeypatch.setattr(server, "run", started.append)
    for command in [*READS, *WRITES, ["keys", "create", "--name", "x"], ["serve"]]:
        output = run(*command, code=1, stdin=PASSWORD)
        assert output.startswith(f"Error: {other} {refusal}"), output
        assert output.count("\n") == 1
    assert started == []
    assert other.read_bytes() == before
    assert [path.name for path in tmp_path.iterdir()] == ["other.sqlite3"]


def test_set_password_recovers_an_account_and_ends_its_sessions(
    run: Invoke, database_url: str
) -> None:
    """There was no way to reset a forgotten password, even the only administrator's."""
    run("users", "create", "--admin", "root@example.com", "--password-stdin", stdin=PASSWORD)
    store = open_store(database_url)
    sessions = SessionService(store, timedelta(hours=1))
    signed_in = sessions.start(AccountService(store).find("root@example.com").id)  # type: ignore[union-attr]

    assert "at least 10" in run(
        "users", "set-password", "root@example.com", "--password-stdin", stdin="short", code=1
    )
    assert sessions.account_of(signed_in) is not None  # a refused password changes nothing
    assert "there is no account eve@example.com" in run(
        "users", "set-password", "eve@example.com", "--password-stdin", stdin=NEW_PASSWORD, code=1
    )
    typed = f"{NEW_PASSWORD}\n{NEW_PASSWORD}\n"  # asked for twice, as by users create
    output = run("users", "set-password", "Root@Example.com", stdin=typed)
    assert "Set a new password for root@example.com in" in output
    assert "its console sessions have ended" in output
    assert NEW_PASSWORD not in output

    assert sessions.account_of(signed_in) is None
    accounts = AccountService(store)
    assert accounts.authenticate("root@example.com", NEW_PASSWORD, "127.0.0.1").is_admin
    with pytest.raises(WrongCredentialsError):
        accounts.authenticate("root@example.com", PASSWORD, "127.0.0.1")
    store.close()


def _cli(
    *args: str, database: Path, stdin: str = "", prefix: tuple[str, ...] = (), **options: bool
) -> subprocess.CompletedProcess[str]:
    """`faceapi ARGS` in a new process, as a script or a cron job runs it, after `prefix`."""
    return subprocess.run(
        [*prefix, sys.executable, "-m", "faceapi.cli", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "FACEAPI_DATABASE_URL": f"sqlite:///{database}"},
        timeout=120,
        check=False,
        **options,
    )


def test_without_a_terminal_the_password_must_come_from_stdin(tmp_path: Path) -> None:
    """getpass printed its GetPassWarning and read the password from stdin, shown as typed."""
    database = tmp_path / "faceapi.sqlite3"
    # A new session has no controlling terminal, as under cron or `docker run` without -t.
    done = _cli(
        "users",
        "create",
        "ada@example.com",
        database=database,
        stdin=PASSWORD,
        start_new_session=True,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "Error: there is no terminal to ask for the password; pipe it in with --password-stdin\n"
    )
    assert done.stdout == ""
    assert not database.exists()


def test_key_commands_do_not_import_onnxruntime(tmp_path: Path) -> None:
    """Importing onnxruntime crashes (signal 11, no message) when the arguments are long: a
    key name of 50,000 characters ended `keys create` so instead of with its own refusal."""
    probe = (
        "import sys\nfrom faceapi.cli.main import main\ntry:\n    main()\nexcept SystemExit:\n"
        "    print(sorted(sys.modules.keys() & {'onnxruntime'}))"
    )
    database = tmp_path / "faceapi.sqlite3"
    open_store(f"sqlite:///{database}").close()
    env = {**os.environ, "FACEAPI_DATABASE_URL": f"sqlite:///{database}"}
    loaded = subprocess.run(
        [sys.executable, "-c", probe, "keys", "list"], capture_output=True, text=True, env=env
    )
    assert loaded.stdout.splitlines()[-1] == "[]"
    done = _cli("keys", "create", "--name", "x" * 50_000, database=database)
    assert (done.returncode, done.stdout) == (1, "")
    assert done.stderr.startswith("Error: ")
    assert "1 to 200 characters" in done.stderr


# Runs the command after two folders with the first mounted read-only at the second.
READ_ONLY_MOUNT = (
    *("unshare", "-rm", "sh", "-c"),
    'mount --bind -o ro "$1" "$2" && shift 2 && exec "$@"',
    "sh",
)


@pytest.mark.parametrize("in_use", [False, True], ids=["closed", "in use"])
def test_a_read_only_database_can_be_listed_and_backed_up(tmp_path: Path, in_use: bool) -> None:
    """On a read-only mount `keys list` failed with "unable to open database file" and
    `backup` with "attempt to write a readonly database". Closed, the database has no -wal
    file and none can be made; in use by a server elsewhere, its latest writes are in one."""
    try:
        subprocess.run(["unshare", "-rm", "true"], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        pytest.skip("needs unshare(1) and user namespaces, to mount a folder read-only")
    data, mount, out = tmp_path / "data", tmp_path / "ro", tmp_path / "out"
    for folder in (data, mount, out):
        folder.mkdir()
    store = open_store(f"sqlite:///{data / 'faceapi.sqlite3'}")
    KeyService(store).create("shop")
    if in_use:
        KeyService(store).create("latest")
    else:
        store.close()  # the -wal file is folded into the database and removed
    database, prefix = mount / "faceapi.sqlite3", (*READ_ONLY_MOUNT, str(data), str(mount))
    listed = _cli("keys", "list", "--json", database=database, prefix=prefix)
    backed_up = _cli("backup", str(out / "copy.sqlite3"), database=database, prefix=prefix)
    refused = _cli("keys", "create", "--name", "x", database=database, prefix=prefix)
    store.close()

    expected = ["shop", "latest"] if in_use else ["shop"]
    assert [key["name"] for key in json.loads(listed.stdout)] == expected, listed.stderr
    assert backed_up.returncode == 0, backed_up.stderr
    with closing(sqlite3.connect(out / "copy.sqlite3")) as copy:
        assert [name for (name,) in copy.execute("SELECT name FROM api_keys")] == expected
    assert refused.stderr == (
        f"Error: the database {database} is read-only (the file or its folder cannot be "
        "written), and this command writes to it\n"
    )


@pytest.mark.parametrize("command", [("users", "create"), ("users", "set-password")])
def test_a_password_that_is_not_utf8_is_refused_in_one_line(
    tmp_path: Path, command: tuple[str, ...]
) -> None:
    """It ended in a UnicodeEncodeError traceback."""
    database = tmp_path / "faceapi.sqlite3"
    assert (
        _cli(
            "users",
            "create",
            "ada@example.com",
            "--password-stdin",
            database=database,
            stdin=PASSWORD,
        ).returncode
        == 0
    )
    done = subprocess.run(
        [sys.executable, "-m", "faceapi.cli", *command, "ada@example.com", "--password-stdin"],
        input=b"pass\xff\xfeword-123456\n",
        capture_output=True,
        env={**os.environ, "FACEAPI_DATABASE_URL": f"sqlite:///{database}"},
        timeout=120,
        check=False,
    )
    assert done.returncode == 1
    assert done.stderr.decode() == "Error: the password is not valid UTF-8 text\n"


def test_an_in_memory_database_is_refused_by_the_cli(
    run: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    """keys create printed a key that was gone when the command ended."""
    monkeypatch.setenv("FACEAPI_DATABASE_URL", "sqlite://")
    assert "sqlite:// is an in-memory database" in run("keys", "create", "--name", "x", code=1)

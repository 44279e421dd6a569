"""The console over HTTP without a browser: sessions, CSRF, permissions, keys, limits.

The app runs with an engine that finds no face in any photo (the console never analyses).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx2
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from faceapi.api.app import create_app
from faceapi.console.sessions import COOKIE_NAME, Session, SessionCodec
from faceapi.errors import ErrorCode
from faceapi.services.accounts import ACCOUNT_THROTTLE
from faceapi.settings import Settings
from tests.conftest import NoFaceEngine

PASSWORD = "correct horse battery"
AGE = "/faceapi/v1/face_age_detection"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_NEW_KEY = re.compile(r"data-remember-key>([^<]+)<")


AppFactory = Callable[..., FastAPI]


@pytest.fixture
def make_app(tmp_path: Path) -> Iterator[AppFactory]:
    apps: list[FastAPI] = []

    def build(**overrides: Any) -> FastAPI:
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'console.sqlite3'}", **overrides)
        apps.append(create_app(settings, engine=NoFaceEngine()))  # type: ignore[arg-type]
        return apps[-1]

    yield build
    for app in apps:
        app.state.services.store.close()


@pytest.fixture
def app(make_app: AppFactory) -> FastAPI:
    return make_app(allow_signup=True)


def browser(app: FastAPI, base_url: str = "http://testserver") -> TestClient:
    """A visitor with a cookie jar of its own."""
    return TestClient(app, base_url=base_url)


def holding(app: FastAPI, cookies: httpx2.Cookies) -> TestClient:
    """Another visitor with a copy of someone's cookies: a stolen cookie, or another worker."""
    client = browser(app)
    client.cookies = httpx2.Cookies(cookies)
    return client


def is_signed_in(client: TestClient) -> bool:
    return client.get("/console/settings", follow_redirects=False).status_code == 200


def csrf_token(client: TestClient) -> str:
    page = client.get("/console/sign-in")  # or, when signed in, where it redirects to
    match = _CSRF.search(page.text)
    assert match, page.text
    return match.group(1)


def submit(client: TestClient, path: str, **fields: str) -> httpx2.Response:
    return client.post(path, data={"csrf_token": csrf_token(client), **fields})


def sign_up(client: TestClient, email: str) -> None:
    response = submit(client, "/console/sign-up", email=email, password=PASSWORD)
    assert response.url.path == "/console/settings", response.text


def sign_in(client: TestClient, email: str, password: str = PASSWORD) -> httpx2.Response:
    return submit(client, "/console/sign-in", email=email, password=password)


def create_key(client: TestClient, name: str) -> str:
    response = submit(client, "/console/settings/keys", name=name)
    match = _NEW_KEY.search(response.text)
    assert match, response.text
    return match.group(1)


def make_admin(app: FastAPI, email: str = "root@example.com") -> TestClient:
    app.state.services.accounts.create(email, PASSWORD, admin=True)
    client = browser(app)
    assert sign_in(client, email).url.path == "/console/settings"
    return client


def api_code(app: FastAPI, key: str) -> int:
    """The code the public API answers a request with `key` with (3001: the key was accepted)."""
    response = browser(app).post(AGE, json={"image": "aGVsbG8=", "api_key": key})
    return response.json()["code"]


def key_id(key: str) -> str:
    return key.split("_")[1]


def test_root_leads_to_the_console_and_pages_need_a_sign_in(app: FastAPI) -> None:
    client = browser(app)
    for start in ("/", "/console"):
        assert client.get(start, follow_redirects=False).headers["location"] == "/console/"
    trailing = client.get("/console/admin/", headers={"Host": "evil.example"})
    assert trailing.status_code == 404  # not a redirect to the Host the client named
    for path in ["/console/settings", "/console/usage", "/console/try", "/console/admin"]:
        response = client.get(path, follow_redirects=False)
        assert response.status_code == 303
        assert response.headers["location"] == "/console/sign-in"


def test_behind_a_path_prefix_try_it_calls_the_api_under_it(app: FastAPI) -> None:
    """The page used to post to /faceapi/v1/... whatever path a proxy served the app under."""
    client = TestClient(app, root_path="/face")
    token = _CSRF.search(client.get("/face/console/sign-in").text).group(1)  # type: ignore[union-attr]
    form = {"csrf_token": token, "email": "prefixed@example.com", "password": PASSWORD}
    assert client.post("/face/console/sign-up", data=form).url.path == "/face/console/settings"
    page = client.get("/face/console/try")
    assert page.status_code == 200, page.text
    assert """data-endpoints='["/face/faceapi/v1/face_age_detection", """ in page.text
    assert 'href="/face/docs"' in page.text


def test_the_session_cookie_is_signed_httponly_and_samesite(app: FastAPI) -> None:
    plain = browser(app).get("/console/sign-in").headers["set-cookie"]
    assert plain.startswith(f"{COOKIE_NAME}=")
    assert "HttpOnly" in plain
    assert "SameSite=Lax" in plain
    assert "Path=/console" in plain
    assert "Secure" not in plain
    over_tls = browser(app, "https://testserver").get("/console/sign-in")
    assert "Secure" in over_tls.headers["set-cookie"]


def test_a_tampered_session_cookie_counts_for_nothing(app: FastAPI) -> None:
    client = browser(app)
    sign_up(client, "ada@example.com")
    (cookie,) = [cookie for cookie in client.cookies.jar if cookie.name == COOKIE_NAME]
    payload, _, signature = (cookie.value or "").partition(".")
    tampered = payload + "." + signature[::-1]
    client.cookies.set(COOKIE_NAME, tampered, domain=cookie.domain, path=cookie.path)
    response = client.get("/console/settings", follow_redirects=False)
    assert response.headers["location"] == "/console/sign-in"


def test_every_form_needs_the_session_s_csrf_token(app: FastAPI) -> None:
    client = browser(app)
    sign_up(client, "ada@example.com")
    key = create_key(client, "shop")
    forms = {
        "/console/settings/keys": {"name": "sneaky"},
        f"/console/settings/keys/{key_id(key)}/revoke": {},
        f"/console/settings/keys/{key_id(key)}/rotate": {},
        "/console/account/password": {"current": PASSWORD, "new": "attacker's choice"},
        "/console/sign-out": {},
    }
    other = browser(app)
    foreign_token = csrf_token(other)  # a real token, of another session
    for path, fields in forms.items():
        for token in ({}, {"csrf_token": "forged"}, {"csrf_token": foreign_token}):
            response = client.post(path, data={**fields, **token})
            assert response.status_code == 403, path
            assert "did not come from this site" in response.text
    assert api_code(app, key) == ErrorCode.NO_FACE_FOUND  # the key was neither rotated nor revoked
    assert [k.name for k in app.state.services.keys.list()] == ["shop"]
    assert sign_in(browser(app), "ada@example.com").url.path == "/console/settings"


def test_sign_in_forms_need_a_token_too(app: FastAPI) -> None:
    client = browser(app)
    app.state.services.accounts.create("ada@example.com", PASSWORD)
    response = client.post(
        "/console/sign-in", data={"email": "ada@example.com", "password": PASSWORD}
    )
    assert response.status_code == 403
    assert client.get("/console/settings", follow_redirects=False).status_code == 303


def test_sign_up_is_closed_unless_the_setting_opens_it(make_app: AppFactory) -> None:
    app = make_app()
    client = browser(app)
    page = client.get("/console/sign-up")
    assert page.status_code == 403
    assert "faceapi users create" in page.text
    refused = submit(client, "/console/sign-up", email="eve@example.com", password=PASSWORD)
    assert refused.status_code == 403
    assert app.state.services.accounts.list() == []


def test_a_key_is_shown_once_and_works_at_once(app: FastAPI) -> None:
    client = browser(app)
    sign_up(client, "ada@example.com")
    created = submit(client, "/console/settings/keys", name="shop")
    assert created.headers["cache-control"] == "no-store"
    assert "will not be shown again" in created.text
    key = _NEW_KEY.search(created.text).group(1)  # type: ignore[union-attr]
    settings = client.get("/console/settings").text
    assert key_id(key) in settings
    assert key not in settings  # only the prefix, from now on
    assert api_code(app, key) == ErrorCode.NO_FACE_FOUND
    assert "fa_" + key_id(key) in client.get("/console/usage").text


def test_reloading_the_new_key_page_shows_nothing_and_makes_no_other_key(app: FastAPI) -> None:
    """The form's answer was the key itself, so a reload posted the form again: another key."""
    client = browser(app)
    sign_up(client, "reload@example.com")
    created = submit(client, "/console/settings/keys", name="shop")
    assert created.url.path == "/console/settings/keys/new"  # after a redirect, with a GET
    key = _NEW_KEY.search(created.text).group(1)  # type: ignore[union-attr]
    reloaded = client.get(created.url)
    assert reloaded.url.path == "/console/settings"
    assert key not in reloaded.text
    assert [k.name for k in app.state.services.keys.list()] == ["shop"]
    assert api_code(app, key) == ErrorCode.NO_FACE_FOUND  # the key works (no face in this app)
    # A key's cookie never shows the key to another account signed in in the same browser.
    client.post(
        "/console/settings/keys",
        data={"csrf_token": csrf_token(client), "name": "second"},
        follow_redirects=False,
    )
    submit(client, "/console/sign-out")
    sign_up(client, "someone.else@example.com")
    assert client.get("/console/settings/keys/new").url.path == "/console/settings"


def test_rotation_refuses_the_old_key_and_accepts_the_new(app: FastAPI) -> None:
    client = browser(app)
    sign_up(client, "ada@example.com")
    old = create_key(client, "shop")
    confirm = client.get(f"/console/settings/keys/{key_id(old)}/rotate")
    assert "stops working at once" in confirm.text
    rotated = submit(client, f"/console/settings/keys/{key_id(old)}/rotate")
    new = _NEW_KEY.search(rotated.text).group(1)  # type: ignore[union-attr]
    assert api_code(app, old) == ErrorCode.INVALID_API_KEY
    assert api_code(app, new) == ErrorCode.NO_FACE_FOUND
    submit(client, f"/console/settings/keys/{key_id(new)}/revoke")
    assert api_code(app, new) == ErrorCode.INVALID_API_KEY


def test_an_account_cannot_reach_another_s_keys_or_the_admin_pages(app: FastAPI) -> None:
    ada, bob = browser(app), browser(app)
    sign_up(ada, "ada@example.com")
    sign_up(bob, "bob@example.com")
    key = create_key(ada, "ada's")
    for path in [
        f"/console/settings/keys/{key_id(key)}/rotate",
        f"/console/settings/keys/{key_id(key)}/revoke",
        f"/console/usage?key={key_id(key)}",
    ]:
        assert bob.get(path).status_code == 404
    assert submit(bob, f"/console/settings/keys/{key_id(key)}/revoke").status_code == 404
    assert api_code(app, key) == ErrorCode.NO_FACE_FOUND
    ada_id = app.state.services.accounts.find("ada@example.com").id
    assert bob.get(f"/console/usage?of={ada_id}").text.count("ada@example.com") == 0
    assert bob.get("/console/admin").status_code == 403
    assert bob.get(f"/console/admin/keys/{key_id(key)}/limits").status_code == 403


def test_sign_in_is_throttled_with_retry_after(app: FastAPI) -> None:
    app.state.services.accounts.create("ada@example.com", PASSWORD)
    client = browser(app)
    for _ in range(ACCOUNT_THROTTLE.burst):
        assert sign_in(client, "ada@example.com", "wrong password").status_code == 400
    throttled = sign_in(client, "ada@example.com")
    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    assert "Too many attempts" in throttled.text


def test_signing_in_again_and_again_is_never_throttled(app: FastAPI) -> None:
    app.state.services.accounts.create("ada@example.com", PASSWORD)
    client = browser(app)
    for _ in range(ACCOUNT_THROTTLE.burst + 1):
        signed_in = sign_in(client, "ada@example.com")
        assert signed_in.history[0].status_code == 303
        assert signed_in.url.path == "/console/settings"
    changed = submit(client, "/console/account/password", current=PASSWORD, new="a new passphrase")
    assert changed.status_code == 200
    assert "Password changed" in changed.text


def test_an_email_signs_in_however_its_accents_are_typed(app: FastAPI) -> None:
    sign_up(browser(app), "jos\u00e9@example.com")  # "é" as one character
    twin = submit(
        browser(app), "/console/sign-up", email="jose\u0301@example.com", password=PASSWORD
    )
    assert twin.status_code == 400
    assert "already exists" in twin.text
    assert sign_in(browser(app), "jose\u0301@example.com").url.path == "/console/settings"


def test_sign_up_refuses_an_email_mixing_scripts(app: FastAPI) -> None:
    refused = submit(
        browser(app), "/console/sign-up", email="dev@ex\u0430mple.com", password=PASSWORD
    )
    assert refused.status_code == 400
    assert "mixes Cyrillic and Latin letters" in refused.text


def test_changing_the_password_signs_out_every_other_session(app: FastAPI) -> None:
    laptop, phone = browser(app), browser(app)
    sign_up(laptop, "ada@example.com")
    assert sign_in(phone, "ada@example.com").url.path == "/console/settings"
    before = httpx2.Cookies(laptop.cookies)
    changed = submit(laptop, "/console/account/password", current=PASSWORD, new="a new passphrase")
    assert "Password changed" in changed.text
    assert is_signed_in(laptop)  # with a new session
    assert not is_signed_in(phone)
    assert not is_signed_in(holding(app, before))  # the laptop's old session ended too


def test_a_copied_cookie_is_refused_once_its_session_signed_out(app: FastAPI) -> None:
    client = browser(app)
    sign_up(client, "ada@example.com")
    copied = httpx2.Cookies(client.cookies)
    assert is_signed_in(holding(app, copied))
    assert submit(client, "/console/sign-out").url.path == "/console/sign-in"
    assert not is_signed_in(client)
    replayed = holding(app, copied).get("/console/settings", follow_redirects=False)
    assert replayed.headers["location"] == "/console/sign-in"
    assert replayed.headers["set-cookie"].startswith(f"{COOKIE_NAME}=")  # the dead one is replaced


def test_an_admin_disables_an_account_its_session_and_keys_stop(app: FastAPI) -> None:
    ada = browser(app)
    sign_up(ada, "ada@example.com")
    key = create_key(ada, "shop")
    admin = make_admin(app)
    ada_id = app.state.services.accounts.find("ada@example.com").id
    assert "ada@example.com" in admin.get("/console/admin").text
    assert "Disable" in admin.get(f"/console/admin/accounts/{ada_id}/disable").text
    submit(admin, f"/console/admin/accounts/{ada_id}/disable")
    assert api_code(app, key) == ErrorCode.ACCOUNT_DISABLED
    assert ada.get("/console/settings").url.path == "/console/sign-in"
    assert "disabled" in sign_in(ada, "ada@example.com").text


def test_an_admin_enables_an_account_again_and_its_keys_work_again(app: FastAPI) -> None:
    ada = browser(app)
    sign_up(ada, "ada@example.com")
    key, revoked = create_key(ada, "shop"), create_key(ada, "old site")
    submit(ada, f"/console/settings/keys/{key_id(revoked)}/revoke")
    old_session = httpx2.Cookies(ada.cookies)
    admin = make_admin(app)
    ada_id = app.state.services.accounts.find("ada@example.com").id
    enable = f"/console/admin/accounts/{ada_id}/enable"
    submit(admin, f"/console/admin/accounts/{ada_id}/disable")
    assert api_code(app, key) == ErrorCode.ACCOUNT_DISABLED
    assert 'aria-label="Enable ada@example.com"' in admin.get("/console/admin").text
    assert "its API keys work again" in admin.get(enable).text
    assert admin.post(enable).status_code == 403  # no CSRF token
    assert api_code(app, key) == ErrorCode.ACCOUNT_DISABLED
    submit(admin, enable)
    assert api_code(app, key) == ErrorCode.NO_FACE_FOUND  # accepted again
    assert api_code(app, revoked) == ErrorCode.INVALID_API_KEY  # revoked on its own: stays so
    assert not is_signed_in(holding(app, old_session))  # disabling ended it for good
    assert sign_in(ada, "ada@example.com").url.path == "/console/settings"
    root_id = app.state.services.accounts.find("root@example.com").id
    assert admin.get(f"/console/admin/accounts/{root_id}/enable").status_code == 400


def test_the_usage_chart_words_a_single_request_in_the_singular(app: FastAPI) -> None:
    client = browser(app)
    sign_up(client, "ada@example.com")
    assert api_code(app, create_key(client, "shop")) == ErrorCode.NO_FACE_FOUND
    usage = client.get("/console/usage").text
    assert "1 request and 1 error over the last 30 days" in usage


def test_limits_set_by_an_admin_are_enforced_by_the_api(app: FastAPI) -> None:
    ada = browser(app)
    sign_up(ada, "ada@example.com")
    key = create_key(ada, "shop")
    admin = make_admin(app)
    limits = f"/console/admin/keys/{key_id(key)}/limits"
    assert submit(admin, limits, burst="zero").status_code == 400
    assert "number of requests per second" in submit(admin, limits, rate_per_second="nan").text
    assert "at least 1" in submit(admin, limits, burst="0").text  # the service's range check
    for unclear in ("1_000", "\u0661\u0660", "1e3", "2.0"):  # the last: not whole
        page = submit(admin, limits, monthly_quota=unclear)
        assert page.status_code == 400
        assert "whole number" in page.text
    assert "at least 0 (0 means no quota)" in submit(admin, limits, monthly_quota="-5").text
    assert 'name="monthly_quota" type="text" value=""' in admin.get(limits).text  # none stored
    submit(admin, limits, rate_per_second="0.00001")
    assert 'name="rate_per_second" type="text" value="0.00001"' in admin.get(limits).text
    assert submit(admin, limits, rate_per_second="0.00001").status_code == 200  # saved as shown
    submit(admin, limits, rate_per_second="")
    submit(admin, limits, monthly_quota="2")
    assert "2 a month" in ada.get("/console/settings").text
    assert [api_code(app, key) for _ in range(2)] == [ErrorCode.NO_FACE_FOUND] * 2
    over = browser(app).post(AGE, json={"image": "aGVsbG8=", "api_key": key})
    assert over.json()["code"] == ErrorCode.RATE_LIMITED
    assert "monthly quota of 2 requests" in over.json()["message"]
    assert int(over.headers["retry-after"]) >= 1
    usage = ada.get(f"/console/usage?key={key_id(key)}").text
    assert "2 of 2 used this month" in usage
    assert "RATE_LIMITED" in usage


def test_keys_made_with_the_cli_are_seen_by_admins_only(app: FastAPI) -> None:
    cli_key = app.state.services.keys.create("batch job")
    admin = make_admin(app)
    assert "batch job" in admin.get("/console/admin").text
    assert "batch job" in admin.get(f"/console/usage?key={cli_key.record.id}").text
    ada = browser(app)
    sign_up(ada, "ada@example.com")
    assert "batch job" not in ada.get("/console/settings").text


def test_not_found_is_a_page_in_the_console_and_json_in_the_api(app: FastAPI) -> None:
    client = browser(app)
    page = client.get("/console/no/such/page")
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Not found" in page.text
    api = client.post("/faceapi/v1/no_such_endpoint", json={})
    assert api.json()["code"] == ErrorCode.NOT_FOUND


def test_pages_forbid_caching_framing_and_foreign_scripts(app: FastAPI) -> None:
    page = browser(app).get("/console/sign-in")
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "frame-ancestors 'none'" in policy
    assert page.headers["cache-control"] == "no-store"
    assert "http" not in re.sub(r'href="[^"]*/docs"', "", page.text)  # no CDN, no external asset
    assert browser(app).get("/console/static/console.css").status_code == 200


def test_sessions_survive_a_restart_and_hold_and_end_across_workers(
    make_app: AppFactory,
) -> None:
    """Two apps on one database stand for two workers, or one before and after a restart."""
    first, second = make_app(allow_signup=True), make_app(allow_signup=True)
    client = browser(first)
    sign_up(client, "ada@example.com")
    copied = httpx2.Cookies(client.cookies)
    other_worker = holding(second, copied)
    assert is_signed_in(other_worker)
    submit(other_worker, "/console/sign-out")
    assert not is_signed_in(holding(first, copied))


def test_a_configured_secret_key_signs_the_sessions(make_app: AppFactory) -> None:
    first = make_app(allow_signup=True, secret_key="one configured secret, 32 characters or more")
    client = browser(first)
    sign_up(client, "ada@example.com")
    same = browser(make_app(secret_key="one configured secret, 32 characters or more"))
    same.cookies = client.cookies
    assert same.get("/console/settings").url.path == "/console/settings"
    stranger = browser(make_app(secret_key="another secret, also 32 characters or more"))
    stranger.cookies = client.cookies
    assert stranger.get("/console/settings").url.path == "/console/sign-in"


def test_a_session_expires_after_its_lifetime() -> None:
    codec = SessionCodec(b"k" * 32, timedelta(seconds=1))
    session = Session()
    session.sign_in("a-session-id")
    cookie = codec.encode(session)
    assert codec.decode(cookie).session_id == "a-session-id"
    time.sleep(2.1)  # itsdangerous counts whole seconds
    expired = codec.decode(cookie)
    assert expired.session_id is None
    assert expired.changed  # a fresh anonymous cookie goes out

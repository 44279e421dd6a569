"""Markdown generated from the code's own tables, for the README and the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

from faceapi.errors import ErrorCode
from faceapi.settings import Settings

_SECTION = "<!-- generated:{name} -->\n{body}\n<!-- /generated:{name} -->"


def errors_table() -> str:
    rows = ["| code | name | HTTP status (strict mode) | message |", "|---|---|---|---|"]
    for code in ErrorCode:
        message = code.message.replace("{{", "{").replace("}}", "}").replace("|", "\\|")
        rows.append(f"| {int(code)} | `{code.name}` | {code.http_status} | {message} |")
    return "\n".join(rows)


def settings_table() -> str:
    rows = ["| setting | environment variable | default | meaning |", "|---|---|---|---|"]
    for name, field in Settings.model_fields.items():
        default = "CPU cores" if field.default_factory else f"`{field.default}`"
        env = f"FACEAPI_{name.upper()}"
        rows.append(f"| `{name}` | `{env}` | {default} | {field.description} |")
    return "\n".join(rows)


GENERATED = {"errors": errors_table, "settings": settings_table}


def render_readme(text: str) -> str:
    """`text` with every generated section replaced by its current contents."""
    for name, build in GENERATED.items():
        pattern = re.compile(
            rf"<!-- generated:{name} -->\n.*?\n<!-- /generated:{name} -->", re.DOTALL
        )
        section = _SECTION.format(name=name, body=build())
        text = pattern.sub(lambda _match, section=section: section, text)
    return text


def update_readme(path: Path) -> bool:
    """Rewrite the generated sections of `path`; True if anything changed."""
    old = path.read_text()
    new = render_readme(old)
    if new != old:
        path.write_text(new)
    return new != old

"""Markdown generated from the code's own tables, for the README and the OpenAPI document."""

from __future__ import annotations

import re
from pathlib import Path

from faceapi.engine.manifest import ModelStore
from faceapi.errors import ErrorCode
from faceapi.settings import REPOSITORY, Settings

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
        default = field.default
        if isinstance(default, Path):
            default = default.relative_to(REPOSITORY)
        default = f"`{default}`"
        env = f"FACEAPI_{name.upper()}"
        rows.append(f"| `{name}` | `{env}` | {default} | {field.description} |")
    return "\n".join(rows)


def models_table() -> str:
    rows = [
        "| model | task | comes from | licence | files (SHA-256 start) |",
        "|---|---|---|---|---|",
    ]
    for source in ModelStore.from_manifest(Settings().npm_models_dir).sources:
        origin = (
            f"{source.registry} `{source.package}` {source.version}"
            if source.package
            else "this repository, `src/faceapi/engine/weights/`"
        )
        files = "<br>".join(f"`{path}` `{digest[:12]}`" for path, digest in source.files.items())
        rows.append(f"| {source.title} | {source.task} | {origin} | {source.licence} | {files} |")
    return "\n".join(rows)


GENERATED = {"errors": errors_table, "settings": settings_table, "models": models_table}


def render_readme(text: str) -> str:
    """`text` with every generated section replaced by its current contents."""
    for name, build in GENERATED.items():
        pattern = re.compile(rf"<!-- generated:{name} -->.*?<!-- /generated:{name} -->", re.DOTALL)
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


if __name__ == "__main__":
    readme = REPOSITORY / "README.md"
    print(f"{readme}: {'updated' if update_readme(readme) else 'already up to date'}")

"""Service settings: defaults, overridden by an optional TOML file, overridden by FACEAPI_* env."""

from __future__ import annotations

import json
import math
import os
import re
import tomllib
from pathlib import Path
from typing import Any, Literal, get_args

from pydantic import (
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
    TomlConfigSettingsSource,
)

from faceapi.engine.decode import ImageLimits
from faceapi.engine.detect import RETRY_MIN_GAIN, RETRY_SCORE_THRESHOLD, DetectorOptions
from faceapi.engine.pipeline import EngineOptions
from faceapi.services.usage import Limits

CONFIG_ENV = "FACEAPI_CONFIG"
# The setup installs npm-packaged weights into the checkout: src/faceapi/settings.py -> repo.
REPOSITORY = Path(__file__).resolve().parents[2]
# The engine's own defaults are the service's: stated once, in faceapi.engine.
_ENGINE = EngineOptions()


def base64_body_bytes(image_bytes: int) -> int:
    """A JSON body carrying an image of `image_bytes` in base64, line breaks and JSON escapes
    included (CRLF every 64 characters, escaped as 4 bytes, is 6.25% more; "/" written "\\/",
    about 1.6%), with room for the prefix, the key and the JSON around them."""
    encoded = 4 * math.ceil(image_bytes / 3)
    return math.ceil(encoded * 1.125) + 65_536


class Settings(BaseSettings):
    """Every setting is also an environment variable: `database_url` is FACEAPI_DATABASE_URL."""

    # No infinity or NaN: "inf" would pass every limit check and print as invalid TOML.
    model_config = SettingsConfigDict(env_prefix="FACEAPI_", extra="forbid", allow_inf_nan=False)

    host: str = Field("127.0.0.1", description="Address the server listens on.")
    port: int = Field(8000, ge=1, le=65535, description="Port the server listens on.")
    workers: int = Field(1, ge=1, description="Server processes; each loads the models.")
    database_url: str = Field(
        "sqlite:///faceapi.sqlite3",
        description="Where keys and usage are stored (SQLAlchemy URL).",
    )
    strict_http_status: bool = Field(
        False,
        description="Send conventional HTTP statuses on errors instead of always 200.",
    )
    max_body_bytes: int = Field(
        base64_body_bytes(_ENGINE.limits.max_bytes),
        ge=1024,
        description=(
            "Largest request body; unless set, room for an image of max_image_bytes in base64 "
            "with line breaks and JSON escapes (12.5% more), and 64 KB more."
        ),
    )
    body_timeout_seconds: float = Field(
        60.0,
        gt=0,
        description=(
            "Longest a whole request body may take to arrive, in all (not an idle timeout): "
            "a body of max_body_bytes needs max_body_bytes / body_timeout_seconds bytes a second."
        ),
    )
    head_timeout_seconds: float = Field(
        20.0,
        gt=0,
        description=(
            "Longest a request line and headers may take to arrive, from the connection's "
            "opening or the previous answer; a connection still short of them is closed."
        ),
    )
    max_image_bytes: int = Field(
        _ENGINE.limits.max_bytes, ge=1024, description="Largest image, after base64 decoding."
    )
    max_image_pixels: int = Field(
        _ENGINE.limits.max_pixels,
        ge=1024,
        description="Largest image area, checked before decoding.",
    )
    min_image_side: int = Field(
        _ENGINE.limits.min_side, ge=1, description="Smallest accepted image side, pixels."
    )
    min_face_side: int = Field(
        _ENGINE.min_face_side, ge=1, description="Smallest face analysed, pixels."
    )
    detector_max_side: int = Field(
        _ENGINE.detector.max_side,
        ge=64,
        description="Photos are scaled to this side for face detection.",
    )
    detector_min_side: int = Field(
        _ENGINE.detector.min_side,
        ge=0,
        description="Smaller images are enlarged to this side for face detection, where a "
        "face filling the image is found far more often; 0 turns that off.",
    )
    detector_retry_side: int = Field(
        _ENGINE.detector.retry_max_side,
        ge=0,
        description=f"Where no face is found, a photo at least {RETRY_MIN_GAIN} times "
        "detector_max_side is searched again at up to this side, with a confidence of "
        f"{RETRY_SCORE_THRESHOLD} needed; 0 turns that off.",
    )
    detector_score_threshold: float = Field(
        _ENGINE.detector.score_threshold,
        gt=0,
        lt=1,
        description="Detector confidence a face needs to count.",
    )
    inference_threads: int | None = Field(
        None,
        ge=1,
        description=(
            "Requests analysed at once per process; by default the CPU cores shared among "
            "the workers (at least 1 each)."
        ),
    )
    max_queue: int = Field(
        32, ge=0, description="Requests waiting for a free slot before 'server busy'."
    )
    rate_limit_per_second: float = Field(
        0,
        ge=0,
        description="Requests per second per key, unless an administrator set the key's own; "
        "0 means no limit.",
    )
    rate_limit_burst: int = Field(
        10, ge=1, description="Requests a key may send at once above its rate (unless set per key)."
    )
    monthly_quota: int = Field(
        0,
        ge=0,
        description="Requests per key per calendar month (UTC), unless set per key; 0 means "
        "no quota.",
    )
    allow_signup: bool = Field(
        False, description="Let anyone create a console account; else administrators do."
    )
    secret_key: SecretStr | None = Field(
        None,
        min_length=32,
        description="Signs console sessions (at least 32 characters); by default a random key "
        "kept in the database.",
    )
    session_lifetime_hours: float = Field(12, gt=0, description="How long a console sign-in lasts.")
    age_models: list[Literal["cydral", "faceapijs"]] = Field(
        list(_ENGINE.age_models), min_length=1, description="Model families averaged for age."
    )
    gender_models: list[Literal["cydral", "faceapijs"]] = Field(
        list(_ENGINE.gender_models), min_length=1, description="Model families averaged for gender."
    )
    expression_models: list[Literal["fer", "faceapijs", "xception"]] = Field(
        list(_ENGINE.expression_models),
        min_length=1,
        description="Model families averaged for expression.",
    )
    npm_models_dir: Path = Field(
        REPOSITORY / "models" / "npm",
        description="Where the setup installed npm-packaged weights.",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        "info", description="debug, info, warning or error."
    )

    @model_validator(mode="after")
    def _body_fits_an_image(self) -> Settings:
        # Two limits set apart went out of step: a largest image, base64-encoded with line
        # breaks, was refused as too large a body (1005), never reaching its own limit (2006).
        if "max_body_bytes" not in self.model_fields_set:
            self.max_body_bytes = base64_body_bytes(self.max_image_bytes)
        return self

    @field_validator("detector_min_side")
    @classmethod
    def _enlarged_no_larger_than_reduced(cls, value: int, info: ValidationInfo) -> int:
        # Else a small image would be searched larger than a large one.
        largest = info.data.get("detector_max_side", value)
        if value > largest:
            raise ValueError(f"must not exceed detector_max_side ({largest})")
        return value

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower_case(cls, value: Any) -> Any:
        return value.lower() if isinstance(value, str) else value

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        config = os.environ.get(CONFIG_ENV)
        toml = TomlConfigSettingsSource(settings_cls, toml_file=Path(config) if config else None)
        return init_settings, env_settings, toml

    @classmethod
    def load(cls, config_file: Path | None = None) -> Settings:
        """Settings from `config_file` (or FACEAPI_CONFIG) and the environment."""
        named = config_file or os.environ.get(CONFIG_ENV)
        if named:
            _check_config_file(Path(named))
        if config_file is not None:
            os.environ[CONFIG_ENV] = str(config_file)  # for server workers, which load afresh
        try:
            return cls()
        except OSError as error:  # a file that is there but cannot be read (EIO, EACCES)
            raise ValueError(f"config file {named}: {error.strerror}") from error
        except ValidationError as error:
            raise ValueError(_plain(error)) from error
        except tomllib.TOMLDecodeError as error:
            raise ValueError(f"config file {named}: {error}") from error
        except SettingsError as error:  # a list in the environment that is not JSON
            raise ValueError(_not_json(error)) from error

    def analysis_slots(self) -> int:
        """Analyses one process runs at once: more workers must not mean more at once."""
        # The cores this process may run on: a container's share, not the host's count.
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
        return self.inference_threads or max(1, (cores or 1) // self.workers)

    def engine_options(self) -> EngineOptions:
        return EngineOptions(
            limits=ImageLimits(
                max_bytes=self.max_image_bytes,
                max_pixels=self.max_image_pixels,
                min_side=self.min_image_side,
            ),
            detector=DetectorOptions(
                max_side=self.detector_max_side,
                min_side=self.detector_min_side,
                score_threshold=self.detector_score_threshold,
                retry_max_side=self.detector_retry_side,
            ),
            min_face_side=self.min_face_side,
            age_models=tuple(self.age_models),
            gender_models=tuple(self.gender_models),
            expression_models=tuple(self.expression_models),
        )

    def default_limits(self) -> Limits:
        """The limits of every key that sets none of its own."""
        return Limits(self.rate_limit_per_second, self.rate_limit_burst, self.monthly_quota)


def _check_config_file(path: Path) -> None:
    """A named config file must be a file: a typo would otherwise mean every default."""
    try:
        exists, is_file = path.exists(), path.is_file()
    except OSError as error:  # a name too long, say
        raise ValueError(f"config file {path}: {error.strerror}") from error
    if not exists:
        raise FileNotFoundError(f"config file {path} does not exist")
    if not is_file:
        raise ValueError(f"config file {path} is not a regular file")


def _plain(error: ValidationError) -> str:
    """One line per wrong setting, named as it can be set, without pydantic's own links."""
    return _invalid([_problem_line(problem) for problem in error.errors(include_url=False)])


def _invalid(lines: list[str]) -> str:
    return "invalid settings:\n  " + "\n  ".join(lines)


def _named(name: str, problem: str) -> str:
    """A line about one setting, under the two names it can be set by."""
    return f"{name} (FACEAPI_{name.upper()}): {problem}"


def _not_json(error: SettingsError) -> str:
    named = re.search(r'field "(\w+)"', str(error))
    if named is None or named[1] not in Settings.model_fields:
        return str(error)
    name = named[1]
    example = json.dumps(Settings.model_fields[name].default)
    problem = (
        "not JSON; in the environment a list is written as JSON, "
        f"e.g. FACEAPI_{name.upper()}='{example}'"
    )
    return _invalid([_named(name, problem)])


def _problem_line(problem: Any) -> str:
    name = str(problem["loc"][0])
    field = Settings.model_fields.get(name)
    if field is None:  # only a config file can name a setting that does not exist
        return f"{name}: there is no such setting"
    if SecretStr in get_args(field.annotation):  # neither the value nor its length
        return _named(name, str(field.description))
    given = problem.get("input")
    shown = "" if isinstance(given, dict) else f"; given {given!r}"
    return _named(name, f"{problem['msg']}{shown}")

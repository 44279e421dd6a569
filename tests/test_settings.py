"""Settings are read from the environment and a config file, and wrong ones are explained."""

from __future__ import annotations

from pathlib import Path

import pytest

from faceapi.settings import Settings


def test_a_list_setting_that_is_not_json_says_how_to_write_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pydantic-settings said only: error parsing value for field "age_models" from source."""
    monkeypatch.setenv("FACEAPI_AGE_MODELS", "faceapijs")
    with pytest.raises(ValueError, match="age_models") as raised:
        Settings.load()
    assert "FACEAPI_AGE_MODELS='[\"faceapijs\"]'" in str(raised.value)
    assert "EnvSettingsSource" not in str(raised.value)


def test_a_list_setting_written_as_json_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FACEAPI_AGE_MODELS", '["cydral", "faceapijs"]')
    assert Settings.load().age_models == ["cydral", "faceapijs"]


def test_small_images_are_not_enlarged_past_the_size_large_ones_are_reduced_to(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FACEAPI_DETECTOR_MAX_SIDE", "100")
    with pytest.raises(ValueError, match=r"detector_min_side .*exceed detector_max_side \(100\)"):
        Settings.load()
    monkeypatch.setenv("FACEAPI_DETECTOR_MIN_SIDE", "0")
    assert Settings.load().engine_options().detector.min_side == 0


def test_a_config_file_that_cannot_be_read_is_named_in_one_line(tmp_path: Path) -> None:
    """A long name and a device ended in OSError tracebacks; /dev/null 'did not exist'."""
    for path, complaint in [
        (tmp_path / ("a" * 300), "File name too long"),
        (Path("/dev/null"), "is not a regular file"),
        (tmp_path, "is not a regular file"),
    ]:
        with pytest.raises(ValueError, match=complaint):
            Settings.load(path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        Settings.load(tmp_path / "missing.toml")

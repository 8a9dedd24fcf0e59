"""Settings: environment over TOML over defaults, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import Settings, SettingsError


def test_defaults_point_at_the_data_folder() -> None:
    settings = Settings.load(None)
    assert settings.index_config().path == Path("data/index")
    assert settings.embedder_config().cache_dir == Path("data/models")
    assert settings.ingest_config().chunk_tokens == 256


def test_environment_overrides_the_toml_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "docent.toml"
    config.write_text('data_dir = "/srv/docent"\ncollection = "legal"\n')
    monkeypatch.setenv("DOCENT_COLLECTION", "hr")

    settings = Settings.load(config)

    assert settings.data_dir == Path("/srv/docent")
    assert settings.collection == "hr"
    assert settings.index_config().path == Path("/srv/docent/index")


def test_docent_toml_in_the_working_folder_is_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "docent.toml").write_text("chunk_tokens = 128\n")
    assert Settings.load().chunk_tokens == 128


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("chunk_tokens = 1000\n", "chunk_tokens"),
        ("no_such_setting = 1\n", "no_such_setting"),
        ("chunk_tokens = 64\nchunk_overlap_tokens = 40\n", "less than half"),
        ("data_dir = \n", "Cannot read the settings file"),
    ],
)
def test_bad_settings_are_refused_with_the_field(tmp_path: Path, text: str, words: str) -> None:
    config = tmp_path / "docent.toml"
    config.write_text(text)
    with pytest.raises(SettingsError) as caught:
        Settings.load(config)
    assert words in str(caught.value)


def test_empty_hash_accepts_a_custom_model() -> None:
    assert Settings(embedder_sha256="").embedder_config().sha256 is None

"""Settings: environment over TOML over defaults, and clear errors."""

from __future__ import annotations

from dataclasses import MISSING, fields
from pathlib import Path

import pytest

from app.settings import CONFIG_SOURCES, Settings, SettingsError


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


def config_classes() -> list[type]:
    """Every config dataclass the settings build, nested ones included."""
    from app.auth.directory import DirectoryConfig
    from ingest.pipeline import IngestConfig
    from models.chat import ChatConfig
    from models.embedder import EmbedderConfig
    from rag.answer import AnswerConfig
    from rag.connect import IndexConfig
    from rag.evidence import RankWeights
    from rag.quotes import QuoteConfig
    from rag.summarize import SummaryConfig

    return [
        ChatConfig,
        EmbedderConfig,
        IndexConfig,
        AnswerConfig,
        QuoteConfig,
        RankWeights,
        IngestConfig,
        SummaryConfig,
        DirectoryConfig,
    ]


@pytest.mark.parametrize("config", config_classes(), ids=lambda c: c.__name__)
def test_every_config_field_comes_from_declared_settings(config: type) -> None:
    sources = CONFIG_SOURCES[config.__name__]
    names = [item.name for item in fields(config)]
    assert sorted(sources) == sorted(names), f"{config.__name__}: fields without a setting"
    for source in sources.values():
        for setting in (source,) if isinstance(source, str) else source:
            assert setting in Settings.model_fields, setting


@pytest.mark.parametrize("config", config_classes(), ids=lambda c: c.__name__)
def test_a_copied_field_defaults_to_its_setting(config: type) -> None:
    # A config used without the settings (a library caller, a test) behaves as the default
    # settings do: the settings' default is the one that counts, the field's must match it.
    for item in fields(config):
        source = CONFIG_SOURCES[config.__name__][item.name]
        if isinstance(source, str):
            default = item.default_factory() if item.default is MISSING else item.default
            assert default == Settings.model_fields[source].default, item.name


def test_configs_carry_the_settings_values() -> None:
    settings = Settings(
        chat_retries=0,
        chat_temperature=0.7,
        embed_threads=3,
        answer_quote_margin=0.05,
        answer_unmatched_most=3,
        answer_weight_lexical=0.2,
        write_batch_chunks=8,
    )
    assert settings.chat_config().retries == 0
    assert settings.chat_config().temperature == 0.7
    assert settings.embedder_config().threads == 3
    answer = settings.answer_config()
    assert (answer.quotes.margin, answer.quotes.unmatched_most) == (0.05, 3)
    assert answer.weights.lexical == 0.2
    assert settings.ingest_config().write_batch == 8

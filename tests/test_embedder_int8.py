"""The int8 embedder on the real weights: a faithful graph, close vectors, built once, no torch.

Sockets are disabled for the whole test run, so every build here is proven offline.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from app.api import Docent
from app.settings import Settings
from models.embedder import EMBEDDER_DIMENSION, Embedder, EmbedderConfig
from models.embedder_int8 import GRAPH_VERSION, OnnxEncoder, build_graph, export_int8
from models.errors import WeightsError
from models.weights import EMBEDDER_MAX_TOKENS, packaged_embedder_dir
from rag.retrieve import Retriever
from tests.test_embedder import SENTENCES, copy_model, cosine_rows

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def fp32() -> np.ndarray:
    """The torch fp32 vectors of ``SENTENCES``: the reference every variant is held to."""
    return Embedder(EmbedderConfig(backend="torch")).encode(SENTENCES)


@pytest.fixture(scope="module")
def int8(tmp_path_factory: pytest.TempPathFactory) -> Embedder:
    """The int8 embedder, built once into a module-wide cache."""
    cache = tmp_path_factory.mktemp("models")
    return Embedder(EmbedderConfig(backend="onnx-int8", cache_dir=cache))


def test_graph_in_fp32_reproduces_the_torch_model(fp32: np.ndarray) -> None:
    # The same graph without quantization: proves the hand-written layers are BERT's.
    model_dir = packaged_embedder_dir()
    graph = build_graph(model_dir, weight_bits=None).SerializeToString()

    vectors = OnnxEncoder(model_dir, graph, EMBEDDER_MAX_TOKENS).encode(SENTENCES)

    np.testing.assert_allclose(vectors, fp32, atol=2e-5)


def test_int8_vectors_agree_with_fp32_and_keep_neighbours(int8: Embedder, fp32: np.ndarray) -> None:
    vectors = int8.encode(SENTENCES)

    assert vectors.shape == (len(SENTENCES), EMBEDDER_DIMENSION) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    agreement = cosine_rows(vectors, fp32)
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.98
    # Each sentence's nearest other sentence is, nearly always, the one fp32 finds.
    itself = 2 * np.eye(len(SENTENCES))
    nearest = (vectors @ vectors.T - itself).argmax(axis=1)
    expected = (fp32 @ fp32.T - itself).argmax(axis=1)
    assert (nearest == expected).mean() >= 0.9


def test_a_vector_does_not_depend_on_the_texts_embedded_with_it(int8: Embedder) -> None:
    texts = [SENTENCES[27], SENTENCES[0], " ".join(SENTENCES) * 4, SENTENCES[36], "Leave?", ""]

    together = int8.encode(texts)
    alone = np.vstack([int8.encode([text]) for text in texts])
    backwards = int8.encode(texts[::-1])[::-1]

    np.testing.assert_allclose(together, alone, atol=1e-6)
    np.testing.assert_allclose(together, backwards, atol=1e-6)
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    assert np.array(int8.embed_query(texts[1])) @ together[1] > 0.9999


def test_built_once_atomically_and_reused(tmp_path: Path) -> None:
    cache = tmp_path / "models"
    first = Embedder(EmbedderConfig(backend="onnx-int8", cache_dir=cache)).encode(SENTENCES[:4])
    (built,) = cache.iterdir()  # one file, no scratch left behind
    assert built.name.endswith(f"-v{GRAPH_VERSION}-w8.onnx") or built.name.endswith("-w7.onnx")
    stamp = built.stat()

    again = Embedder(EmbedderConfig(backend="onnx-int8", cache_dir=cache)).encode(SENTENCES[:4])

    assert list(cache.iterdir()) == [built]
    assert (built.stat().st_ino, built.stat().st_mtime_ns) == (stamp.st_ino, stamp.st_mtime_ns)
    np.testing.assert_allclose(again, first, atol=1e-6)


def test_seven_bit_weights_for_cpus_without_vnni_still_agree(
    tmp_path: Path, fp32: np.ndarray
) -> None:
    model_dir = packaged_embedder_dir()
    path = export_int8(model_dir, tmp_path, weight_bits=7)

    vectors = OnnxEncoder(model_dir, path, EMBEDDER_MAX_TOKENS).encode(SENTENCES)

    assert path.name.endswith("-w7.onnx")
    agreement = cosine_rows(vectors, fp32)
    assert agreement.mean() >= 0.99 and agreement.min() >= 0.97


def test_a_model_the_builder_cannot_write_is_refused_with_the_fix(tmp_path: Path) -> None:
    model_dir = copy_model(tmp_path / "other")
    config = json.loads((model_dir / "config.json").read_text())
    (model_dir / "config.json").write_text(json.dumps(config | {"model_type": "roberta"}))

    embedder = Embedder(
        EmbedderConfig(model_dir=model_dir, sha256=None, backend="onnx-int8", cache_dir=tmp_path)
    )
    with pytest.raises(WeightsError) as raised:
        embedder.encode(["x"])

    assert "roberta" in raised.value.message
    assert "DOCENT_EMBEDDER_BACKEND=torch" in raised.value.hint


def test_int8_backend_never_imports_torch(tmp_path: Path) -> None:
    probe = (
        "import sys\n"
        "from pathlib import Path\n"
        "from models.embedder import Embedder, EmbedderConfig\n"
        f"config = EmbedderConfig(backend='onnx-int8', cache_dir=Path({str(tmp_path)!r}))\n"
        "assert Embedder(config).encode(['Where is the car park?']).shape == (1, 384)\n"
        "print(sorted(m for m in ('torch', 'sentence_transformers', 'transformers')"
        " if m in sys.modules))\n"
    )

    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=300, check=False
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_collection_built_in_fp32_is_searched_and_extended_in_int8(
    tmp_path: Path, int8: Embedder, corpus: Path
) -> None:
    # Same model, same name and dimension in the collection: switching the backend (the
    # default moved from torch to onnx-int8) keeps old collections usable, not refused.
    settings = Settings(data_dir=tmp_path / "data")
    built = Docent(settings, embedder=Embedder(EmbedderConfig(backend="torch")))
    assert built.ingest([corpus], "docs").exit_code == 0
    question = "How many days of annual leave does every employee receive?"
    before = [p.id for p in Retriever(built.index).retrieve("docs", question, k=3)]

    switched = Docent(settings, embedder=int8)
    after = [p.id for p in Retriever(switched.index).retrieve("docs", question, k=3)]
    (corpus / "parking.md").write_text("# Parking\n\nThe car park opens at 06:30 on weekdays.\n")
    report = switched.ingest([corpus], "docs")

    assert after[0] == before[0]
    assert report.counts()["added"] == 1 and report.chunks_embedded == 1
    found = Retriever(switched.index).retrieve("docs", "When does the car park open?", k=1)
    assert found[0].source == "parking.md"


def test_sessions_side_by_side_give_each_text_the_vector_one_session_gives(
    int8: Embedder,
) -> None:
    model_dir = packaged_embedder_dir()
    graph = export_int8(model_dir, int8.config.cache_dir)
    texts = [f"{sentence} ({n})" for n in range(6) for sentence in SENTENCES]
    alone = OnnxEncoder(model_dir, graph, EMBEDDER_MAX_TOKENS, sessions=1, threads=1)
    together = OnnxEncoder(model_dir, graph, EMBEDDER_MAX_TOKENS, sessions=3, threads=1)
    assert len(together.sessions) == 3
    np.testing.assert_array_equal(together.encode(texts), alone.encode(texts))
    assert together.encode([]).shape == (0, EMBEDDER_DIMENSION)

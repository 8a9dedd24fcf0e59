"""An int8 ONNX variant of the embedder, exported once from the same local weights.

On CPU, embedding is the bottleneck of ingest. Dynamic int8 quantization of the BERT
encoder roughly doubles its speed with near-identical vectors (the ingest benchmark
reports the cosine agreement and neighbour overlap against fp32). The export uses
``torch.onnx`` and ``onnxruntime.quantization`` on the packaged weights, so nothing is
downloaded; the result is cached under ``cache_dir`` keyed by the weights' hash, and
written atomically so a killed export never leaves a half file behind.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from models.errors import WeightsError
from models.weights import EMBEDDER_WEIGHTS_FILE, sha256_file

_MAX_TOKENS = 256


def _import_error(error: ImportError) -> WeightsError:
    return WeightsError(
        f"The onnx-int8 embedder needs packages that are not installed ({error.name}).",
        hint="reinstall Docent (pip install -e .), or set DOCENT_EMBEDDER_BACKEND=torch",
    )


def export_int8(model_dir: Path, cache_dir: Path) -> Path:
    """Return the int8 ONNX file for ``model_dir``, exporting it on first use.

    Raises:
        WeightsError: The export tools are missing.
    """
    digest = sha256_file(model_dir / EMBEDDER_WEIGHTS_FILE)[:16]
    target = cache_dir / f"embedder-{digest}-int8pc.onnx"
    if target.is_file():
        return target
    try:
        import torch
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from transformers import AutoModel
    except ImportError as error:
        raise _import_error(error) from error
    cache_dir.mkdir(parents=True, exist_ok=True)
    encoder = AutoModel.from_pretrained(str(model_dir), local_files_only=True).eval()

    class _Encoder(torch.nn.Module):
        # Keyword call: the positional order of BertModel.forward changes between releases.
        def __init__(self) -> None:
            super().__init__()
            self.encoder = encoder

        def forward(self, ids: Any, mask: Any, types: Any) -> Any:
            return self.encoder(input_ids=ids, attention_mask=mask, token_type_ids=types)[0]

    with tempfile.TemporaryDirectory(dir=cache_dir) as scratch:
        fp32 = Path(scratch) / "fp32.onnx"
        sample = torch.ones((2, 16), dtype=torch.long)
        with torch.no_grad():
            torch.onnx.export(
                _Encoder(),
                (sample, sample, torch.zeros_like(sample)),
                str(fp32),
                input_names=["input_ids", "attention_mask", "token_type_ids"],
                output_names=["last_hidden_state"],
                dynamic_axes={
                    name: {0: "batch", 1: "sequence"}
                    for name in (
                        "input_ids",
                        "attention_mask",
                        "token_type_ids",
                        "last_hidden_state",
                    )
                },
                opset_version=17,
                dynamo=False,
            )
        partial = Path(scratch) / "int8.onnx"
        # MatMul weights only, one scale per output channel: quantizing the embedding
        # tables or using one scale per tensor costs ~3 points of cosine agreement.
        quantize_dynamic(
            str(fp32),
            str(partial),
            weight_type=QuantType.QInt8,
            op_types_to_quantize=["MatMul"],
            per_channel=True,
        )
        partial.replace(target)
    return target


class OnnxEncoder:
    """Mean-pooled, normalized sentence embeddings from the int8 ONNX encoder.

    Offers the slice of ``SentenceTransformer.encode`` that ``Embedder`` uses.
    """

    def __init__(self, model_dir: Path, cache_dir: Path) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer
        except ImportError as error:
            raise _import_error(error) from error
        path = export_int8(model_dir, cache_dir)
        options = ort.SessionOptions()
        # Do not busy-wait between batches: the parser and other processes need the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.enable_truncation(_MAX_TOKENS)
        self.tokenizer.enable_padding()

    def encode(self, texts: Sequence[str], batch_size: int = 32, **_: Any) -> np.ndarray:
        """Embed texts; batches are formed by length so padding stays small."""
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        vectors = np.zeros((len(texts), 384), dtype=np.float32)
        for start in range(0, len(order), batch_size):
            rows = order[start : start + batch_size]
            vectors[rows] = self._batch([texts[i] for i in rows])
        return vectors

    def _batch(self, texts: list[str]) -> np.ndarray:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        (hidden,) = self.session.run(
            None, {"input_ids": ids, "attention_mask": mask, "token_type_ids": np.zeros_like(ids)}
        )
        weights = mask[:, :, None].astype(np.float32)
        pooled = (hidden * weights).sum(axis=1) / np.clip(weights.sum(axis=1), 1e-9, None)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        return np.asarray(pooled / np.clip(norms, 1e-12, None), dtype=np.float32)

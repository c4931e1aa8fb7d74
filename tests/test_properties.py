"""Properties that must hold for any input (hypothesis).

Text normalisation is idempotent; the query parser and the search never raise
on arbitrary text (except BadQuery); metadata extraction, sidecars and loaders
raise nothing but DocumentError, even on damaged real files; every citation
points at an article that exists in the cited document; upload names are safe.
The chunker's never-loses-text property lives in tests/test_chunker.py.
"""

from __future__ import annotations

import json
import re
import unicodedata
from functools import cache
from pathlib import Path, PurePosixPath

import pytest
from badfiles import GOOD_TEXT
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from pdfgen import make_docx, make_pdf

from bot.answer import build_answer
from bot.errors import BadQuery, DocumentError
from bot.index.accents import AccentModel
from bot.index.lexical import analyze
from bot.ingest import prepare
from bot.ingest.files import MAX_NAME_BYTES, is_clean_name, safe_filename, shown_name
from bot.ingest.loaders import load_document
from bot.ingest.metadata import NEWS, extract_metadata
from bot.retrieve.query import Query, parse
from bot.text import fold, nfc, normalize_tones, strip_diacritics

FIXTURES = [HealthCheck.function_scoped_fixture]  # the autouse path isolation, reused safely
LETTERS = "aăâbcdđeêghiklmnoôơpqrstuưvxy" + "àáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
VIETNAMESE = st.text(alphabet=LETTERS + LETTERS.upper() + " .,;:?!-/0123456789\n", max_size=200)
# Text without stray combining marks, in every normalisation form: what real
# documents and phones produce (NFC, or NFD from macOS and Windows-1258).
WELL_FORMED = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Mn", "Mc", "Me", "Cs"))), VIETNAMESE,
).flatmap(lambda s: st.sampled_from([unicodedata.normalize(f, s) for f in ("NFC", "NFD", "NFKD")]))


# --- text normalisation ---------------------------------------------------------------


@settings(max_examples=1000, deadline=None, suppress_health_check=FIXTURES)
@given(WELL_FORMED)
def test_normalisation_is_idempotent(text: str) -> None:
    for normalise in (fold, normalize_tones, nfc, strip_diacritics):
        once = normalise(text)
        assert normalise(once) == once, normalise.__name__


@settings(max_examples=500, deadline=None, suppress_health_check=FIXTURES)
@given(st.text())
def test_nfc_and_diacritic_stripping_are_idempotent_on_any_text(text: str) -> None:
    assert nfc(nfc(text)) == nfc(text)
    assert strip_diacritics(strip_diacritics(text)) == strip_diacritics(text)


@settings(max_examples=500, deadline=None, suppress_health_check=FIXTURES)
@given(VIETNAMESE)
def test_fold_does_not_depend_on_the_unicode_form(text: str) -> None:
    assert fold(unicodedata.normalize("NFD", text)) == fold(text)
    assert strip_diacritics(fold(text)) == strip_diacritics(text).lower()


# --- the query parser and the search --------------------------------------------------


@cache
def accent_model() -> AccentModel:
    """A small model trained the way the builder trains it, from analyzer tokens."""
    return AccentModel.train(analyze(line)["accented"] for line in GOOD_TEXT.splitlines())


@settings(max_examples=500, deadline=None, suppress_health_check=FIXTURES)
@given(st.one_of(st.text(), VIETNAMESE, VIETNAMESE.map(strip_diacritics)))
def test_query_parser_never_raises(text: str) -> None:
    query = parse(text, accent_model().restore)
    assert isinstance(query, Query)
    assert all(isinstance(t, str) and t for field in query.tokens.values() for t in field)
    assert query.article is None or re.fullmatch(r"\d{1,3}[a-z]?", query.article)


@settings(max_examples=40, deadline=None, suppress_health_check=FIXTURES)
@given(st.one_of(st.text(max_size=300), VIETNAMESE))
def test_search_raises_only_bad_query(searcher, text: str) -> None:
    try:
        result = searcher.search(text, k=3)
    except BadQuery as exc:
        assert str(exc)
        return
    assert len(result.hits) <= 3


# --- metadata, sidecars and loaders ---------------------------------------------------


@settings(max_examples=500, deadline=None, suppress_health_check=FIXTURES)
@given(st.one_of(st.text(), VIETNAMESE))
def test_metadata_extraction_never_raises(text: str) -> None:
    found = extract_metadata(text)
    assert set(found) == {"number", "type", "issuer", "date", "title"}
    assert found["date"] is None or re.fullmatch(r"\d{4}-\d\d-\d\d", found["date"])


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                    max_leaves=8)
SIDECAR_KEYS = st.sampled_from(["title", "number", "type", "issuer", "date", "complete", "status",
                                "valid_until", "extra", "source", "khác"])


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES)
@given(st.one_of(st.dictionaries(SIDECAR_KEYS, JSON, max_size=4).map(json.dumps), JSON.map(json.dumps),
                 st.binary(max_size=200)))
def test_any_sidecar_gives_usable_metadata_or_document_error(tmp_path: Path, sidecar) -> None:
    path = tmp_path / "nd-41.txt"
    path.write_text(GOOD_TEXT, encoding="utf-8")
    meta_path = tmp_path / "nd-41.txt.meta.json"
    meta_path.write_bytes(sidecar if isinstance(sidecar, bytes) else sidecar.encode("utf-8", "surrogatepass"))
    try:
        meta = prepare(path, path.name).meta
    except DocumentError as exc:
        assert "meta.json" in str(exc)
        return
    # What a citation, a search and an answer do with the metadata must work.
    assert isinstance(meta.label, str) and isinstance(meta.expired(), bool)
    json.dumps(meta.to_dict(), ensure_ascii=False).encode("utf-8")


@cache
def real_files(folder: Path) -> dict[str, bytes]:
    """A real PDF and DOCX to damage."""
    lines = GOOD_TEXT.splitlines()
    return {".pdf": make_pdf(folder / "real.pdf", ["\n".join(lines[:8]), "\n".join(lines[8:])]).read_bytes(),
            ".docx": make_docx(folder / "real.docx", lines).read_bytes()}


@settings(max_examples=200, deadline=None, suppress_health_check=FIXTURES)
@given(suffix=st.sampled_from([".pdf", ".docx"]), data=st.data())
def test_damaged_real_files_give_text_or_document_error(tmp_path_factory, tmp_path: Path, suffix: str,
                                                        data) -> None:
    original = real_files(tmp_path_factory.getbasetemp())[suffix]
    raw = bytearray(original)
    for at, value in data.draw(st.lists(st.tuples(st.integers(0, len(raw) - 1), st.integers(0, 255)),
                                        min_size=1, max_size=30)):
        raw[at] = value
    raw = raw[:data.draw(st.integers(len(raw) // 2, len(raw)))]
    path = tmp_path / f"hong{suffix}"
    path.write_bytes(bytes(raw))
    try:
        loaded = load_document(path)
    except DocumentError as exc:
        assert str(exc)
        return
    assert unicodedata.is_normalized("NFC", loaded.text) and loaded.text.strip()


# --- citations ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def corpus_words(shipped_opened) -> list[str]:
    texts = [p.text for p in shipped_opened.passages(range(len(shipped_opened)))]
    return sorted({w for t in texts for w in re.findall(r"[^\W\d_]{2,}", t)})


REFERENCES = ["", "nghị định 73", "luật viên chức", "luật cán bộ, công chức", "kết luận 14", "nd 112",
              "nghị định 90/2020", "thông tư 99"]


@settings(max_examples=60, deadline=None, suppress_health_check=FIXTURES)
@given(data=st.data())
def test_every_citation_points_at_an_article_of_the_cited_document(shipped_opened, searcher,
                                                                    corpus_words, data) -> None:
    index = shipped_opened
    topic = " ".join(data.draw(st.lists(st.sampled_from(corpus_words), min_size=1, max_size=8)))
    article = data.draw(st.one_of(st.just(""), st.integers(1, 120).map(lambda n: f"điều {n}")))
    question = " ".join([article, data.draw(st.sampled_from(REFERENCES)), topic])
    if data.draw(st.booleans()):
        question = strip_diacritics(question)
    answer = build_answer(searcher.search(question, k=8))
    by_source = {d.source: d for d in index.documents.values()}
    for quote in answer.quotes + answer.more:
        if not quote.article:
            continue
        document = by_source[quote.source]
        positions = index.article_positions(document.id, quote.article)
        assert positions, f"{quote.citation}: no Điều {quote.article} in {quote.source}"
        passages = index.passages(positions)
        assert any(quote.text.strip() in p.text for p in passages)  # verbatim, from that article
        if document.meta.type != NEWS:
            assert quote.citation.endswith(f"Điều {quote.article} {document.meta.label}")
        if quote.clause:
            assert any(re.search(rf"(?m)^{re.escape(quote.clause)}\.\s", p.text) for p in passages)


# --- upload names ---------------------------------------------------------------------

NAMES = st.one_of(st.text(), st.text(alphabet="./\\ -_\x00\x1b\n\u202e\u200baăđệ\u0301pdf"),
                  st.text(min_size=100, max_size=400))


@settings(max_examples=1000, deadline=None, suppress_health_check=FIXTURES)
@given(NAMES)
def test_safe_filename_is_one_clean_bounded_name_inside_the_folder(name: str) -> None:
    try:
        safe = safe_filename(name)
    except DocumentError as exc:
        assert "Tên tệp" in str(exc)
        return
    assert safe_filename(safe) == safe
    assert PurePosixPath(safe).name == safe and "\\" not in safe and safe not in (".", "..")
    assert not safe.startswith((".", "-", " ")) and not safe.endswith((".", " "))
    assert unicodedata.is_normalized("NFC", safe) and is_clean_name(safe)
    assert len(safe.encode("utf-8")) <= MAX_NAME_BYTES


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES)
@given(stem=st.text(alphabet=LETTERS + LETTERS.upper() + " -_0123456789", min_size=1, max_size=60)
       .filter(lambda s: s.strip(" -")), suffix=st.sampled_from([".pdf", ".docx", ".txt"]))
def test_safe_filename_keeps_vietnamese_names(stem: str, suffix: str) -> None:
    name = " ".join(stem.split()).lstrip("-") + suffix
    assert safe_filename(unicodedata.normalize("NFD", name)) == name


@settings(max_examples=300, deadline=None, suppress_health_check=FIXTURES)
@given(stem=st.text(min_size=1, max_size=400).filter(lambda s: any(c.isalnum() for c in s)
                                                      and "/" not in s and "\\" not in s),
       suffix=st.sampled_from([".pdf", ".docx", ".txt"]))
def test_safe_filename_keeps_the_suffix_of_any_long_name(stem: str, suffix: str) -> None:
    safe = safe_filename(stem + suffix)
    assert safe.endswith(suffix) and len(safe.encode("utf-8")) <= MAX_NAME_BYTES


@pytest.mark.parametrize("name", ["", ".", "..", "...", " . ", "\x00\x1b", "../", "a/..", "\u202e\u200b"])
def test_safe_filename_refuses_names_with_nothing_left(name: str) -> None:
    with pytest.raises(DocumentError, match="Tên tệp không hợp lệ"):
        safe_filename(name)


@pytest.mark.parametrize("name, safe", [
    ("../../etc/passwd.txt", "passwd.txt"), ("..\\..\\Windows\\quy-che.pdf", "quy-che.pdf"),
    ("Nghị định 73 (bản trích).pdf", "Nghị định 73 (bản trích).pdf"), (".an.docx", "an.docx"),
    ("-rf.pdf", "rf.pdf"), ("báo\x1b[31m cáo\n.pdf", "báo[31m cáo.pdf"), ("hợp:đồng?.pdf", "hợp-đồng-.pdf"),
    ("hóa đơn\u202etxt.pdf", "hóa đơntxt.pdf"),
])
def test_safe_filename_examples(name: str, safe: str) -> None:
    assert safe_filename(name) == safe


@given(st.text())
@settings(max_examples=500, deadline=None, suppress_health_check=FIXTURES)
def test_shown_names_are_printable_and_clean_names_show_as_themselves(name: str) -> None:
    shown = shown_name(name)
    shown.encode("utf-8")
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") for c in shown)
    assert (shown == name) == is_clean_name(name)


# --- BM25 from carried-over counts ----------------------------------------------------

_terms = st.sampled_from(["cán", "bộ", "cán_bộ", "công", "chức", "x", "y_z", "phụ", "cấp", "1"])


@settings(max_examples=150, deadline=None)
@given(st.lists(st.lists(_terms, max_size=25), min_size=1, max_size=30),
       st.lists(_terms, min_size=1, max_size=6), st.data())
def test_bm25_from_counts_scores_as_bm25s_does(docs, query, data) -> None:
    """Our vectorised score matrix, after keeping some rows and adding others, equals
    bm25s indexing the resulting corpus from scratch (its own Python path)."""
    import bm25s
    import numpy as np

    from bot.index.lexical import B, K1, LexicalIndex, TermCounts

    old = TermCounts()
    for tokens in docs:
        old.add(tokens)
    keep = np.array(sorted(data.draw(st.sets(st.integers(0, len(docs) - 1)))), dtype=np.int64)
    added = data.draw(st.lists(st.lists(_terms, max_size=25), max_size=5))

    def carried() -> TermCounts:  # what a build reads back: the old rows, then the new ones
        counts = TermCounts(old.vocab, old.merged())
        for tokens in added:
            counts.add(tokens)
        return counts

    corpus = [docs[i] for i in keep] + added
    assume(any(corpus))  # bm25s itself cannot index a corpus without a single token
    ours = LexicalIndex.from_counts({"accented": carried(), "plain": carried()}, keep)
    reference = bm25s.BM25(k1=K1, b=B)
    reference.index(corpus, show_progress=False)
    known = [t for t in query if t in reference.vocab_dict]
    expected = reference.get_scores(known) if known else np.zeros(len(corpus))
    assert np.allclose(ours.scores("accented", query), expected, atol=1e-5)

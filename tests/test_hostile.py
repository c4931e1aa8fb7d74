"""Regression tests for the holes an adversarial run found (issue 18), on real files and processes.

Each test reproduces the attack as the report describes it: the real `python -m bot`
command in a subprocess where the hole was reached through the CLI, real symbolic
links on disk, real bytes on stdin.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from badfiles import GOOD_QUESTION, make_good, make_many_lines_txt, make_wordless_txt

from bot.errors import DocumentError
from bot.ingest import prepare, scan_documents
from bot.ingest.chunker import MAX_CHARS, chunk_document
from bot.ingest.limits import MAX_PASSAGES

REPO = Path(__file__).resolve().parent.parent
SECRET = "TELEGRAM_BOT_TOKEN=123456:mat-khau-bi-mat-cua-may-chu-khong-duoc-lo"
SECRET_WORDS = "mat khau bi mat cua may chu khong duoc lo"


def run_cli(*args: str, cwd: Path, env: dict | None = None, stdin: bytes | None = None,
            timeout: float = 300) -> subprocess.CompletedProcess:
    """`python -m bot ARGS` in a fresh process running this worktree's code."""
    full = {**os.environ, **(env or {}),
            "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([sys.executable, "-m", "bot", *args], cwd=cwd, env=full, input=stdin,
                          capture_output=True, timeout=timeout)


# --- 1. symbolic links never lead outside the documents folder ------------------------


@pytest.fixture
def linked(tmp_path: Path) -> tuple[Path, Path]:
    """A documents folder holding a good decree, links to secrets outside, and a link inside."""
    docs, outside = tmp_path / "documents", tmp_path / "outside"
    (outside / "private").mkdir(parents=True)
    docs.mkdir()
    make_good(docs)
    secret = outside / "env.txt"
    secret.write_text(f"Điều 1. {SECRET}\n{SECRET_WORDS}\n", encoding="utf-8")
    (outside / "private" / "luong.txt").write_text(
        f"Điều 1. Bảng lương mật\n{SECRET_WORDS} bảng lương\n", encoding="utf-8")
    (docs / "bi-mat.txt").symlink_to(secret)
    (docs / "tuyet-mat").symlink_to(outside / "private", target_is_directory=True)
    (docs / "ban-sao.txt").symlink_to("nd-41-2024.txt")  # inside, relative: the same text again
    (docs / "tuyet-doi.md").symlink_to(docs / "nd-41-2024.txt")  # inside, absolute
    return docs, tmp_path / "index"


def test_links_are_listed_as_refused_with_a_vietnamese_reason(linked) -> None:
    docs, _ = linked
    listing = scan_documents(docs)
    assert [source for source, _ in listing.found] == ["nd-41-2024.txt"]
    assert sorted(listing.refused) == ["ban-sao.txt", "bi-mat.txt", "tuyet-doi.md", "tuyet-mat"]
    assert "liên kết tượng trưng" in listing.refused["bi-mat.txt"]
    assert "thư mục liên kết" in listing.refused["tuyet-mat"]


def test_a_link_handed_straight_to_prepare_is_refused(linked) -> None:
    docs, _ = linked
    with pytest.raises(Exception, match="liên kết tượng trưng"):
        prepare(docs / "bi-mat.txt", "bi-mat.txt")


def test_a_linked_sidecar_is_refused_not_read(linked) -> None:
    """A `.meta.json` planted as a link would pull metadata (a title, a number) from outside."""
    docs, _ = linked
    outside = docs.parent / "outside" / "meta.json"
    outside.write_text('{"title": "' + SECRET + '"}', encoding="utf-8")
    (docs / "nd-41-2024.txt.meta.json").symlink_to(outside)
    with pytest.raises(DocumentError, match="Tệp mô tả nd-41-2024.txt.meta.json: là liên kết"):
        prepare(docs / "nd-41-2024.txt", "nd-41-2024.txt")


def test_a_documents_folder_reached_through_a_link_is_indexed(linked, tmp_path: Path) -> None:
    """Only links inside the folder are refused: the folder itself may live elsewhere."""
    docs, _ = linked
    alias = tmp_path / "alias"
    alias.symlink_to(docs, target_is_directory=True)
    listing = scan_documents(alias)
    assert listing.found == [("nd-41-2024.txt", alias / "nd-41-2024.txt")]
    assert "bi-mat.txt" in listing.refused


def test_cli_never_indexes_or_quotes_a_file_outside_the_documents_folder(linked) -> None:
    docs, index = linked
    env = {"DOCUMENTS_DIR": str(docs), "INDEX_DIR": str(index)}
    built = run_cli("index", "--quiet", cwd=docs.parent, env=env)
    assert built.returncode == 0, built.stderr.decode()[-2000:]
    stats = run_cli("stats", cwd=docs.parent, env=env).stdout.decode()
    assert "Văn bản: 1 " in stats and "41/2024/NĐ-CP" in stats
    summary = run_cli("index", cwd=docs.parent, env=env).stdout.decode()
    assert "Bỏ qua bi-mat.txt: Là liên kết tượng trưng (symlink)" in summary
    assert "Bỏ qua tuyet-mat: Là thư mục liên kết (symlink)" in summary
    for question in (SECRET_WORDS, "TELEGRAM_BOT_TOKEN mat khau", "bảng lương mật " + SECRET_WORDS):
        answer = run_cli("ask", "--json", question, cwd=docs.parent, env=env)
        out = answer.stdout.decode() + answer.stderr.decode()
        assert "mat-khau" not in out and "bảng lương" not in out.replace(question, "")
        assert "Traceback" not in out
    good = run_cli("ask", GOOD_QUESTION, cwd=docs.parent, env=env).stdout.decode()
    assert "Khoản 1 Điều 2 Nghị định 41/2024/NĐ-CP" in good


def test_a_file_replaced_by_a_link_leaves_the_index(linked, embedder) -> None:
    """A file indexed while it was real is dropped once it becomes a link to outside."""
    from bot.index import Index
    from bot.index.builder import build_index

    docs, index = linked
    real = docs / "thong-tu.txt"
    real.write_text(f"Điều 1. Quy định tạm\n{SECRET_WORDS}\n", encoding="utf-8")
    first = build_index(docs, index, embedder)
    assert "thong-tu.txt" in first.added
    real.unlink()
    real.symlink_to(docs.parent / "outside" / "env.txt")
    second = build_index(docs, index, embedder)
    assert second.removed == ["thong-tu.txt"] and "thong-tu.txt" in second.skipped
    opened = Index.open(index, embedder.name)
    try:
        assert sorted(d.source for d in opened.documents.values()) == ["nd-41-2024.txt"]
    finally:
        opened.close()


# --- 2. one document cannot hold the build for minutes ---------------------------------


def test_cli_index_refuses_a_200000_line_list_and_keeps_the_rest(tmp_path: Path) -> None:
    """The issue's reproduction: splitting it took 161 s (quadratic); it is now split in
    one pass and refused for its passage count, before any embedding."""
    docs = tmp_path / "documents"
    docs.mkdir()
    make_good(docs)
    listing = make_many_lines_txt(docs)
    env = {"DOCUMENTS_DIR": str(docs), "INDEX_DIR": str(tmp_path / "index")}
    built = run_cli("index", cwd=tmp_path, env=env)
    out = built.stdout.decode()
    assert built.returncode == 0, built.stderr.decode()[-2000:]
    assert re.search(rf"Bỏ qua {listing.name}: Văn bản quá dài: 2\d\d\d đoạn, tối đa {MAX_PASSAGES} đoạn", out)
    assert "Văn bản: 1 " in out and "Traceback" not in built.stderr.decode()


def test_five_megabytes_of_one_letter_are_refused_with_a_reason(tmp_path: Path) -> None:
    for size, reason in ((5_000_000, "Văn bản quá dài: hơn 4166 đoạn"),
                         (1_000_000, "Văn bản không có từ ngữ đọc được: 100% chữ")):
        path = make_wordless_txt(tmp_path, size)
        with pytest.raises(DocumentError, match=reason):
            prepare(path, path.name)


def test_a_line_without_spaces_is_cut_without_losing_a_character() -> None:
    """The old cut (a regex) skipped the text of every window that held no space."""
    text = "Điều 1. Mã số\n" + "ab " * 10 + "x" * 3000 + " cuối " + "y" * 1500
    chunks = chunk_document(text)
    assert all(len(c.text) <= MAX_CHARS for c in chunks)
    assert "".join("".join(c.text.split()) for c in chunks) == "".join(text.split("\n", 1)[1].split())


def test_many_lines_split_into_every_line_once() -> None:
    lines = [f"cán bộ {n}" for n in range(30_000)]
    chunks = chunk_document("QUYẾT ĐỊNH\n" + "\n".join(lines))
    kept = [line for c in chunks for line in c.text.split("\n") if line.startswith("cán bộ")]
    assert kept == lines


# --- 3, 5, 6. questions: broken bytes, invisible characters, lone "<" -----------------

BROKEN = "Nghị định 73 \xff bảo vệ cán bộ".encode().replace(b"\xc3\xbf", b"\xff")
WHOLE = "Nghị định 73 bảo vệ cán bộ dám nghĩ dám làm như thế nào?".encode()
CITED = "Điều 11 Nghị định 73/2023/NĐ-CP"


@pytest.fixture
def shipped_env(shipped_index) -> dict:
    # Strict stdin, as under a locale such as en_US.UTF-8 (C.UTF-8 already escapes bad bytes).
    return {"DOCUMENTS_DIR": str(shipped_index.documents_dir), "INDEX_DIR": str(shipped_index.index_dir),
            "PYTHONIOENCODING": "utf-8:strict"}


def test_cli_chat_answers_every_line_after_an_undecodable_byte(shipped_env, tmp_path: Path) -> None:
    nul = "Nghị định\x0073 bảo vệ cán bộ dám nghĩ dám làm".encode()
    done = run_cli("chat", cwd=tmp_path, env=shipped_env, stdin=BROKEN + b"\n" + WHOLE + b"\n" + nul + b"\n")
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in err, err[-2000:]
    answers = [a for a in out.split("-" * 40) if a.strip()]
    assert len(answers) == 3
    assert all(CITED in answer for answer in answers[1:]), out
    assert "\ufffd" not in out and "\\x" not in out


def test_cli_search_batch_goes_on_after_an_undecodable_byte(shipped_env, tmp_path: Path) -> None:
    done = run_cli("search", "--batch", "-", "--json", cwd=tmp_path, env=shipped_env,
                   stdin=BROKEN + b"\n" + WHOLE + b"\n")
    assert done.returncode == 0 and "Traceback" not in done.stderr.decode(), done.stderr.decode()[-2000:]
    rows = [json.loads(line) for line in done.stdout.decode().splitlines()]
    assert [row["query"] for row in rows] == ["Nghị định 73   bảo vệ cán bộ", WHOLE.decode()]
    assert all(row["results"] for row in rows)
    assert (rows[1]["results"][0]["number"], rows[1]["results"][0]["article"]) == ("73/2023/NĐ-CP", "11")


@pytest.mark.parametrize("question", [
    BROKEN + b" d\xc3\xa1m ngh\xc4\xa9 d\xc3\xa1m l\xc3\xa0m",  # an invalid byte in argv
    "Ngh\u200bị đ\u200cịnh 73 bảo vệ cán bộ dám nghĩ dám làm".encode(),
    "Nghị định\u200b73 bảo vệ cán bộ dám nghĩ dám làm".encode(),
    "Điều 11 < Điều 12 <b <i nghị định 73 & bảo vệ cán bộ >".encode(),
], ids=["invalid-byte", "zero-width-inside-words", "zero-width-before-number", "lone-brackets"])
def test_cli_ask_reads_broken_and_invisible_characters(shipped_env, tmp_path: Path, question: bytes) -> None:
    done = run_cli("ask", "--json", question, cwd=tmp_path, env=shipped_env)
    out, err = done.stdout.decode(), done.stderr.decode()
    assert done.returncode == 0 and "Traceback" not in err, err[-2000:]
    answer = json.loads(out)
    assert answer["found"] and CITED in answer["answer"], out[:2000]
    assert "\ufffd" not in answer["question"] and "73" in answer["question"].split()

"""Regression tests for the holes an adversarial run found (issue 18), on real files and processes.

Each test reproduces the attack as the report describes it: the real `python -m bot`
command in a subprocess where the hole was reached through the CLI, real symbolic
links on disk, real bytes on stdin.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from badfiles import GOOD_QUESTION, make_good

from bot.ingest import prepare, scan_documents

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

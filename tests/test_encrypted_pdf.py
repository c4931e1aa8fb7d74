"""AES-encrypted PDFs as officials receive them: owner password only, or a real user password.

The files are written by pypdf's own encryption (AES-256), indexed with the real
model and answered; the refusal reasons are Vietnamese, never pypdf's English.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pdfgen import encrypt_aes, make_pdf
from pypdf import PdfReader
from typer.testing import CliRunner

from bot.cli import app
from bot.errors import DocumentError
from bot.ingest.loaders import load_document
from bot.runtime import Runtime

REPO = Path(__file__).resolve().parent.parent
DECREE = ("CHÍNH PHỦ\nSố: 63/2024/NĐ-CP\nHà Nội, ngày 12 tháng 6 năm 2024\nNGHỊ ĐỊNH\n"
          "Quy định chế độ bồi dưỡng cán bộ làm công tác tiếp công dân\n"
          "Điều 3. Mức bồi dưỡng tiếp công dân\n"
          "1. Cán bộ trực tiếp tiếp công dân tại trụ sở được bồi dưỡng 150.000 đồng mỗi ngày.\n"
          "2. Ngày tiếp công dân được tính theo lịch trực do người đứng đầu phân công.")
PASSWORD_REASON = "PDF được mã hoá bằng mật khẩu mở tệp: hãy gỡ mật khẩu rồi đưa vào lại"


def aes_pdf(path: Path, user_password: str = "") -> Path:
    encrypt_aes(make_pdf(path, [DECREE]), user_password=user_password)
    encrypt = PdfReader(path).trailer["/Encrypt"].get_object()
    assert (encrypt["/V"], encrypt["/CF"]["/StdCF"]["/CFM"]) == (5, "/AESV3")  # really AES-256
    return path


def test_owner_password_only_aes_pdf_is_read(tmp_path: Path) -> None:
    loaded = load_document(aes_pdf(tmp_path / "nd-63.pdf"))
    assert loaded.format == "pdf" and loaded.pages == 1 and loaded.warnings == []
    assert "được bồi dưỡng 150.000 đồng mỗi ngày" in " ".join(loaded.text.split())


def test_aes_pdf_needing_a_user_password_gets_a_vietnamese_reason(tmp_path: Path) -> None:
    path = aes_pdf(tmp_path / "mat.pdf", user_password="mat-khau-mo")
    with pytest.raises(DocumentError) as excinfo:
        load_document(path)
    assert str(excinfo.value) == PASSWORD_REASON


# pypdf picks its AES provider when imported; blocking `cryptography` first is what
# a machine without the pypdf[crypto] extra looks like.
_WITHOUT_CRYPTOGRAPHY = """
import sys
sys.modules["cryptography"] = None
from bot.errors import DocumentError
from bot.ingest.loaders import load_document
try:
    load_document(sys.argv[1])
except DocumentError as exc:
    print(exc)
"""


def test_aes_pdf_without_cryptography_says_what_to_install(tmp_path: Path) -> None:
    path = aes_pdf(tmp_path / "nd-63.pdf")
    done = subprocess.run([sys.executable, "-c", _WITHOUT_CRYPTOGRAPHY, str(path)], cwd=REPO,
                          capture_output=True, text=True, timeout=120, check=True)
    assert done.stdout.strip() == ("PDF được mã hoá AES nhưng máy chưa có gói giải mã: "
                                   "pip install 'pypdf[crypto]' (gói cryptography)")


@pytest.mark.slow
def test_owner_password_only_aes_pdf_is_indexed_and_answered(tmp_path: Path, embedder,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    docs, index = tmp_path / "docs", tmp_path / "index"
    docs.mkdir()
    aes_pdf(docs / "nd-63-2024.pdf")
    aes_pdf(docs / "can-mat-khau.pdf", user_password="mat-khau-mo")
    monkeypatch.setattr(Runtime, "embedder", property(lambda self: embedder))
    runner = CliRunner()
    where = ["--documents", str(docs), "--index", str(index)]

    built = runner.invoke(app, ["index", "--quiet", *where])
    assert built.exit_code == 0, built.output
    stats = runner.invoke(app, ["stats", *where])
    assert "Văn bản: 1 |" in stats.output and "63/2024/NĐ-CP" in stats.output
    summary = runner.invoke(app, ["index", *where])
    assert f"Bỏ qua can-mat-khau.pdf: {PASSWORD_REASON}" in summary.output

    asked = runner.invoke(app, ["ask", "cán bộ tiếp công dân được bồi dưỡng bao nhiêu", "--json", *where])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.output)
    assert answer["found"] is True
    assert answer["citations"][0]["citation"].endswith("Điều 3 Nghị định 63/2024/NĐ-CP")
    assert "150.000 đồng mỗi ngày" in answer["answer"]

"""Real test documents with Vietnamese text: PDFs (fpdf2) and DOCX (python-docx).

Tests build their inputs in `tmp_path` with these helpers instead of mocking the
readers, so a loader bug shows up exactly as it would on an admin's file.
"""

from __future__ import annotations

import io
from pathlib import Path

import docx
import matplotlib
from fpdf import FPDF
from PIL import Image
from pypdf import PdfWriter

# DejaVu Sans ships with matplotlib and covers every precomposed Vietnamese
# letter; fpdf2's built-in core fonts are Latin-1 only.
VIETNAMESE_FONT = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"


def make_pdf(path: Path, pages: list[str], *, password: str | None = None) -> Path:
    """Write a PDF with a real text layer, one string per page ("\\n" = new line).

    With `password`, the file is encrypted with it as the user password, so it
    cannot be opened without it; `password=""` gives the common "encrypted"
    PDF that opens without a password (only an owner password is set).
    """
    pdf = FPDF()
    pdf.add_font("DejaVu", fname=str(VIETNAMESE_FONT))
    pdf.set_font("DejaVu", size=12)
    pdf.set_auto_page_break(auto=False)
    if password is not None:
        pdf.set_encryption(owner_password=password + "-owner", user_password=password)
    for text in pages:
        pdf.add_page()
        if text:
            pdf.multi_cell(0, 8, text, align="L")
    pdf.output(str(path))
    return Path(path)


def encrypt_aes(path: Path, *, user_password: str = "", owner_password: str = "chu-so-huu") -> Path:
    """Re-write the PDF at `path` encrypted with AES-256 by pypdf.

    An empty user password gives what officials often receive: a PDF that opens
    without a password, yet every string and stream in it is AES-encrypted.
    """
    writer = PdfWriter(clone_from=str(path))
    writer.encrypt(user_password=user_password, owner_password=owner_password, algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    Path(path).write_bytes(buffer.getvalue())
    return Path(path)


def make_image_only_pdf(path: Path, pages: int = 1) -> Path:
    """Write a PDF whose pages hold only a raster image and a drawing, no text:
    what a scanner produces."""
    buf = io.BytesIO()
    Image.new("RGB", (120, 160), (200, 180, 150)).save(buf, format="PNG")
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.image(io.BytesIO(buf.getvalue()), x=20, y=20, w=120)
        pdf.rect(10, 10, 150, 200)
    pdf.output(str(path))
    return Path(path)


def make_docx(path: Path, paragraphs: list[str]) -> Path:
    """Write a DOCX with one paragraph per string."""
    document = docx.Document()
    for text in paragraphs:
        document.add_paragraph(text)
    document.save(str(path))
    return Path(path)

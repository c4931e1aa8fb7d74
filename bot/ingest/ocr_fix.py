"""Correct Tesseract's hat and tone mark errors in Vietnamese text (placeholder: identity)."""

from __future__ import annotations


def correct_ocr(text: str) -> str:
    return text

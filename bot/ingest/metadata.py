"""Document metadata: a JSON sidecar beside each file, or what the text itself says.

An admin describes `documents/nd-73.pdf` in `documents/nd-73.pdf.meta.json`:

    {"title": "...", "number": "73/2023/NĐ-CP", "type": "Nghị định", "issuer": "Chính phủ",
     "date": "2023-09-29", "complete": false, "status": "...", "valid_until": null}

Dates and relations: `valid_from` and `valid_until` are ISO dates (the first
day the text applies / no longer applies), `replaces` and `replaced_by` lists
of document numbers ("80/2025/QH15"), `ocr` true when the text was read from a
scan. Every key is optional. Whatever the sidecar leaves out is read from the
text (number, type, date, issuer, title), so a PDF dropped in without a sidecar is
still cited by its number. The sidecar travels with the file: rename or delete
both together. A sidecar was chosen over front matter because it works the same
for PDF, DOCX and text, and never touches the verbatim text.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from bot.clock import today as _today
from bot.errors import DocumentError
from bot.text import nfc

SIDECAR_SUFFIX = ".meta.json"
NEWS = "Tin tức"


@dataclass
class DocumentMeta:
    """What a citation needs to say about a document."""

    title: str = ""
    number: str | None = None  # 73/2023/NĐ-CP, 22/2008/QH12, 14-KL/TW
    type: str | None = None  # Luật, Nghị định, Kết luận, Tin tức...
    issuer: str | None = None
    date: str | None = None  # ISO yyyy-mm-dd
    complete: bool = True  # False: the shipped text is an excerpt
    status: str = ""  # free text: amended by..., replaced by...
    valid_until: str | None = None  # ISO date from which it no longer applies
    valid_from: str | None = None  # ISO date from which it applies (else: its date)
    replaces: list[str] = field(default_factory=list)  # numbers of the texts it replaced
    replaced_by: list[str] = field(default_factory=list)  # numbers of the texts replacing it
    ocr: bool = False  # the text was read from a scan by OCR
    articles_present: str | None = None
    source: str | None = None
    extra: dict = field(default_factory=dict)

    def expired(self, today: date | None = None) -> bool:
        """True when `valid_until` has passed: the bot must say it is no longer in force."""
        if not self.valid_until:
            return False
        try:
            return date.fromisoformat(self.valid_until) <= (today or _today())
        except ValueError:
            return False

    @property
    def label(self) -> str:
        """How a citation names the document: "Nghị định 73/2023/NĐ-CP" or the title."""
        if self.number and self.type and self.type != NEWS:
            return f"{self.type} {self.number}"
        return self.number or self.title

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "DocumentMeta":
        known = {f.name for f in dataclasses.fields(cls)}
        values = {k: v for k, v in data.items() if k in known and k != "extra"}
        for key in ("replaces", "replaced_by"):  # one number given as a string, or null
            if isinstance(values.get(key), str) or values.get(key) is None:
                values[key] = [values[key]] if values.get(key) else []
        if "ocr" in values:
            values["ocr"] = bool(values["ocr"])
        extra = {k: v for k, v in data.items() if k not in known}
        return cls(**values, extra={**data.get("extra", {}), **extra})


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + SIDECAR_SUFFIX)


def read_sidecar(path: Path) -> dict:
    """The sidecar's fields for `path`, or {} when it has none."""
    meta = sidecar_path(path)
    if not meta.exists():
        return {}
    try:
        data = json.loads(meta.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DocumentError(f"Tệp mô tả {meta.name} không hợp lệ: {exc}") from exc
    if not isinstance(data, dict):
        raise DocumentError(f"Tệp mô tả {meta.name} phải là một đối tượng JSON")
    return {k: nfc(v) if isinstance(v, str) else
            [nfc(x) if isinstance(x, str) else x for x in v] if isinstance(v, list) else v
            for k, v in data.items()}


def write_sidecar(path: Path, fields: dict) -> Path:
    """Write (or merge into) the sidecar of `path`, atomically."""
    meta = sidecar_path(path)
    merged = {**read_sidecar(path), **{k: v for k, v in fields.items() if v is not None}}
    tmp = meta.with_name(meta.name + ".tmp")
    tmp.write_text(json.dumps(merged, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    tmp.replace(meta)
    return meta


# --- extraction from the text -------------------------------------------------

# 73/2023/NĐ-CP, 22/2008/QH12, 05/2024/QĐ-TTg, 11/2025/TT-BNV
# Letters after the first dash may be lower case: 05/2024/QĐ-TTg, 12/2022/TT-BNV.
_STATE_NUMBER = re.compile(r"\b(\d{1,4}/\d{4}/[A-ZĐ][A-ZĐ0-9]*(?:-[A-ZĐa-zđ0-9]+)*)")
# 14-KL/TW, 205-QĐ/TW, 26-NQ/TW, 57-HD/BTCTW
_PARTY_NUMBER = re.compile(r"\b(\d{1,4}-[A-ZĐ]{2,5}/[A-ZĐ]{2,8})\b")
_DATE_WORDS = re.compile(r"ngày\s+(\d{1,2})\s+tháng\s+(\d{1,2})\s+năm\s+(\d{4})", re.I)
_DATE_SLASH = re.compile(r"ngày\s+(\d{1,2})/(\d{1,2})/(\d{4})", re.I)

# Number suffix -> (type, issuer). Order matters: the longest suffix first.
_SUFFIXES = [
    ("NĐ-CP", "Nghị định", "Chính phủ"),
    ("NQ-CP", "Nghị quyết", "Chính phủ"),
    ("QĐ-TTg", "Quyết định", "Thủ tướng Chính phủ"),
    ("CT-TTg", "Chỉ thị", "Thủ tướng Chính phủ"),
    ("TT-BNV", "Thông tư", "Bộ Nội vụ"),
    ("UBTVQH", "Nghị quyết", "Ủy ban Thường vụ Quốc hội"),
    ("QH", "Luật", "Quốc hội"),
    ("KL/TW", "Kết luận", "Ban Chấp hành Trung ương"),
    ("NQ/TW", "Nghị quyết", "Ban Chấp hành Trung ương"),
    ("QĐ/TW", "Quyết định", "Ban Chấp hành Trung ương"),
    ("CT/TW", "Chỉ thị", "Ban Chấp hành Trung ương"),
    ("HD/BTCTW", "Hướng dẫn", "Ban Tổ chức Trung ương"),
]
_TYPES = ["Nghị định", "Nghị quyết", "Quyết định", "Thông tư", "Chỉ thị", "Hướng dẫn",
          "Kết luận", "Quy định", "Luật"]
_ISSUERS = ["Quốc hội", "Chính phủ", "Thủ tướng Chính phủ", "Bộ Chính trị", "Ban Bí thư",
            "Ban Chấp hành Trung ương", "Ban Tổ chức Trung ương", "Bộ Nội vụ"]
_BOILERPLATE = re.compile(
    r"^(cộng hoà|cộng hòa|độc lập|số\s*:|luật số|hà nội|[-_ ]+$|đảng cộng sản|\*)", re.I
)


def find_number(text: str) -> str | None:
    """The first document number in the text's opening (state or Party style)."""
    head = text[:3000]
    for pattern in (_STATE_NUMBER, _PARTY_NUMBER):
        m = pattern.search(head)
        if m:
            return m.group(1)
    return None


def _find_date(head: str) -> str | None:
    for pattern in (_DATE_WORDS, _DATE_SLASH):
        m = pattern.search(head)
        if m:
            d, mo, y = (int(g) for g in m.groups())
            try:
                return date(y, mo, d).isoformat()
            except ValueError:
                continue
    return None


def _from_suffix(number: str | None) -> tuple[str | None, str | None]:
    if number:
        for suffix, kind, issuer in _SUFFIXES:
            if suffix in number:
                return kind, issuer
    return None, None


def number_key(number: str | None) -> str:
    """One form for comparing numbers: "112/2020/nđ-cp (phần viên chức)" -> "112/2020/NĐ-CP"."""
    return re.sub(r"\s+", "", re.sub(r"\(.*?\)", "", number or "")).upper()


def type_of_number(number: str | None) -> str | None:
    """"80/2025/QH15" -> "Luật", "234/2026/NĐ-CP" -> "Nghị định": the type its suffix says."""
    return _from_suffix(number)[0]


def _find_type(lines: list[str]) -> str | None:
    for line in lines[:15]:
        upper = line.strip().upper()
        for kind in _TYPES:
            if upper.startswith(kind.upper()):
                return kind
    return None


def _find_issuer(lines: list[str]) -> str | None:
    for line in lines[:6]:
        upper = line.strip().upper()
        for issuer in sorted(_ISSUERS, key=len, reverse=True):
            if upper.startswith(issuer.upper()):
                return issuer
    return None


def _sentence_case(line: str) -> str:
    return line[:1] + line[1:].lower() if line.isupper() else line


def _find_title(lines: list[str], kind: str | None) -> str:
    """"LUẬT / CÁN BỘ, CÔNG CHỨC" -> "Luật cán bộ, công chức"; else the first real line."""
    lines = [ln.strip() for ln in lines[:20]]
    for i, line in enumerate(lines[:-1]):
        if kind and re.match(rf"{kind.upper()}(\s|$)(?!SỐ\s*:)", line.upper()):
            subject = _sentence_case(lines[i + 1].rstrip(".:"))
            return f"{kind} {subject[:1].lower()}{subject[1:]}"[:200]
    issuers = {i.upper() for i in _ISSUERS}
    for line in lines:
        if line and not _BOILERPLATE.match(line) and line.upper() not in issuers:
            return _sentence_case(line.rstrip(".:"))[:200]
    return ""


def extract_metadata(text: str) -> dict:
    """Number, type, issuer, date and title read from a document's opening."""
    lines = [ln for ln in text[:3000].splitlines() if ln.strip()]
    number = find_number(text)
    kind, issuer = _from_suffix(number)
    kind = _find_type(lines) or kind
    return {
        "number": number,
        "type": kind,
        "issuer": _find_issuer(lines) or issuer,
        "date": _find_date(text[:3000]),
        "title": _find_title(lines, kind),
    }


def resolve_metadata(text: str, sidecar: dict, *, news: bool = False) -> DocumentMeta:
    """The sidecar wins; the text fills what it leaves out. News keep no number."""
    found = extract_metadata(text)
    if news or sidecar.get("type") == NEWS:
        # A news page's first line is its headline (or lede): never a legal type.
        first = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
        title = first if len(first) <= 160 else first[:160].rsplit(" ", 1)[0] + "…"
        found = {"title": _sentence_case(title), "type": NEWS, "date": found["date"]}
    merged = {**found, **{k: v for k, v in sidecar.items() if v not in (None, "")}}
    return DocumentMeta.from_dict(merged)

"""Secrets out of log records: bot tokens are part of every Bot API URL, and errors echo them."""

from __future__ import annotations

import logging
import re


class Redact(logging.Filter):
    """Replace secrets (the bot token is part of every Bot API URL) in log records.

    Matched whatever the case: PTB capitalises error descriptions ("Bad Request: x" -> "X"),
    which lower-cases the rest, so a token an API error echoes comes out changed.
    """

    def __init__(self, secrets: list[str]):
        super().__init__()
        self.secrets = [s for s in secrets if s]
        self._found = re.compile("|".join(map(re.escape, self.secrets)), re.I) if self.secrets else None

    def _clean(self, text: str) -> str:
        return self._found.sub("***", text) if self._found else text

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if self._found and self._found.search(message):
            record.msg, record.args = self._clean(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = self._clean(logging.Formatter().formatException(record.exc_info))
        return True

"""The Official Account webhook's own checks: Zalo's signature, and the key that spots a redelivery.

Zalo signs each POST with `X-ZEvent-Signature: mac=<hex>`, where
hex = sha256(app_id + raw body + timestamp + OA secret key): a plain SHA-256,
not an HMAC, the timestamp being the body's `timestamp` field and the key the
one on the app's Webhook settings page (Zalo's Java SDK, `MacUtils.buildMac`).
It is computed over the raw bytes as received (re-serialised JSON would differ)
and compared in constant time. Some integrations sign with the OA id instead of
the app id, or read the timestamp from a header: the documented form is what
is checked, the id is configurable (ZALO_OA_SIGNATURE_ID), and a signature
that matches one of the other forms is still refused, with a log line that
says which setting to change.

The server itself is the shared `webhook.webhook_server` (one POST route, 403
when `Verifier.authentic` says no, 200 before any work); the adapter drops a
redelivery by `message_id(event)` in the shared database, so it is answered
once, even across a restart or by another worker.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Mapping


log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"
TIMESTAMP_HEADER = "X-ZEvent-Timestamp"  # read by some integrations; only used to explain a mismatch


def mac(signer_id: str, raw: bytes, timestamp: str, secret: str) -> str:
    """The hex digest Zalo puts after "mac=": sha256 over the concatenated bytes."""
    return hashlib.sha256(signer_id.encode() + raw + timestamp.encode() + secret.encode()).hexdigest()


def _given(header: str | None) -> bytes:
    value = (header or "").strip()
    if value[:4].lower() == "mac=":
        value = value[4:].strip()
    return value.lower().encode("utf-8", "replace")


class Verifier:
    """Checks signatures with the configured id (the app id by default) and the OA secret key."""

    def __init__(self, signer_id: str, secret: str):
        self.signer_id = signer_id
        self._secret = secret

    def authentic(self, headers: Mapping[str, str], raw: bytes) -> bool:
        """The check the webhook server calls: the signature header against the raw body."""
        try:
            event = json.loads(raw)
        except ValueError:
            event = None
        if not isinstance(event, dict):
            log.warning("Zalo OA webhook refused: the body is not a JSON object")
            return False
        return self.check(raw, event, headers.get(SIGNATURE_HEADER), headers.get(TIMESTAMP_HEADER))

    def check(self, raw: bytes, event: dict, header: str | None, header_timestamp: str | None = None) -> bool:
        given = _given(header)
        expected = mac(self.signer_id, raw, str(event.get("timestamp", "")), self._secret).encode()
        if hmac.compare_digest(given, expected):
            return True
        self._explain(raw, event, given, header_timestamp)
        return False

    def _explain(self, raw: bytes, event: dict, given: bytes, header_timestamp: str | None) -> None:
        """Log which undocumented form the signature matches, if any (still refused)."""
        ids = {"app_id": str(event.get("app_id", "")), "oa_id": str(event.get("oa_id", "")),
               "recipient.id": str((event.get("recipient") or {}).get("id", "")),
               "sender.id": str((event.get("sender") or {}).get("id", ""))}
        stamps = {"body": str(event.get("timestamp", "")), "header": header_timestamp or ""}
        for id_name, signer in ids.items():
            for stamp_name, stamp in stamps.items():
                if signer and stamp and hmac.compare_digest(given, mac(signer, raw, stamp, self._secret).encode()):
                    log.warning("Zalo OA webhook refused: the signature matches the %s (%s) with the %s "
                                "timestamp, not the configured form (ZALO_OA_SIGNATURE_ID, body timestamp). "
                                "If this is really Zalo, set ZALO_OA_SIGNATURE_ID=%s.",
                                id_name, signer, stamp_name, signer)
                    return
        log.warning("Zalo OA webhook refused: bad or missing %s (wrong ZALO_OA_SECRET_KEY, or not from Zalo)",
                    SIGNATURE_HEADER)


def message_id(event: dict) -> str | None:
    """The key a redelivery shares with the first delivery: the event name and message.msg_id,
    or, for events without a message (follow), who and when."""
    message = event.get("message")
    msg_id = message.get("msg_id") if isinstance(message, dict) else None
    if msg_id:
        return f"{event.get('event_name')}:{msg_id}"
    who = (event.get("follower") or event.get("sender") or {}).get("id")
    when = event.get("timestamp")
    return f"{event.get('event_name')}:{who}:{when}" if who and when else None

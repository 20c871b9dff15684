"""One error hierarchy for the core; the edges (CLI, HTTP, chat) map it to messages."""


class TrolyaoError(Exception):
    """Base class of every error the core raises on purpose."""


class InputError(TrolyaoError):
    """An input file is missing, empty, unreadable or of an unsupported format."""


class IndexNotFoundError(TrolyaoError):
    """The index directory does not exist or holds no index yet."""


class IndexCorruptError(TrolyaoError):
    """The index exists but cannot be read (truncated, edited, wrong format version)."""


class ModelMismatchError(TrolyaoError):
    """The index was built with another embedding model than the one configured."""


class ModelError(TrolyaoError):
    """The embedding model cannot be found or loaded."""


class ConfigError(TrolyaoError):
    """A setting (environment variable or `.env` line) has a value of the wrong type or form."""

"""localize: multilingual localization and dubbing of video."""

__version__ = "0.1.0"

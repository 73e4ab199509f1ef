"""The package version, kept in one place (read by ``pyproject.toml``)."""

__version__ = "0.1.0.dev0"

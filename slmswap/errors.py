"""The exception tree: every error slmswap raises on purpose derives from :class:`SlmswapError`.

.. code-block:: text

    SlmswapError
    ├── DataError        a row of input data is malformed (names source, line/index and field)
    ├── FormatError      a chat format cannot express the data, or the format registry is misused
    ├── TemplateError    a chat template misbehaves (drops tools, not prefix-preserving, ...)
    ├── ConfigError      a configuration value is invalid
    ├── ModelError       a model or tokenizer cannot be resolved or loaded
    ├── BackendError     a backend (an API, a server) failed for good, after retries
    └── CheckError       the doctor found a failure that stops the work (its report says which)

Messages say what was wrong, where, and how to fix it.
"""

from __future__ import annotations

__all__ = [
    "BackendError",
    "CheckError",
    "ConfigError",
    "DataError",
    "FormatError",
    "ModelError",
    "SlmswapError",
    "TemplateError",
]


class SlmswapError(Exception):
    """Root of every error slmswap raises on purpose."""


class DataError(SlmswapError):
    """A row of input data is malformed.

    Args:
        message: What is wrong, quoting the offending value.
        source: Where the row came from: a file path, ``"<iterable>"`` or ``"<dataset>"``.
        line: 1-based line number in a JSON-lines file, when the source is a file of lines.
        index: 0-based position of the row, when the source is a JSON array, an iterable or a dataset.
        field: Dotted path of the offending field inside the row, e.g. ``"messages[2].role"``.
        hint: How to fix it.
    """

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        line: int | None = None,
        index: int | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.source = source
        self.line = line
        self.index = index
        self.field = field
        self.hint = hint
        super().__init__(self._render())

    @property
    def location(self) -> str:
        """``source:line`` or ``source[index]``, whichever is known."""
        where = self.source or "<data>"
        if self.line is not None:
            return f"{where}:{self.line}"
        if self.index is not None:
            return f"{where}[{self.index}]"
        return where

    def _render(self) -> str:
        text = f"{self.location}: "
        if self.field:
            text += f"field '{self.field}': "
        text += self.message
        if self.hint:
            text += f" (fix: {self.hint})"
        return text

    def located(self, *, source: str, line: int | None = None, index: int | None = None) -> DataError:
        """A copy of this error that also names where the row came from."""
        return DataError(self.message, source=source, line=line, index=index, field=self.field, hint=self.hint)


class FormatError(SlmswapError):
    """A chat format cannot express the data, cannot be found, or clashes with another format."""


class TemplateError(SlmswapError):
    """A tokenizer's chat template misbehaves for the job at hand."""


class ConfigError(SlmswapError):
    """A configuration value is invalid."""


class ModelError(SlmswapError):
    """A model or tokenizer cannot be resolved or loaded."""


class CheckError(SlmswapError):
    """A doctor check failed, and the work it guards (training, the demo) was not done."""


class BackendError(SlmswapError):
    """A backend's request failed for good (after retries, or with an error that retrying cannot fix)."""

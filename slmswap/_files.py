"""Reading configuration and result files into pydantic models, with errors that name the file and the field;
writing files atomically, and appending to JSON-lines files so that a line torn by a crash costs only itself."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from slmswap.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)


def field_message(exc: ValidationError) -> str:
    """``field 'NAME': what is wrong`` for the first invalid field of ``exc``."""
    first = exc.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or "(top level)"
    return f"field '{field}': {first['msg'].removeprefix('Value error, ')}"  # pydantic's prefix for a ValueError


def field_error(source: str | Path, exc: ValidationError) -> ConfigError:
    """A :class:`ConfigError` naming ``source`` and the first invalid field of ``exc``."""
    return ConfigError(f"{source}: {field_message(exc)}")


def read_yaml_mapping(path: Path, what: str) -> dict[str, Any]:
    """The mapping a YAML file holds (an empty file is an empty mapping)."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}); save the file as UTF-8") from None
    except RecursionError:
        raise ConfigError(f"{path}: nested too deeply to read") from None
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of {what}, got {type(data).__name__}")
    return data


def validate(cls: type[Model], data: Any, source: str | Path) -> Model:
    """``cls.model_validate(data)``, its error naming ``source`` and the field."""
    try:
        return cls.model_validate(data)
    except ValidationError as exc:
        raise field_error(source, exc) from exc


def read_json_model(cls: type[Model], path: Path) -> Model:
    """A model read from a JSON file; a file that is unreadable, not JSON or not valid names itself."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: not UTF-8 text (byte {exc.start}): the file is corrupt") from None
    try:
        return cls.model_validate_json(text)
    except ValidationError as exc:
        raise field_error(path, exc) from exc


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomically(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` so that a crash leaves either the old file or the new one, never half of one.

    The file gets the permissions any new file gets (``0o666`` less the umask), like the files written by
    appending; an error names ``path``, not the temporary file.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as stream:
            stream.write(text)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temporary, 0o666 & ~_umask())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise type(exc)(exc.errno, exc.strerror, str(path)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def append_lines(path: Path, lines: Iterable[bytes]) -> None:
    """Append ``lines`` (each without its newline) to the JSON-lines file ``path``, one a line, flushed and synced.

    The first appended line starts at a line boundary: a file whose last line is torn (cut short by a crash, so
    it lacks its newline) first gets the newline, so that the torn line costs only itself; appended onto, it
    would make the first new line unreadable as well. Every line goes out in one write.
    """
    data = b"".join(line + b"\n" for line in lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+b") as stream:  # append mode: every write lands at the end, wherever the reads were
        end = stream.seek(0, os.SEEK_END)
        if end:
            stream.seek(end - 1)
            if stream.read(1) != b"\n":
                data = b"\n" + data
        stream.write(data)
        stream.flush()
        os.fsync(stream.fileno())

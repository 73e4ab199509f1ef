"""Which modules LoRA adapts: the PEFT settings that name modules, checked against the model before training.

PEFT reads ``target_modules`` only when it wraps the model, after the data is prepared, and a name that matches
nothing ends in its ``NoMatchingPeftModuleError`` (or, for ``modules_to_save`` and ``exclude_modules``, in a
setting that silently does nothing). :func:`check_module_names` applies PEFT's own matching rules to the
model's module names first, and says which key names what, with the names that come close.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from slmswap.errors import ConfigError
from slmswap.train.config import TrainConfig

if TYPE_CHECKING:
    from torch.nn import Module

__all__ = ["ALL_LINEAR", "check_module_names"]

ALL_LINEAR = "all-linear"
"""PEFT's ``target_modules`` value for every linear layer but the output head (any case)."""


def _named(name: str, key: str) -> bool:
    """PEFT's rule for a list of ``target_modules`` or ``exclude_modules``: the module's name, or a dotted tail."""
    return key == name or key.endswith(f".{name}")


def _tail(name: str, key: str) -> bool:
    """PEFT's rule for ``modules_to_save``: the module's name ends with the text."""
    return key.endswith(name)


def _pattern_tail(pattern: str, key: str) -> bool:
    """PEFT's rule for the keys of ``rank_pattern`` and ``alpha_pattern``: a regular expression matching a dotted
    tail of the name."""
    return re.match(rf"(.*\.)?({pattern})$", key) is not None


def _full(pattern: str, key: str) -> bool:
    """PEFT's rule for ``target_modules`` or ``exclude_modules`` given as one string: a regular expression
    matching the whole name."""
    return re.fullmatch(pattern, key) is not None


_RULES: dict[str, Callable[[str, str], bool]] = {
    "target_modules": _named,
    "exclude_modules": _named,
    "modules_to_save": _tail,
    "rank_pattern": _pattern_tail,
    "alpha_pattern": _pattern_tail,
}
"""The ``LoraConfig`` settings that name modules, each with the rule PEFT matches a listed name by."""
_REGEX_RULES = (_pattern_tail, _full)


def _settings(config: TrainConfig) -> dict[str, tuple[str, Any]]:
    """Each module-naming setting that applies, as the key that set it (``target_modules`` or ``peft.KEY``) and
    its value."""
    given: dict[str, tuple[str, Any]] = {"target_modules": ("target_modules", config.target_modules)}
    for key in _RULES:
        if config.peft.get(key) is not None:
            given[key] = (f"peft.{key}", config.peft[key])
    return given


def _refusal(where: str, name: str, regex: bool, keys: Sequence[str], model: Module) -> ConfigError:
    """The error for ``name`` (given at ``where``) matching none of the module names ``keys``, with the names
    close to it: module-name tails of as many dotted parts (of one part for a regular expression)."""
    parts = 1 if regex else name.count(".") + 1
    candidates = sorted({".".join(key.split(".")[-parts:]) for key in keys})
    close = difflib.get_close_matches(name, candidates, n=5)
    if close:
        hint = f"close matches: {', '.join(close)}"
    else:
        from torch import nn

        linear = sorted({key.rsplit(".", 1)[-1] for key, part in model.named_modules() if isinstance(part, nn.Linear)})
        hint = f"nothing close; the model's linear layers are named {', '.join(linear) or '(none)'}"
    what = f"no module name matches {name!r}" if regex else f"no module named {name!r}"
    return ConfigError(f"{where}: {what} in the model; {hint}")


def _check(where: str, name: object, rule: Callable[[str, str], bool], keys: Sequence[str], model: Module) -> None:
    if not isinstance(name, str):
        raise ConfigError(f"{where}: expected module names, got {name!r}")
    regex = rule in _REGEX_RULES
    if regex:
        try:
            re.compile(name)
        except re.error as exc:
            raise ConfigError(f"{where}: {name!r} is not a regular expression: {exc}") from None
    if not any(rule(name, key) for key in keys):
        raise _refusal(where, name, regex, keys, model)


def check_module_names(model: Module, config: TrainConfig) -> None:
    """Check that every module name ``config`` gives PEFT (``target_modules``, and ``modules_to_save``,
    ``exclude_modules``, ``rank_pattern`` and ``alpha_pattern`` in ``config.peft``) names a module of
    ``model``, by PEFT's own rule for each setting; ``target_modules="all-linear"`` always does. Nothing is
    checked for a full fine-tune, which adapts nothing.

    Raises:
        ConfigError: Naming the key and the name that matches nothing, with the module names close to it.
    """
    if config.method == "full":
        return
    keys = [key for key, _ in model.named_modules() if key]
    for setting, (where, value) in _settings(config).items():
        if isinstance(value, str) and setting in ("target_modules", "exclude_modules"):
            if setting != "target_modules" or value.lower() != ALL_LINEAR:
                _check(where, value, _full, keys, model)
        elif isinstance(value, (list, tuple, dict, str)):
            for name in [value] if isinstance(value, str) else value:
                _check(where, name, _RULES[setting], keys, model)
        else:
            raise ConfigError(f"{where}: expected a list of module names, got {value!r}")

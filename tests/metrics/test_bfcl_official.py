"""``bfcl_ast_match`` gives the official BFCL checker's verdict: cross-checked against the checker's own code.

The ``bfcl-eval`` wheel (downloaded with ``--no-deps``, never installed) is unpacked into a temporary directory
and its ``ast_checker`` imported from there, unmodified. Only ``bfcl_eval.constants.model_config`` is replaced by
a stub: it pulls in every model handler, and the checker reads one flag from it (``underscore_to_dot``: whether a
model's API forced dots in function names to underscores; slmswap keeps the names as offered).

Every ``possible_answer`` row of the single-turn categories is checked with the loader's target and with
perturbations of it: wrong types, int for float and float for int, a required or optional parameter left out,
``""`` for a parameter, undeclared and unlisted parameters, other acceptable values, parallel calls reordered,
repeated or dropped, Java and JavaScript values written as source text, objects and lists of objects changed
key by key. The verdicts must agree on every case.
"""

from __future__ import annotations

import importlib
import json
import sys
import types
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from slmswap.data import load_bfcl_wheel
from slmswap.formats import ParseResult
from slmswap.metrics import BfclAstMatch, ScoredExample, bfcl_check
from slmswap.metrics.bfcl_checker import bfcl_language
from slmswap.schema import Message

CATEGORIES = (
    "simple_python",
    "simple_java",
    "simple_javascript",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
    "live_parallel",
    "live_parallel_multiple",
)

Official = Callable[[list[Any], list[Any], list[Any], Any, str, str], dict[str, Any]]


@pytest.fixture(scope="module")
def official(bfcl_wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Official, Any]]:
    """BFCL's ``ast_checker`` and its ``Language`` enum, imported from the unpacked wheel."""
    root = tmp_path_factory.mktemp("bfcl_eval")
    with zipfile.ZipFile(bfcl_wheel) as archive:
        wanted = [
            name
            for name in archive.namelist()
            if name.startswith("bfcl_eval/eval_checker/ast_eval/")
            or name
            in (
                "bfcl_eval/__init__.py",
                "bfcl_eval/constants/__init__.py",
                "bfcl_eval/constants/enums.py",
                "bfcl_eval/constants/type_mappings.py",
                "bfcl_eval/eval_checker/__init__.py",
            )
        ]
        archive.extractall(root, members=wanted)
    stub = types.ModuleType("bfcl_eval.constants.model_config")
    flags = types.SimpleNamespace(underscore_to_dot=False)
    stub.MODEL_CONFIG_MAPPING = {"slmswap": flags}  # type: ignore[attr-defined]
    sys.path.insert(0, str(root))
    sys.modules["bfcl_eval.constants.model_config"] = stub
    try:
        checker = importlib.import_module("bfcl_eval.eval_checker.ast_eval.ast_checker")
        enums = importlib.import_module("bfcl_eval.constants.enums")
        assert Path(checker.__file__).is_relative_to(root)  # the wheel's code, not an installed copy
        yield checker.ast_checker, enums.Language
    finally:
        sys.path.remove(str(root))
        for name in [name for name in sys.modules if name == "bfcl_eval" or name.startswith("bfcl_eval.")]:
            del sys.modules[name]


def _rows(wheel: Path, category: str) -> list[tuple[str, list[Any], list[Any]]]:
    """(id, functions, ground truth) of every possible-answer row, read from the wheel directly."""
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        question = next(n for n in names if n.endswith(f"/data/BFCL_v4_{category}.json"))
        answer = question.replace("/data/", "/data/possible_answer/")
        truth = {row["id"]: row["ground_truth"] for row in map(json.loads, archive.read(answer).splitlines())}
        questions = [json.loads(line) for line in archive.read(question).splitlines()]
    return [(row["id"], row["function"], truth[row["id"]]) for row in questions if row["id"] in truth]


def _first(acceptable: Any) -> Any:
    if not isinstance(acceptable, list):
        return acceptable
    return next((_resolve(value) for value in acceptable if value != ""), None)


def _resolve(value: Any) -> Any:
    if isinstance(value, dict):
        return {key: _first(options) for key, options in value.items() if _first(options) is not None}
    if isinstance(value, list):
        return [_resolve(item) for item in value]
    return value


def _source(value: Any, language: str) -> list[str]:
    """Ways a model could write ``value`` as Java or JavaScript source text."""
    if isinstance(value, bool):
        return ["true" if value else "false", str(value)]
    if isinstance(value, int):
        return [str(value), f"{value}L", f"{value}n", f"{value}.0"]
    if isinstance(value, float):
        return [repr(value), f"{value}f", str(int(value)) if value.is_integer() else f"{value}d"]
    if isinstance(value, str):
        return [value, f'"{value}"', f"'{value}'"]
    if isinstance(value, list):
        items = [_source(item, language)[1 if isinstance(item, str) else 0] for item in value]
        joined = ", ".join(items)
        return [f"new ArrayList<>(Arrays.asList({joined}))", f"new String[]{{{joined}}}", f"[{joined}]"]
    if isinstance(value, dict):
        puts = " ".join(
            f'put("{k}", {_source(v, language)[1 if isinstance(v, str) else 0]});' for k, v in value.items()
        )
        entries = ", ".join(f"{k}: {_source(v, language)[2 if isinstance(v, str) else 0]}" for k, v in value.items())
        return [f"new HashMap<String, String>() {{{{ {puts} }}}}", f"{{{entries}}}", json.dumps(value)]
    return [json.dumps(value)]


def _value_variants(value: Any, acceptable: list[Any], language: str) -> list[Any]:
    variants: list[Any] = ["", 7, 7.5, "text", True, []]
    variants += [_resolve(option) for option in acceptable[:3]]
    if isinstance(value, bool):
        variants.append(not value)
    elif isinstance(value, int):
        variants += [float(value), value + 1, str(value)]
    elif isinstance(value, float):
        variants += [int(value) if value.is_integer() else round(value), value + 0.5, str(value)]
    elif isinstance(value, str):
        variants += [value.upper(), f" {value}.", value.replace('"', "'"), value + "x"]
    elif isinstance(value, list):
        variants += [value[::-1], value[:-1], [*value, value[0]] if value else [1]]
        variants.append([float(v) if type(v) is int else int(v) if type(v) is float else v for v in value])
        variants.append([str(v) for v in value])
    elif isinstance(value, dict):
        for key in value:
            variants.append({k: v for k, v in value.items() if k != key})
            variants.append({**value, key: "changed"})
        variants.append({**value, "undeclared": 1})
        variants.append([value])
    if language != "python":
        variants += _source(value, language)
    return variants


def _candidates(functions: list[Any], truth: list[Any], language: str, seed: int) -> Iterator[list[dict[str, Any]]]:
    """The loader's target and perturbations of it; ``seed`` picks which value variants a row gets (a different
    few each row, so that all of them occur across the rows)."""
    target = [{name: _resolve(params)} for entry in truth for name, params in entry.items()]
    yield target
    yield []
    yield target[::-1]
    yield target[:-1]
    yield [*target, target[0]]
    declared = {spec["name"]: spec["parameters"]["properties"] for spec in functions}
    for k, entry in enumerate(target[:2]):  # the first two calls of parallel rows are perturbed
        ((name, arguments),) = entry.items()
        acceptable = truth[k][name]

        def replaced(arguments: dict[str, Any], k: int = k, name: str = name) -> list[dict[str, Any]]:
            return [*target[:k], {name: arguments}, *target[k + 1 :]]

        yield [*target[:k], {name + "_x": arguments}, *target[k + 1 :]]
        yield replaced({**arguments, "undeclared_param": 1})
        for param in declared.get(name, {}):
            if param not in acceptable:
                yield replaced({**arguments, param: "x"})
        for p, (param, options) in enumerate(acceptable.items()):
            yield replaced({name: value for name, value in arguments.items() if name != param})
            variants = _value_variants(arguments.get(param, _first(options)), options, language)
            for step in range(4):
                yield replaced({**arguments, param: variants[(seed + p + step * 7) % len(variants)]})
        if language != "python":  # every value as source text, as BFCL offers these parameters
            for choice in range(3):
                texts = {
                    p: _source(v, language)[min(choice, len(_source(v, language)) - 1)] for p, v in arguments.items()
                }
                yield replaced(texts)


def test_agrees_with_the_official_checker(official: tuple[Official, Any], bfcl_wheel: Path) -> None:
    checker, language_enum = official
    cases, agreed, passed, rows = 0, 0, 0, 0
    disagreements: list[str] = []
    for category in CATEGORIES:
        language = language_enum(bfcl_language(category))
        for row_id, functions, truth in _rows(bfcl_wheel, category):
            rows += 1
            row = json.dumps([functions, truth])
            for calls in _candidates(functions, truth, language.value, rows):
                expected = checker(functions, calls, truth, language, category, "slmswap")
                ours = bfcl_check(calls, functions, truth, category)
                cases += 1
                passed += ours.valid
                if ours.valid == expected["valid"]:
                    agreed += 1
                elif len(disagreements) < 5:
                    disagreements.append(f"{row_id}: {calls!r}: official {expected}, ours {ours}")
            assert json.dumps([functions, truth]) == row  # neither checker changes the row it is given
    print(f"\nBFCL cross-check: {rows} rows, {cases} cases, {agreed} agree ({agreed / cases:.2%}), {passed} pass")
    assert not disagreements, "\n".join(disagreements)
    assert rows > 2000
    assert cases > 15 * rows
    assert 0.02 < passed / cases < 0.5  # both verdicts occur often


def test_metric_reads_the_loaded_rows(official: tuple[Official, Any], bfcl_wheel: Path) -> None:
    """Through the loader and the metric: the loader's target, and the same target with a float parameter given
    as an integer, get the official verdict."""
    checker, language_enum = official
    verdicts: Counter[bool] = Counter()
    for category in ("parallel_multiple", "simple_java"):
        language = language_enum(bfcl_language(category))
        for conversation in load_bfcl_wheel(bfcl_wheel, category)[:40]:
            calls = list(conversation.messages[-1].tool_calls)
            example = ScoredExample(
                reference=conversation.messages[-1],
                prediction=ParseResult(Message.assistant(tool_calls=calls)),
                tools=conversation.tools,
                metadata=conversation.metadata,
            )
            decoded = [{call.name: call.arguments} for call in calls]
            meta = conversation.metadata
            expected = checker(
                meta["bfcl_functions"], decoded, meta["bfcl_ground_truth"], language, category, "slmswap"
            )
            assert BfclAstMatch().score(example) == float(expected["valid"]), conversation.id
            verdicts[bool(expected["valid"])] += 1
    assert verdicts[True] > 0

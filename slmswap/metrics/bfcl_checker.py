"""The Berkeley Function Calling Leaderboard's AST verdict, rule for rule.

:func:`bfcl_check` judges a prediction's calls the way ``bfcl_eval``'s ``ast_checker`` does (release pinned in
the tests, which cross-check every verdict against that code), quirks included, so that a number put beside a
leaderboard row is the leaderboard's verdict. It needs the row's function specs as BFCL wrote them (type names
such as ``float``, ``tuple``, ``long``, ``HashMap``; :func:`~slmswap.data.load_bfcl` keeps them in
``metadata["bfcl_functions"]``) and its ``possible_answer`` ground truth (``metadata["bfcl_ground_truth"]``).

The rules, in the order BFCL applies them to one call:

1. the category picks the matcher: ``parallel`` categories pair calls with ground-truth entries in any order,
   *greedily* (each entry takes the first unpaired call that passes, never reconsidered); ``multiple``
   categories check only the first call against the first entry; the others need exactly one call, checked
   against the first function spec. Every matcher first needs as many calls as entries;
2. the function name must be the spec's name;
3. every parameter in the spec's ``required`` must be given;
4. every given parameter must be declared in the spec *and* listed in the possible answer;
5. types come from the declared type, not from the answer's value: an integer is accepted for a ``float``
   (it becomes a float); a value of the answer's own type passes the type check too (BFCL's "variable" case,
   e.g. ``0.0`` for a ``float`` whose answer is ``0``, which then compares by Python equality); array items
   are type-checked one level deep (``[1, 3]`` fails for an array of floats). In the Java and JavaScript
   categories every value must be a string of source text, converted first
   (:mod:`slmswap.metrics.bfcl_languages`);
6. values: strings compare after normalisation (lower case; spaces, ``,./-_*^`` dropped; ``'`` read as ``"``);
   lists compare element-wise after the same normalisation of their string items (so ``[]`` matches an
   optional list, whose ``""`` counts as an empty list); objects key by key, each key with its own acceptable
   values, compared by equality; lists of objects object by object; anything else by Python equality (so
   ``1.0 == 1``);
7. a parameter of the possible answer that is not given must have ``""`` among its acceptable values (an
   empty list of acceptable values therefore fails whether given or not).

An irrelevance category (no function fits the question) passes when no call was made; a relevance category
passes when at least one was.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from slmswap.metrics.bfcl_languages import (
    JAVA_TYPES,
    JAVASCRIPT_TYPES,
    UnsupportedTypeError,
    java_value,
    javascript_value,
)

__all__ = ["BfclVerdict", "bfcl_check", "bfcl_language"]

_PYTHON_TYPES: dict[str, type] = {
    "string": str,
    "integer": int,
    "float": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "any": str,
}
_NESTED_PYTHON = ("array", "tuple")
_NESTED_CONVERTED = ("Array", "ArrayList", "array")
_NORMALISED = re.compile(r"[ ,./\-_*^]")

Call = Mapping[str, Any]
"""One call in BFCL's decoded form: ``{function name: {parameter: value}}``."""


@dataclass(frozen=True)
class BfclVerdict:
    """BFCL's verdict on one prediction: whether it passes, and BFCL's error type and message when not."""

    valid: bool
    error_type: str = ""
    """BFCL's error type, e.g. ``"simple_function_checker:missing_required"``, ``"type_error:simple"``."""
    error: str = ""


_PASS = BfclVerdict(True)


def bfcl_language(category: str) -> str:
    """The language of a BFCL category, as its checker decides it: ``"java"``, ``"javascript"`` or
    ``"python"``."""
    if "javascript" in category:
        return "javascript"
    return "java" if "java" in category else "python"


def bfcl_check(
    calls: Sequence[Call],
    functions: Sequence[Mapping[str, Any]],
    ground_truth: Sequence[Mapping[str, Any]],
    category: str,
) -> BfclVerdict:
    """BFCL's AST verdict on ``calls`` (``[{name: {param: value}}]``) for a row of ``category`` with the given
    function specs and ``possible_answer`` ground truth (``[{name: {param: [acceptable values]}}]``)."""
    if "irrelevance" in category:
        return _PASS if not _called(calls) else BfclVerdict(False, "irrelevance_error:decoder_success")
    if "relevance" in category:
        return _PASS if _called(calls) else BfclVerdict(False, "relevance_error:decoder_failed")
    language = bfcl_language(category)
    try:
        if "parallel" in category:
            return _parallel(functions, calls, ground_truth, language)
        if "multiple" in category:
            if len(calls) != len(ground_truth):
                return _fail("multiple_function_checker:wrong_count", "Wrong number of functions.")
            return _check_call(_find(functions, next(iter(ground_truth[0]))), calls[0], ground_truth[0], language)
        if len(calls) != 1:
            return _fail("simple_function_checker:wrong_count", "Wrong number of functions.")
        return _check_call(functions[0], calls[0], ground_truth[0], language)
    except (KeyError, IndexError, TypeError, UnsupportedTypeError) as error:  # BFCL's own checker stops on these
        return _fail("unsupported_row", f"BFCL cannot check this row: {error!r}")


def _called(calls: Sequence[Call]) -> bool:
    """BFCL counts no call for ``[]`` and ``[{}]``."""
    return bool(calls) and not (len(calls) == 1 and not calls[0])


def _find(functions: Sequence[Mapping[str, Any]], name: str) -> Mapping[str, Any] | None:
    return next((spec for spec in functions if spec.get("name") == name), None)


def _parallel(
    functions: Sequence[Mapping[str, Any]], calls: Sequence[Call], truth: Sequence[Mapping[str, Any]], language: str
) -> BfclVerdict:
    if len(calls) != len(truth):
        return BfclVerdict(False, "parallel_function_checker_no_order:wrong_count", "Wrong number of functions.")
    matched: set[int] = set()
    for k, entry in enumerate(truth):
        spec = _find(functions, next(iter(entry)))
        found = next(
            (i for i, call in enumerate(calls) if i not in matched and _check_call(spec, call, entry, language).valid),
            None,
        )
        if found is None:
            return BfclVerdict(
                False,
                "parallel_function_checker_no_order:cannot_find_match",
                f"no call matches ground-truth entry {k}",
            )
        matched.add(found)
    return _PASS


def _fail(error_type: str, error: str) -> BfclVerdict:
    return BfclVerdict(False, error_type, error)


def _check_call(spec: Mapping[str, Any] | None, call: Call, entry: Mapping[str, Any], language: str) -> BfclVerdict:
    """BFCL's ``simple_function_checker``: one call against one ground-truth entry and its function spec."""
    if spec is None:  # BFCL itself fails on a ground-truth function the row does not offer
        return _fail("simple_function_checker:wrong_func_name", "the ground truth names a function not offered")
    answers: Mapping[str, Any] = next(iter(entry.values()))
    name, declared = spec["name"], spec["parameters"]["properties"]
    if name not in call:
        return _fail("simple_function_checker:wrong_func_name", f"function {name!r} not found in the output")
    given: Mapping[str, Any] = call[name]
    for required in spec["parameters"].get("required", ()):
        if required not in given:
            return _fail("simple_function_checker:missing_required", f"missing required parameter {required!r}")
    for param, value in given.items():
        if param not in declared or param not in answers:
            return _fail("simple_function_checker:unexpected_param", f"unexpected parameter {param!r}")
        problem = _check_value(param, value, declared[param], answers[param], language)
        if problem is not None:
            return problem
    for param, acceptable in answers.items():
        if param not in given and "" not in acceptable:
            return _fail("simple_function_checker:missing_optional", f"parameter {param!r} not given")
    return _PASS


def _check_value(
    param: str, value: Any, details: Mapping[str, Any], acceptable: Any, language: str
) -> BfclVerdict | None:
    declared = details["type"]
    nested: type | None = None
    converter: Callable[..., Any] | None = None
    if language == "python":
        expected = _PYTHON_TYPES[declared]
        if declared in _NESTED_PYTHON:
            nested = _PYTHON_TYPES[details["items"]["type"]]
    else:
        types, converter = (JAVA_TYPES, java_value) if language == "java" else (JAVASCRIPT_TYPES, javascript_value)
        expected = types[declared]
        if type(value) is not str:
            return _fail(f"type_error:{'java' if language == 'java' else 'js'}", f"{param!r} must be a string")
        if declared in _NESTED_CONVERTED:
            nested_name = details["items"]["type"]
            nested = types[nested_name]
            value = converter(value, declared, nested_name)
        else:
            value = converter(value, declared)
    if language == "python" and declared == "float" and type(value) is int:
        value = float(value)
    typed = _type_check(value, acceptable, expected, nested)
    if typed is None:
        return _fail("type_error:simple", f"incorrect type for parameter {param!r}")
    if not typed:  # the value is not a "variable": compare it by its kind
        if expected is dict:
            return _dict_value(param, value, acceptable)
        if expected is list and nested is dict:
            return _list_of_dicts(param, value, acceptable)
        if expected is str:
            return _string_value(param, value, acceptable)
        if expected is list:
            return _list_value(param, value, acceptable)
    if value not in acceptable:
        return _fail("value_error:others", f"invalid value for parameter {param!r}: {value!r}")
    return None


def _answer_type(acceptable: Any) -> type | None:
    for answer in acceptable:
        if answer != "":
            return type(answer)
    return None


def _type_check(value: Any, acceptable: Any, expected: type, nested: type | None) -> bool | None:
    """BFCL's ``type_checker``: ``None`` when the type is wrong, else whether the value is a "variable" (of the
    answer's type rather than the declared one)."""
    answer_type = _answer_type(acceptable)
    variable = answer_type is not None and answer_type is not expected
    if type(value) is expected:
        if nested is None:
            return variable
        items = cast("list[Any]", value)  # the declared type is a list here
        for answer in acceptable:
            items_pass = type(answer) is not list or all(
                _type_check(item, answer, nested, None) is not None for item in items
            )
            if items_pass:
                return variable
    if answer_type is not None and type(value) is answer_type:
        return True if nested is None or type(value) is not expected else None
    return None


def _standard(text: str) -> str:
    return _NORMALISED.sub("", text).lower().replace("'", '"')


def _standard_all(values: Any) -> list[Any]:
    return [_standard(v) if type(v) is str else v for v in values]


def _string_value(param: str, value: str, acceptable: Any) -> BfclVerdict | None:
    if _standard(value) not in [_standard(v) for v in acceptable if type(v) is str]:
        return _fail("value_error:string", f"invalid value for parameter {param!r}: {value!r}")
    return None


def _list_value(param: str, value: list[Any], acceptable: Any) -> BfclVerdict | None:
    if _standard_all(value) not in [_standard_all(answer) for answer in acceptable]:
        return _fail("value_error:list/tuple", f"invalid value for parameter {param!r}: {value!r}")
    return None


def _dict_value(param: str, value: Mapping[str, Any], acceptable: Any) -> BfclVerdict | None:
    """BFCL's ``dict_checker``: the object matches one acceptable object, key by key."""
    failure = _fail("dict_checker:unclear", f"no acceptable object for parameter {param!r}")
    for answer in acceptable:
        if answer == "":
            continue
        mismatch = _dict_against(param, value, answer)
        if mismatch is None:
            return None
        failure = mismatch
    return failure


def _dict_against(param: str, value: Mapping[str, Any], answer: Any) -> BfclVerdict | None:
    for key, item in value.items():
        if key not in answer:
            return _fail("value_error:dict_key", f"unexpected key {key!r} in parameter {param!r}")
        if (_standard(item) if type(item) is str else item) not in _standard_all(answer[key]):
            return _fail("value_error:dict_value", f"invalid value for key {key!r} of parameter {param!r}")
    for key, options in answer.items():
        if key not in value and "" not in options:
            return _fail("value_error:dict_key", f"missing key {key!r} in parameter {param!r}")
    return None


def _list_of_dicts(param: str, value: Sequence[Any], acceptable: Any) -> BfclVerdict | None:
    """BFCL's ``list_dict_checker``: the objects match one acceptable list of objects, in order."""
    failure = _fail("list_dict_checker:unclear", f"no acceptable list of objects for parameter {param!r}")
    for answer in acceptable:
        if len(value) != len(answer):
            failure = _fail("value_error:list_dict_count", f"wrong number of objects in parameter {param!r}")
            continue
        for item, expected in zip(value, answer, strict=True):
            failure_here = _dict_value(param, item, [expected])
            if failure_here is not None:
                failure = failure_here
                break
        else:
            return None
    return failure

"""Running an evaluation that loses nothing: per-example records appended as they complete, resumable.

Every evaluated example becomes one JSON line in the records file (prompt hash, raw output, parse result,
scores, time, tokens), flushed and synced after each batch. Running the same evaluation again reads the records
already there, skips the examples they cover (same id, same prompt), and generates only the rest; a line cut
short by a crash is dropped from the file (which is rewritten atomically) and its example generated again. A
records file holds one run: one record per example (two different records for one id are refused, and so is
resuming with other prompts for the examples it holds). Every append starts at a line boundary, so a line torn
while the run goes on costs only itself. The final results file is written atomically.
"""

from __future__ import annotations

import contextlib
import warnings
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout
from pydantic import BaseModel, ConfigDict, ValidationError

from slmswap._files import append_lines, write_atomically
from slmswap.errors import ConfigError, DataError, FormatError
from slmswap.evaluation.backend import Generate, Generation
from slmswap.evaluation.prompts import EvalItem, eval_items
from slmswap.formats.base import ChatFormat, ParseFailure, ParseResult
from slmswap.metrics import Metric, MetricsReport, ScoredExample, default_metrics, issues, score_examples
from slmswap.schema import Conversation, Message
from slmswap.templates.spans import template_sha256

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = [
    "PROMPTS_PER_CALL",
    "EvalRecord",
    "EvaluationResult",
    "evaluate",
    "parse_generation",
    "read_records",
    "scored_example",
]

PROMPTS_PER_CALL = 64
"""Prompts handed to the backend in one call by default (its records are written after each call)."""


class EvalRecord(BaseModel):
    """One evaluated example, as written to the records file."""

    model_config = ConfigDict(frozen=True)

    id: str
    prompt_hash: str
    raw_output: str
    ok: bool
    failure: str | None
    detail: str
    forgiven: list[str]
    prediction: Message | None
    scores: dict[str, float | None]
    issues: list[str]
    seconds: float
    tokens: int
    model: str | None = None
    """What answered (as :func:`evaluate` was told), so a records file is never resumed with another model."""
    constrained: bool = False
    """Whether decoding was held to the format's grammar (so a records file is never resumed with the other)."""
    reference: str | None = None
    """The reference answer as the format writes it: what a perfect model would have output (``None`` in records
    written by earlier versions, or where the format cannot write the reference)."""
    threads: int | None = None
    """The torch CPU threads the answer was generated with
    (:attr:`~slmswap.evaluation.backend.Generation.threads`; ``None``: not a local CPU model, or a record of an
    earlier version)."""
    repaired_text: bool = False
    """Whether the backend's text (or error) held a lone surrogate, which no UTF-8 text can hold: it was replaced
    by U+FFFD before the answer was parsed, scored and written (``False`` in records of earlier versions)."""


class EvaluationResult(BaseModel):
    """The outcome of an evaluation: metrics with intervals, the records, and what was skipped."""

    model_config = ConfigDict(frozen=True)

    format: str
    format_version: str
    system_prompt_source: str
    chat_template_sha256: str | None = None
    """SHA-256 of the chat template the prompts were rendered with (``None`` in files from before 0.1)."""
    model: str | None = None
    """What answered, as the caller named it (a model path, an output directory, an API model name)."""
    examples: int
    reused: int
    """Records found from an earlier (interrupted) run and not generated again."""
    skipped: dict[str, int]
    metrics: MetricsReport
    constrained: bool = False
    """Whether decoding was constrained to the format's grammar for the offered tools (another setup than free
    decoding: runs are compared only with runs decoded the same way)."""
    seed: int = 0
    """The seed of the bootstrap intervals (a report computes them again from the records, with this seed)."""


def read_records(path: Path) -> list[EvalRecord]:
    """The complete records in ``path``, one per example (a line cut short by a crash, or not UTF-8, is ignored;
    a line repeating a record is read once).

    Raises:
        DataError: Two different records for one id (naming the file, the line and the id): a records file holds
            one run, and which answer counts would otherwise be a guess.
    """
    return _scan_records(path)[0]


def _scan_records(path: Path) -> tuple[list[EvalRecord], list[bytes]]:
    """The complete records in ``path``, and the lines that are not one (cut short, not UTF-8, not a record)."""
    if not path.exists():
        return [], []
    kept: dict[str, tuple[int, EvalRecord]] = {}
    rejected = []
    for number, line in enumerate(path.read_bytes().splitlines(), start=1):
        try:
            record = EvalRecord.model_validate_json(line.decode("utf-8"))
        except (UnicodeDecodeError, ValidationError):
            if line.strip():
                rejected.append(line)
            continue
        first = kept.setdefault(record.id, (number, record))
        if first[1] != record:
            raise DataError(
                f"a second, different record for id {record.id!r} (the first is on line {first[0]}): a records "
                "file holds one run, one record per example",
                source=str(path),
                line=number,
                field="id",
                hint="evaluate each run into a records file (run directory) of its own; keep one of the two lines",
            )
    return [record for _, record in kept.values()], rejected


def _repair(path: Path) -> list[EvalRecord]:
    """The complete records of ``path``; a file a crash left with a line cut short (or a line that is not a
    record, or not UTF-8) is rewritten with only its complete records (new records would otherwise be appended
    onto the cut line and lost), and what was set aside is kept in ``<path>.rejected`` and said in a warning."""
    records, rejected = _scan_records(path)
    if not path.exists():
        return records
    raw = path.read_bytes()
    if rejected or (not raw.endswith(b"\n") and raw):
        if rejected:
            aside = path.with_name(path.name + ".rejected")
            append_lines(aside, rejected)
            warnings.warn(
                f"{path}: {len(rejected)} line(s) were not complete records (cut short by a crash, or not UTF-8) "
                f"and were set aside in {aside}; their examples are evaluated again",
                RuntimeWarning,
                stacklevel=4,
            )
        write_atomically(path, "".join(record.model_dump_json() + "\n" for record in records))
    return records


def evaluate(
    conversations: Sequence[Conversation],
    generate: Generate,
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    *,
    records: str | Path,
    results: str | Path | None = None,
    metrics: Sequence[Metric] | None = None,
    batch_size: int = PROMPTS_PER_CALL,
    seed: int = 0,
    model: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    constrained: bool = False,
) -> EvaluationResult:
    """Evaluate the last assistant turn of each conversation: render the prompt before it exactly as in
    training, generate, parse strictly, score, and append a record; resume from ``records`` if it exists.

    Conversations without an assistant turn, and those whose text holds a special token's text (it would reach
    the model as the real control token), are skipped and counted by reason in ``skipped``. ``model`` names
    what answered, for the results file; ``progress`` is called with (examples done, examples in all) after
    each batch. One writer at a time: a second evaluation into the same records file is refused while the
    first runs.

    With ``constrained``, every prompt carries the format's grammar for its conversation's tools (see
    :mod:`slmswap.formats.grammar`): the backend decodes within it (the transformers backend, with the
    ``constrained`` extra) or refuses. The results and records say so.
    """
    records = Path(records)
    results = Path(results) if results is not None else None
    items, skipped = eval_items(conversations, tokenizer, fmt, constrained=constrained)
    ids = [item.id for item in items]
    if len(set(ids)) != len(ids):
        repeated = sorted(example_id for example_id, n in Counter(ids).items() if n > 1)[:3]
        raise DataError(
            f"conversation ids repeat ({', '.join(map(repr, repeated))}): they key the records file",
            hint="give every conversation a unique id",
        )
    records.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(records.with_name(records.name + ".lock")), timeout=0)
    try:
        lock.acquire()
    except Timeout:
        raise ConfigError(
            f"{records} is being written by another evaluation right now: two writers would lose records. Wait "
            "for it to finish, or evaluate into another run directory"
        ) from None
    try:
        return _evaluate_locked(
            items,
            skipped,
            generate,
            tokenizer,
            fmt,
            records,
            results,
            metrics,
            batch_size,
            seed,
            model,
            progress,
            constrained,
        )
    finally:
        lock.release()


def _evaluate_locked(
    items: list[EvalItem],
    skipped: dict[str, int],
    generate: Generate,
    tokenizer: PreTrainedTokenizerBase,
    fmt: ChatFormat,
    records: Path,
    results: Path | None,
    metrics: Sequence[Metric] | None,
    batch_size: int,
    seed: int,
    model: str | None,
    progress: Callable[[int, int], None] | None,
    constrained: bool,
) -> EvaluationResult:
    ids = [item.id for item in items]
    wanted = {(item.id, item.prompt_hash) for item in items}
    existing = _repair(records) if records.exists() else []
    others = sorted({r.model for r in existing if r.model is not None and model is not None and r.model != model})
    if others:
        raise ConfigError(
            f"{records} holds answers of {others[0]!r}, not {model!r}: resuming would mix two models' answers; "
            "evaluate into another records file (or run directory), or delete this one"
        )
    if any(r.constrained != constrained for r in existing):
        held, asked = ("unconstrained", "constrained") if constrained else ("constrained", "unconstrained")
        raise ConfigError(
            f"{records} holds {held} answers and this evaluation is {asked}: resuming would mix two decoding "
            "setups; evaluate into another records file (or run directory), or delete this one"
        )
    prompts = dict(wanted)
    stale = [r.id for r in existing if r.id in prompts and r.prompt_hash != prompts[r.id]]
    if stale:
        raise ConfigError(
            f"{records} holds answers to other prompts for {len(stale)} of these examples "
            f"({', '.join(map(repr, stale[:3]))}): the format, its version, the data or the chat template changed "
            "since. Resuming would keep two answers for one example; evaluate into another records file (or run "
            "directory), or delete this one"
        )
    done = {(r.id, r.prompt_hash): r for r in existing if (r.id, r.prompt_hash) in wanted}
    reused = len(done)
    todo = [item for item in items if (item.id, item.prompt_hash) not in done]
    records.touch()  # the run's file exists from its start, records or not
    if progress is not None:
        progress(reused, len(items))
    for start in range(0, len(todo), batch_size):
        batch = todo[start : start + batch_size]
        generations = generate([item.prompt for item in batch])
        written = []
        for item, generation in zip(batch, generations, strict=True):
            record = _record(item, generation, fmt, metrics, model, constrained)
            done[(item.id, item.prompt_hash)] = record
            written.append(record.model_dump_json().encode("utf-8"))
        append_lines(records, written)  # at a line boundary, flushed and synced before the next batch
        if progress is not None:
            progress(reused + start + len(batch), len(items))
    ordered = [done[(item.id, item.prompt_hash)] for item in items]
    scored = [_scored(record, item) for record, item in zip(ordered, items, strict=True)]
    report = score_examples(scored, metrics, ids=ids, seed=seed)
    outcome = EvaluationResult(
        format=fmt.name,
        format_version=fmt.version,
        system_prompt_source=fmt.system_prompt_source,
        chat_template_sha256=template_sha256(tokenizer),
        model=model,
        examples=len(items),
        reused=reused,
        skipped=skipped,
        metrics=report,
        constrained=constrained,
        seed=seed,
    )
    if results is not None:
        write_atomically(results, outcome.model_dump_json(indent=2))
    return outcome


def scored_example(item: EvalItem, parsed: ParseResult) -> ScoredExample:
    """``parsed`` as an example the metrics score against ``item``'s reference."""
    conversation = item.conversation
    return ScoredExample(
        reference=item.reference, prediction=parsed, tools=conversation.tools, metadata=conversation.metadata
    )


def _scored(record: EvalRecord, item: EvalItem) -> ScoredExample:
    failure = ParseFailure(record.failure) if record.failure else None
    return scored_example(item, ParseResult(record.prediction, failure, record.detail))


def parse_generation(generation: Generation, fmt: ChatFormat, item: EvalItem) -> tuple[str, ParseResult]:
    """The text of ``generation`` under ``fmt`` and its strict parse against ``item``'s tools: calls a server
    returned natively (``tool_calls``) are written in the format first, so they parse back. Text that is not
    valid Unicode (a lone surrogate) is made valid first
    (:meth:`~slmswap.evaluation.backend.Generation.with_valid_text`)."""
    generation = generation.with_valid_text()
    if generation.error is not None:
        return "", ParseResult(None, ParseFailure.BACKEND_ERROR, generation.error)
    text = generation.text
    if generation.tool_calls:
        # Calls an API returned natively are written in the format, so they parse back (the round-trip law); a
        # format that cannot write calls keeps the text, and the prediction has none.
        with contextlib.suppress(FormatError):
            text = fmt.render_assistant(Message.assistant(content=text or None, tool_calls=generation.tool_calls))
    return text, fmt.parse(text, tools=item.conversation.tools)


def _record(
    item: EvalItem,
    generation: Generation,
    fmt: ChatFormat,
    metrics: Sequence[Metric] | None,
    model: str | None,
    constrained: bool,
) -> EvalRecord:
    valid = generation.with_valid_text()
    text, parsed = parse_generation(valid, fmt, item)
    example = scored_example(item, parsed)
    return EvalRecord(
        id=item.id,
        prompt_hash=item.prompt_hash,
        raw_output=text,
        ok=parsed.ok,
        failure=parsed.failure.value if parsed.failure else None,
        detail=parsed.detail,
        forgiven=list(parsed.forgiven),
        prediction=parsed.turn,
        scores={m.name: m.score(example) for m in (metrics if metrics is not None else default_metrics())},
        issues=issues(example),
        seconds=generation.seconds,
        tokens=generation.tokens,
        threads=generation.threads,
        model=model,
        constrained=constrained,
        reference=_reference_text(item, fmt),
        repaired_text=valid is not generation,
    )


def _reference_text(item: EvalItem, fmt: ChatFormat) -> str | None:
    try:
        return fmt.render_assistant(item.reference)
    except FormatError:
        return None

"""``curate``: from traffic, logs or a relabelling run to ``train.jsonl``, ``test.jsonl`` and
``curation.json``.

The steps, in order: read the sources (:mod:`~slmswap.curation.sources`); drop invalid examples with their
reason (:mod:`~slmswap.curation.validity`); collapse exact duplicates to their majority answer and measure the
LLM's agreement with itself (:mod:`~slmswap.curation.duplicates`); group near-duplicates
(:mod:`~slmswap.curation.near_duplicates`); cap dominant tools (``max_per_tool``); split stratified by tool with
whole groups on one side (:mod:`~slmswap.curation.split`); write the splits as OpenAI chat rows, and the report
(:mod:`~slmswap.curation.report`).
"""

from __future__ import annotations

import json
import random
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._files import write_atomically
from slmswap.curation._memo import PerTools
from slmswap.curation.duplicates import collapse, self_agreement
from slmswap.curation.example import DropReason, Example
from slmswap.curation.near_duplicates import DEFAULT_THRESHOLD, NUM_PERM, SHINGLE_WORDS, group_near_duplicates, shingles
from slmswap.curation.report import (
    CURATION_FILE,
    Collapsed,
    CurationCounts,
    CurationReport,
    CurationSettings,
    Disagreement,
    Dropped,
    LeakageFigures,
    Relabelling,
    ToolRow,
    write_curation,
)
from slmswap.curation.sources import read_sources
from slmswap.curation.split import (
    MIN_EXAMPLES_PER_TOOL,
    random_split_leakage,
    split_groups,
    stratum_label,
    tool_labels,
)
from slmswap.curation.validity import check_example, validity_checks
from slmswap.data.openai import openai_message
from slmswap.errors import ConfigError
from slmswap.metrics import canonical_turn
from slmswap.models import DEFAULT_MODEL

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["TEST_FILE", "TRAIN_FILE", "Curation", "curate"]

TRAIN_FILE = "train.jsonl"
TEST_FILE = "test.jsonl"


@dataclass(frozen=True)
class Curation:
    """What :func:`curate` wrote, and how long it took."""

    report: CurationReport
    """The contents of ``curation.json``."""
    train: Path
    test: Path
    curation: Path
    seconds: float
    """Wall time of the whole curation."""
    minhash_seconds: float
    """Of which, MinHash hashing and LSH."""


def _tools_of(example: Example) -> frozenset[str]:
    message = example.answer.message
    return frozenset(call.name for call in message.tool_calls) if message is not None else frozenset()


def curate(
    sources: str | Path | Sequence[str | Path],
    out: str | Path,
    *,
    test_fraction: float = 0.2,
    seed: int = 0,
    near_duplicates: float = DEFAULT_THRESHOLD,
    max_per_tool: int | None = None,
    min_examples_per_tool: int = MIN_EXAMPLES_PER_TOOL,
    tokenizer: PreTrainedTokenizerBase | str | None = DEFAULT_MODEL,
) -> Curation:
    """Curate ``sources`` into ``out``: ``train.jsonl`` and ``test.jsonl`` (OpenAI chat rows, loadable by every
    command) and ``curation.json`` (:class:`~slmswap.curation.report.CurationReport`).

    Args:
        sources: Data files (any shape slmswap loads; OpenAI rows may carry ``finish_reason`` and ``error``),
            ``demo:train``, or a run directory written by :func:`~slmswap.curation.relabel` (its teacher's
            answers become the labels).
        out: The output directory (created).
        test_fraction: The share of examples held out, per stratum.
        seed: Seeds the split, the cap and the random split the leakage is measured on.
        near_duplicates: The Jaccard similarity (of word-bigram shingles of user and tool text) from which two
            requests are near-duplicates, kept on one side.
        max_per_tool: At most this many examples per stratum (set of tools called); near-duplicates go first.
        min_examples_per_tool: Tools with fewer examples are rare: kept in training and listed.
        tokenizer: Whose special tokens' text counts as control-token text (a tokenizer, or a model name or
            path; ``None`` skips the check).

    Raises:
        ConfigError: A setting out of range, or a source that does not exist.
        DataError: A source whose shape cannot be told.
    """
    started = time.perf_counter()
    if max_per_tool is not None and max_per_tool < 1:
        raise ConfigError(f"max_per_tool must be at least 1, got {max_per_tool}")
    if not 0 < test_fraction < 1:
        raise ConfigError(f"the test fraction must be between 0 and 1, got {test_fraction}")
    listed = [sources] if isinstance(sources, (str, Path)) else list(sources)
    read = read_sources(listed)
    loaded, control_tokens_of = _tokenizer(tokenizer)
    dropped = [Dropped(id=row.id, reason=DropReason.UNREADABLE.value, detail=row.detail) for row in read.unreadable]
    dropped += [
        Dropped(id=example_id, reason=DropReason.NOT_RELABELLED.value, detail="no teacher answer in the run")
        for example_id in read.unanswered
    ]
    valid: list[Example] = []
    checks = validity_checks(loaded)
    for example in read.examples:
        finding = check_example(example, checks)
        if finding is None:
            valid.append(example)
        else:
            dropped.append(Dropped(id=example.id, reason=finding.reason.value, detail=finding.detail))
    duplicate_groups = collapse(valid)
    unique = [group.kept for group in duplicate_groups]
    near = group_near_duplicates([shingles(e.request) for e in unique], threshold=near_duplicates)
    kept_index = _cap(unique, near.groups, max_per_tool, seed)
    dropped += [
        Dropped(id=unique[i].id, reason=DropReason.OVER_MAX_PER_TOOL.value, detail=f"over {max_per_tool} per tool")
        for i in range(len(unique))
        if i not in kept_index
    ]
    kept = [unique[i] for i in sorted(kept_index)]
    kept_groups = [near.groups[i] for i in sorted(kept_index)]
    strata = [_tools_of(e) for e in kept]
    split = split_groups(
        strata, kept_groups, test_fraction=test_fraction, seed=seed, min_examples=min_examples_per_tool
    )
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"train": out / TRAIN_FILE, "test": out / TEST_FILE, "curation": out / CURATION_FILE}
    _write_rows(paths["train"], [e for e, held in zip(kept, split.test, strict=True) if not held])
    _write_rows(paths["test"], [e for e, held in zip(kept, split.test, strict=True) if held])
    group_of_unique = dict(zip((g.kept.id for g in duplicate_groups), near.groups, strict=True))
    valid_groups = [group_of_unique[g.kept.id] for g in duplicate_groups for _ in (g.kept, *g.others)]
    leak = random_split_leakage(valid_groups, test_fraction=test_fraction, seed=seed)
    sides = {(group, held) for group, held in zip(kept_groups, split.test, strict=True)}
    members: dict[int, list[str]] = {}
    for example, group in zip(unique, near.groups, strict=True):
        members.setdefault(group, []).append(example.id)
    near_groups = [ids for ids in members.values() if len(ids) > 1]
    reasons = Counter(row.reason for row in dropped)
    report = CurationReport(
        sources=[str(source) for source in listed],
        labels="teacher" if read.relabelled else "recorded",
        labels_note=_labels_note(read.relabelled),
        settings=CurationSettings(
            test_fraction=test_fraction,
            seed=seed,
            near_duplicate_threshold=near_duplicates,
            max_per_tool=max_per_tool,
            min_examples_per_tool=min_examples_per_tool,
            shingle_words=SHINGLE_WORDS,
            num_perm=NUM_PERM,
            lsh_bands=near.bands,
            lsh_rows=near.rows,
            control_tokens_of=control_tokens_of,
        ),
        counts=CurationCounts(
            read=len(read.examples) + len(read.unreadable) + len(read.unanswered),
            dropped={reason.value: reasons[reason.value] for reason in DropReason if reasons[reason.value]},
            valid=len(valid),
            exact_duplicates=len(valid) - len(unique),
            unique=len(unique),
            near_duplicate_groups=len(near_groups),
            near_duplicates=sum(len(ids) - 1 for ids in near_groups),
            kept=len(kept),
            train=split.test.count(False),
            test=split.test.count(True),
        ),
        dropped=dropped,
        duplicates=[Collapsed(id=other.id, into=g.kept.id) for g in duplicate_groups for other in g.others],
        near_duplicate_groups=near_groups,
        tools=_tool_table(strata, split.test, set(split.rare)),
        rare_tools=split.rare,
        one_sided_tools=split.one_sided,
        leakage=LeakageFigures(
            straddling_groups=sum(1 for group, held in sides if held and (group, False) in sides),
            random_split_leaked_test_examples=leak.test_examples,
            random_split_test_examples=leak.of_test,
            random_split_leaked_pairs=leak.pairs,
        ),
        self_agreement=self_agreement(duplicate_groups),
        relabelling=_relabelling(valid) if read.relabelled else None,
    )
    write_curation(report, paths["curation"])
    return Curation(
        report,
        paths["train"],
        paths["test"],
        paths["curation"],
        seconds=time.perf_counter() - started,
        minhash_seconds=near.minhash_seconds,
    )


def _tokenizer(tokenizer: PreTrainedTokenizerBase | str | None) -> tuple[PreTrainedTokenizerBase | None, str | None]:
    if tokenizer is None:
        return None, None
    if isinstance(tokenizer, str):
        from slmswap.models import load_tokenizer

        return load_tokenizer(tokenizer), tokenizer
    return tokenizer, str(getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__)


def _cap(examples: Sequence[Example], groups: Sequence[int], max_per_tool: int | None, seed: int) -> set[int]:
    """The positions kept under ``max_per_tool`` per stratum: one example of each near-duplicate group first
    (in a seeded random order), then the second of each, and so on."""
    if max_per_tool is None:
        return set(range(len(examples)))
    rng = random.Random(seed)
    rank_in_group: Counter[int] = Counter()
    by_stratum: dict[str, list[tuple[int, float, int]]] = {}
    for index, example in enumerate(examples):
        rank = rank_in_group[groups[index]]
        rank_in_group[groups[index]] += 1
        by_stratum.setdefault(stratum_label(_tools_of(example)), []).append((rank, rng.random(), index))
    return {index for ranked in by_stratum.values() for _, _, index in sorted(ranked)[:max_per_tool]}


def _write_rows(path: Path, examples: Sequence[Example]) -> None:
    """The examples as OpenAI chat rows (``id``, ``messages``, ``tools``), one per line."""
    tools_json = PerTools(lambda tools: json.dumps([tool.to_openai() for tool in tools], ensure_ascii=False))
    lines = []
    for example in examples:
        answer = example.answer.message
        turns = (*example.request.messages, *((answer,) if answer is not None else ()))
        row = json.dumps({"id": example.id, "messages": [openai_message(m) for m in turns]}, ensure_ascii=False)
        tools = example.request.tools
        # the tools' JSON is written once per tool list: requests share it, and it is most of a row's bytes
        lines.append(f'{row[:-1]}, "tools": {tools_json(tools)}}}\n' if tools else row + "\n")
    write_atomically(path, "".join(lines))


def _tool_table(strata: Sequence[frozenset[str]], test: Sequence[bool], rare: set[str]) -> dict[str, ToolRow]:
    counts: dict[str, list[int]] = {}
    for tools, held in zip(strata, test, strict=True):
        for label in tool_labels(tools):
            counts.setdefault(label, [0, 0])[held] += 1
    return {
        label: ToolRow(examples=train + held, train=train, test=held, rare=label in rare)
        for label, (train, held) in sorted(counts.items(), key=lambda item: (-sum(item[1]), item[0]))
    }


def _labels_note(relabelled: bool) -> str:
    if relabelled:
        return (
            "The labels are the teacher's answers (a relabelling run): the teacher is the ceiling on this data, "
            "and a model scored against them is scored on its agreement with the teacher."
        )
    return (
        "The labels are the answers the sources recorded. Where those are the LLM's own answers (traffic, logs), "
        "the LLM is the ceiling on this data, not a baseline to beat: a model scored against them is scored on "
        "its agreement with the LLM, and the LLM's agreement with itself bounds what any model can reach."
    )


def _relabelling(valid: Sequence[Example]) -> Relabelling:
    compared = [e for e in valid if e.original is not None]
    disagreements = []
    for example in compared:
        label = canonical_turn(example.answer.message) if example.answer.message is not None else ""
        original = example.original.message if example.original is not None else None
        text = canonical_turn(original) if original is not None else "(no answer)"
        if text != label:
            disagreements.append(Disagreement(id=example.id, original=text, label=label))
    return Relabelling(compared=len(compared), agreed=len(compared) - len(disagreements), disagreements=disagreements)

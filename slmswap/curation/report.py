"""``curation.json``: everything a curation did, so nothing is lost silently and every number can be checked.

The counts and each dropped id with its reason; each exact duplicate and the example it collapsed into; the
near-duplicate groups; a table per tool (examples, train, test, rare); the leakage figures (the groups
straddling the split, which is none, and what a random split would have leaked); the LLM's agreement with
itself; and, for a relabelled run, the answers the teacher changed. The file is written atomically and read
back by :func:`read_curation` (``slmswap report --curation`` shows it).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from slmswap._files import read_json_model, write_atomically
from slmswap.curation.duplicates import SelfAgreement
from slmswap.errors import ConfigError

__all__ = [
    "CURATION_FILE",
    "Collapsed",
    "CurationCounts",
    "CurationReport",
    "CurationSettings",
    "Disagreement",
    "Dropped",
    "LeakageFigures",
    "Relabelling",
    "ToolRow",
    "read_curation",
    "write_curation",
]

CURATION_FILE = "curation.json"
"""The report's name in a curation's output directory (beside ``train.jsonl`` and ``test.jsonl``)."""

_MODEL = ConfigDict(frozen=True, extra="forbid")


class CurationSettings(BaseModel):
    """What the curation was asked to do."""

    model_config = _MODEL

    test_fraction: float
    seed: int
    near_duplicate_threshold: float
    max_per_tool: int | None
    min_examples_per_tool: int
    shingle_words: int
    num_perm: int
    lsh_bands: int
    lsh_rows: int
    control_tokens_of: str | None
    """The tokenizer whose special tokens' text the control-token check looked for (``None``: not checked)."""


class CurationCounts(BaseModel):
    """How many examples each step saw and kept."""

    model_config = _MODEL

    read: int
    """Rows in the sources (readable or not)."""
    dropped: dict[str, int]
    """Per reason (:class:`~slmswap.curation.DropReason`), the examples dropped."""
    valid: int
    """Examples that passed validity."""
    exact_duplicates: int
    """Valid examples collapsed into another with the same normalised request."""
    unique: int
    """Distinct requests among the valid examples."""
    near_duplicate_groups: int
    """Groups of two or more unique requests."""
    near_duplicates: int
    """Unique requests in those groups beyond the first of each."""
    kept: int
    train: int
    test: int


class Dropped(BaseModel):
    """One example left out, and why."""

    model_config = _MODEL

    id: str
    reason: str
    detail: str


class Collapsed(BaseModel):
    """An exact duplicate and the example it collapsed into."""

    model_config = _MODEL

    id: str
    into: str


class ToolRow(BaseModel):
    """One tool's examples (an example calling two tools counts for both; ``(no call)`` for answers without)."""

    model_config = _MODEL

    examples: int
    train: int
    test: int
    rare: bool
    """Too few examples (or one near-duplicate group) to be on both sides: kept in training."""


class LeakageFigures(BaseModel):
    """Whether the held-out side holds near-copies of training examples."""

    model_config = _MODEL

    straddling_groups: int
    """Near-duplicate groups with members on both sides of this split (zero by construction; checked)."""
    random_split_leaked_test_examples: int
    """Of a random split of the valid examples (same fraction and seed), the test examples with a duplicate or
    near-duplicate in its training side."""
    random_split_test_examples: int
    random_split_leaked_pairs: int
    """(train, test) pairs of such a random split inside one group."""


class Disagreement(BaseModel):
    """A request whose teacher label differs from its original answer."""

    model_config = _MODEL

    id: str
    original: str
    """The original answer, in canonical form (or why there was none)."""
    label: str
    """The teacher's answer, in canonical form."""


class Relabelling(BaseModel):
    """How the teacher's labels compare with the answers the data held."""

    model_config = _MODEL

    compared: int
    agreed: int
    disagreements: list[Disagreement]


class CurationReport(BaseModel):
    """The contents of ``curation.json``."""

    model_config = _MODEL

    version: Literal[1] = 1
    sources: list[str]
    labels: Literal["recorded", "teacher"]
    """``recorded``: the answers the sources hold (for traffic or logs, the LLM's own); ``teacher``: a
    relabelling run's answers."""
    labels_note: str
    """What the labels mean for a comparison with the LLM, in one sentence (the report quotes it)."""
    settings: CurationSettings
    counts: CurationCounts
    dropped: list[Dropped]
    duplicates: list[Collapsed]
    near_duplicate_groups: list[list[str]]
    """The ids of each group of two or more (the first is the group's earliest example)."""
    tools: dict[str, ToolRow]
    rare_tools: list[str]
    one_sided_tools: list[str]
    """Tools that are not rare yet are on one side only (groups tie them to other tools); normally empty."""
    leakage: LeakageFigures
    self_agreement: SelfAgreement
    relabelling: Relabelling | None = None


def write_curation(report: CurationReport, path: Path) -> None:
    """Write ``report`` to ``path`` as indented JSON (atomically)."""
    write_atomically(path, report.model_dump_json(indent=2) + "\n")


def read_curation(path: str | Path) -> CurationReport:
    """A ``curation.json`` read back: the file itself, or the curation output directory holding it."""
    path = Path(path)
    if path.is_dir():
        path = path / CURATION_FILE
    if not path.is_file():
        raise ConfigError(f"{path}: no such file (a curation output directory holds {CURATION_FILE})")
    return read_json_model(CurationReport, path)

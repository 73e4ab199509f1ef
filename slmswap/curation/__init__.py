"""Curation: from traffic, logs or a relabelling run to a dataset you can trust.

:func:`curate` drops invalid examples with their reasons, collapses exact duplicates (keeping the majority
answer and measuring the LLM's agreement with itself), groups near-duplicates with MinHash LSH so that no group
straddles the split, splits stratified by tool, and writes ``train.jsonl``, ``test.jsonl`` and ``curation.json``.
:func:`relabel` asks a stronger model (a teacher) to answer the data's prompts, as an evaluation run that
:func:`curate` then takes its labels from.
"""

from slmswap.curation.example import Answer, DropReason, Example, Unreadable
from slmswap.curation.pipeline import TEST_FILE, TRAIN_FILE, Curation, curate
from slmswap.curation.report import CURATION_FILE, CurationReport, read_curation
from slmswap.curation.sources import CONVERSATIONS_FILE, read_sources

__all__ = [
    "CONVERSATIONS_FILE",
    "CURATION_FILE",
    "TEST_FILE",
    "TRAIN_FILE",
    "Answer",
    "Curation",
    "CurationReport",
    "DropReason",
    "Example",
    "Unreadable",
    "curate",
    "read_curation",
    "read_sources",
]

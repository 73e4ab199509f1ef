"""Near-duplicates: requests that differ in a name, a date, a number, grouped so that a group never straddles
train and test.

A request's shingles are the word bigrams of its user and tool text (lower-cased; the system prompt and the
tool specs are left out, as many requests share them). Two requests are near-duplicates when the Jaccard
similarity of their shingle sets reaches the threshold; groups are the connected components of that relation.

Candidate pairs come from MinHash LSH (``datasketch``, not a home-made one), with bands and rows chosen so
that a pair right at the threshold is missed with a probability under :data:`MISS_PROBABILITY`; each candidate
pair is then confirmed by its exact Jaccard similarity, so LSH's false positives never merge groups. The bands
are indexed :data:`BANDS_PER_PASS` at a time, one pass after another (a pair is a candidate when it collides in
any band, so the passes find what one index of every band would), which bounds the index's memory.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass

from slmswap.errors import ConfigError
from slmswap.schema import Conversation

__all__ = [
    "BANDS_PER_PASS",
    "DEFAULT_THRESHOLD",
    "MISS_PROBABILITY",
    "NUM_PERM",
    "SHINGLE_WORDS",
    "NearDuplicates",
    "group_near_duplicates",
    "jaccard",
    "shingles",
]

DEFAULT_THRESHOLD = 0.6
"""The Jaccard similarity of shingle sets from which two requests count as near-duplicates."""
SHINGLE_WORDS = 2
"""Words per shingle."""
NUM_PERM = 128
"""MinHash permutations per request."""
BANDS_PER_PASS = 14
"""LSH bands indexed at once (the bands are indexed in passes, to bound memory)."""
MISS_PROBABILITY = 1e-4
"""The most likely LSH is to miss a pair whose similarity is exactly the threshold (higher similarity: less)."""
_SEED = 1
_WORD = re.compile(r"\w+")


def shingles(request: Conversation) -> frozenset[str]:
    """The word bigrams of ``request``'s user and tool text (one shingle for a one-word text, none for none)."""
    words = [
        word
        for message in request.messages
        if message.role in ("user", "tool")
        for word in _WORD.findall((message.content or "").lower())
    ]
    if len(words) < SHINGLE_WORDS:
        return frozenset({" ".join(words)}) if words else frozenset()
    return frozenset(" ".join(words[i : i + SHINGLE_WORDS]) for i in range(len(words) - SHINGLE_WORDS + 1))


def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    """The Jaccard similarity of two shingle sets (0 when both are empty)."""
    shared = len(a & b)
    union = len(a) + len(b) - shared
    return shared / union if union else 0.0


@dataclass(frozen=True)
class NearDuplicates:
    """The near-duplicate groups of a list of requests."""

    groups: list[int]
    """Per request (in the order given), its group's number; requests with no near-duplicate have their own."""
    bands: int
    rows: int
    """The LSH shape used (``bands * rows`` permutations)."""
    minhash_seconds: float
    """Time spent hashing and querying MinHash LSH (the rest is confirming candidates)."""
    candidates: int
    """Candidate pairs LSH proposed and the exact similarity checked."""


def lsh_shape(threshold: float, num_perm: int = NUM_PERM) -> tuple[int, int]:
    """Bands and rows for ``threshold``: the most rows per band (the fewest false candidates) for which a pair at
    the threshold is missed with probability at most :data:`MISS_PROBABILITY`."""
    for rows in range(num_perm // 2, 0, -1):  # two bands at least (one is no LSH at all)
        bands = num_perm // rows
        if (1 - threshold**rows) ** bands <= MISS_PROBABILITY:
            return bands, rows
    return num_perm, 1


def group_near_duplicates(
    sets: Sequence[frozenset[str]], *, threshold: float = DEFAULT_THRESHOLD, num_perm: int = NUM_PERM
) -> NearDuplicates:
    """Group shingle sets whose Jaccard similarity reaches ``threshold`` (transitively)."""
    if not 0 < threshold <= 1:
        raise ConfigError(f"the near-duplicate threshold is a Jaccard similarity in (0, 1], got {threshold}")
    try:
        from datasketch import LeanMinHash, MinHash, MinHashLSH
    except ImportError:
        raise ConfigError("grouping near-duplicates needs datasketch: pip install 'slmswap[curate]'") from None

    bands, rows = lsh_shape(threshold, num_perm)
    started = time.perf_counter()
    hashed = MinHash.generator(  # one at a time, sharing the permutations; only their hash values are kept
        ([s.encode("utf-8") for s in shingle_set] for shingle_set in sets), num_perm=num_perm, seed=_SEED
    )
    signatures, scheme = [], None
    for minhash in hashed:
        signatures.append(minhash.hashvalues)
        scheme = minhash.scheme
    parent = list(range(len(sets)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    confirming = 0.0
    candidates = 0
    passes = -(-bands // BANDS_PER_PASS)
    for number in range(passes):
        # the bands in passes, at most BANDS_PER_PASS at a time: the same candidates as one index of all of them
        # (a pair is one when it collides in any band), a fraction of its memory
        first = bands * number // passes
        width = bands * (number + 1) // passes - first
        lsh = MinHashLSH(num_perm=width * rows, params=(width, rows))
        columns = slice(first * rows, (first + width) * rows)
        for i, shingle_set in enumerate(sets):
            if not shingle_set:
                continue  # no user or tool text: like nothing else
            minhash = LeanMinHash(seed=_SEED, hashvalues=signatures[i][columns], scheme=scheme)
            found = lsh.query(minhash)
            tick = time.perf_counter()
            mine = root(i)
            for j in found:
                theirs = root(j)
                if theirs != mine:
                    candidates += 1
                    if jaccard(shingle_set, sets[j]) >= threshold:
                        low, high = (mine, theirs) if mine < theirs else (theirs, mine)
                        parent[high] = low
                        mine = low
            confirming += time.perf_counter() - tick
            lsh.insert(i, minhash, check_duplication=False)
        del lsh
    minhash_seconds = time.perf_counter() - started - confirming
    roots = [root(i) for i in range(len(sets))]
    numbers: dict[int, int] = {}
    return NearDuplicates(
        [numbers.setdefault(r, len(numbers)) for r in roots], bands, rows, minhash_seconds, candidates
    )

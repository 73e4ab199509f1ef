"""``slmswap curate`` and ``slmswap relabel``: from traffic or logs to train/test splits that tell the truth."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from slmswap.cli._common import EXIT_OK, Command, add_model_arguments, count, progress_bar
from slmswap.models import DEFAULT_MODEL


def _in_unit_interval(expected: str, *, one_included: bool) -> Callable[[str], float]:
    """An argparse type: a number in (0, 1), or (0, 1] with ``one_included``; ``expected`` says which."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not (0 < value <= 1 if one_included else 0 < value < 1):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


_fraction = _in_unit_interval("a number between 0 and 1", one_included=False)
_similarity = _in_unit_interval("a similarity in (0, 1]", one_included=True)


def _curate_arguments(parser: argparse.ArgumentParser) -> None:
    from slmswap.curation.near_duplicates import DEFAULT_THRESHOLD
    from slmswap.curation.split import MIN_EXAMPLES_PER_TOOL

    parser.add_argument(
        "sources",
        nargs="+",
        metavar="SOURCE",
        help="data files (any supported shape; OpenAI rows may carry finish_reason and error), demo:train, or a "
        "run directory written by 'slmswap relabel' (its teacher's answers become the labels)",
    )
    parser.add_argument("--out", metavar="DIR", required=True, help="where train.jsonl, test.jsonl, curation.json go")
    parser.add_argument("--test-fraction", type=_fraction, default=0.2, help="share held out (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seeds the split and the cap (default: 0)")
    parser.add_argument(
        "--near-duplicates",
        type=_similarity,
        default=DEFAULT_THRESHOLD,
        metavar="THRESHOLD",
        help="Jaccard similarity of word-bigram shingles (user and tool text) from which two requests are "
        f"near-duplicates, kept on one side (default: {DEFAULT_THRESHOLD})",
    )
    parser.add_argument(
        "--max-per-tool", type=count, default=None, metavar="N", help="at most N examples per set of tools called"
    )
    parser.add_argument(
        "--min-examples-per-tool",
        type=count,
        default=MIN_EXAMPLES_PER_TOOL,
        metavar="N",
        help=f"tools with fewer examples are rare: kept in training, listed (default: {MIN_EXAMPLES_PER_TOOL})",
    )
    parser.add_argument(
        "--model",
        default=DEFAULT_MODEL,
        help=f"the model to train: its special tokens' text in the data is dropped (default: {DEFAULT_MODEL})",
    )
    parser.add_argument(
        "--no-control-token-check", action="store_true", help="do not look for special tokens' text (no tokenizer)"
    )


def _curate(args: argparse.Namespace) -> int:
    from slmswap.curation import curate
    from slmswap.curation.section import curation_markdown

    curation = curate(
        args.sources,
        args.out,
        test_fraction=args.test_fraction,
        seed=args.seed,
        near_duplicates=args.near_duplicates,
        max_per_tool=args.max_per_tool,
        min_examples_per_tool=args.min_examples_per_tool,
        tokenizer=None if args.no_control_token_check else args.model,
    )
    print(curation_markdown(curation.report).rstrip("\n"))
    print(f"\nwrote {curation.train}, {curation.test} and {curation.curation} in {curation.seconds:.1f} s")
    return EXIT_OK


CURATE = Command(
    "curate",
    "turn traffic, logs or a relabelling run into train/test splits without leakage (and curation.json)",
    "Drop invalid examples with their reason (upstream errors, truncations, calls of tools not offered, "
    "arguments against the schema, empty answers, control-token text), collapse exact duplicates to the "
    "majority answer (the LLM's agreement with itself is measured), group near-duplicates (MinHash LSH) so no "
    "group straddles the split, and split stratified by tool. Writes train.jsonl and test.jsonl (OpenAI rows) "
    "and curation.json (every dropped id with its reason); 'slmswap report --curation DIR' shows it.",
    _curate_arguments,
    _curate,
)


def _relabel_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("sources", nargs="+", metavar="DATA", help="data files or logs whose requests are relabelled")
    parser.add_argument("--out", metavar="RUN", required=True, help="the run directory (resumed if interrupted)")
    parser.add_argument("--api-base", metavar="URL", required=True, help="the teacher's OpenAI-compatible API")
    parser.add_argument("--api-model", metavar="NAME", required=True, help="the teacher (Azure: deployment) name")
    parser.add_argument(
        "--api-key-env", default="OPENAI_API_KEY", help="variable holding the key (default: %(default)s)"
    )
    parser.add_argument("--api-version", default=None, help="Azure OpenAI API version (switches to Azure's URLs)")
    parser.add_argument("--concurrency", type=count, default=8, help="requests in flight (default: 8)")
    parser.add_argument("--max-new-tokens", type=count, default=512, help="longest answer (default: 512)")
    add_model_arguments(parser)


def _relabel(args: argparse.Namespace) -> int:
    from slmswap.curation.relabel import relabel
    from slmswap.evaluation.openai import OpenAIBackend
    from slmswap.evaluation.report import report_summary
    from slmswap.trained.manifest import setup_for

    tokenizer, fmt = setup_for(args.model, args.format)
    with (
        OpenAIBackend(
            args.api_base,
            args.api_model,
            api_key_env=args.api_key_env,
            api_version=args.api_version,
            concurrency=args.concurrency,
            max_tokens=args.max_new_tokens,
            send="conversation",
        ) as teacher,
        progress_bar(f"relabelling with {args.api_model}") as advance,
    ):
        run = relabel(args.sources, args.out, teacher.generate, tokenizer, fmt, model=args.api_model, progress=advance)
    print(report_summary([run]))
    print(f"the teacher's answers are in {args.out}; next: slmswap curate {args.out} --out DIR")
    return EXIT_OK


RELABEL = Command(
    "relabel",
    "have a stronger model (a teacher) answer the data's requests, as a resumable evaluation run",
    "An evaluation run of the teacher (any OpenAI-compatible API) on the requests the data holds, sent as the "
    "application sent them (its system prompt, tools through tools=). The run directory keeps the data, so "
    "'slmswap curate RUN' takes the teacher's answers as labels, keeps the originals beside them and lists the "
    "disagreements. Running the same command again resumes.",
    _relabel_arguments,
    _relabel,
)

COMMANDS = (CURATE, RELABEL)

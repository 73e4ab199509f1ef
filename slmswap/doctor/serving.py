"""The doctor's ``serving_parity`` check on an exported directory: the served prompt equals the trained one on
sample conversations and the exported parser recovers their calls; given a running server, the prompt it
counts is as long as the trained prompt, token for token."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from slmswap.doctor.result import CheckResult, Status
from slmswap.schema import Conversation
from slmswap.trained.manifest import Manifest

__all__ = ["serving_check"]

_CHECK = "serving_parity"


def serving_check(
    output_dir: Path,
    conversations: Sequence[Conversation],
    *,
    api_base: str | None = None,
    api_model: str | None = None,
) -> CheckResult:
    """``serving_parity`` on ``output_dir`` (skipped unless it is an exported directory)."""
    from slmswap.serving.parity import serving_parity

    if Manifest.load(output_dir).export is None:
        return CheckResult(_CHECK, Status.SKIP, "not an exported directory (slmswap export writes one)")
    fix = "re-export with this slmswap (slmswap export MODEL_DIR OUT --merge) and serve the exported directory"
    report = serving_parity(output_dir, conversations)
    if not report.ok:
        return CheckResult(_CHECK, Status.FAIL, report.mismatches[0], fix, report.mismatches[1:])
    reason = (
        f"{report.prompts} served prompt(s) equal the trained ones token for token; {report.parsed} rendered "
        "target(s) parse back into their calls"
    )
    if api_base is None:
        return CheckResult(_CHECK, Status.PASS, reason)
    differences = _server_differences(output_dir, conversations, api_base, api_model or str(output_dir))
    if differences:
        return CheckResult(
            _CHECK,
            Status.FAIL,
            f"the server at {api_base} counts other prompt lengths than training: {differences[0]}",
            "serve the exported directory itself (slmswap serve OUT), not the base model or the training output",
            tuple(differences[1:]),
        )
    return CheckResult(_CHECK, Status.PASS, f"{reason}; the server at {api_base} counts the same prompt lengths")


def _server_differences(
    output_dir: Path, conversations: Sequence[Conversation], api_base: str, api_model: str
) -> list[str]:
    from slmswap.evaluation.openai import OpenAIBackend
    from slmswap.evaluation.prompts import eval_items
    from slmswap.trained.manifest import load_trained_tokenizer

    tokenizer = load_trained_tokenizer(output_dir)
    fmt = Manifest.load(output_dir).trained_format(tokenizer)
    items, _ = eval_items(conversations, tokenizer, fmt)
    backend = OpenAIBackend(api_base, api_model, max_tokens=1, send="conversation", max_retries=1)
    try:
        generations = backend.generate([item.prompt for item in items])
    finally:
        backend.close()
    differences = []
    for item, generation in zip(items, generations, strict=True):
        trained = len(tokenizer(item.prompt.text, add_special_tokens=False)["input_ids"])
        if generation.prompt_tokens != trained:
            differences.append(f"example {item.id}: {generation.prompt_tokens} tokens served, {trained} trained")
    return differences

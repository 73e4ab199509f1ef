"""The end-to-end demo on the embedded default model, with no network: doctor, base evaluation, LoRA
fine-tune, tuned evaluation, and a report comparing the two with confidence intervals.

``slmswap demo`` runs it; :func:`run_demo` is the same in Python. The data is the bundled demo dataset
(:mod:`slmswap.data.demo`); everything is written under one directory::

    slmswap-demo/
      train.yaml        the training job, re-runnable with `slmswap train slmswap-demo/train.yaml`
      adapter/          the LoRA adapter, tokenizer and manifest (slmswap.json)
      runs/base/        the base model's records.jsonl and results.json
      runs/tuned/       the fine-tuned model's
      report/           report.md and report.html
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from slmswap.data.demo import load_demo_dataset
from slmswap.doctor import DoctorReport, diagnose
from slmswap.evaluate.generation import TransformersGenerator
from slmswap.evaluate.report import Run, report_summary, write_report
from slmswap.evaluate.rundir import evaluate_into
from slmswap.formats.registry import resolve_format
from slmswap.models import DEFAULT_MODEL, load_model, load_tokenizer
from slmswap.templates.tokenize import TokenizeOptions
from slmswap.train.config import TrainConfig
from slmswap.train.job import TrainJob

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["DemoOptions", "DemoOutcome", "run_demo"]

Progress = Callable[[str], Callable[[int, int], None] | None]
"""Given a description, returns a ``(done, total)`` callback for that stage's progress (or ``None``)."""


class DemoOptions(BaseModel):
    """How big the demo is. The defaults take about ten minutes on two CPU cores."""

    model_config = ConfigDict(extra="forbid")

    out: Path = Field(default=Path("slmswap-demo"), description="Directory everything is written to.")
    format: str = Field(default="hermes", description="Chat format to train and evaluate with.")
    steps: int = Field(default=40, gt=0, description="LoRA optimizer steps.")
    batch_size: int = Field(default=8, gt=0, description="Training examples per step.")
    learning_rate: float = Field(default=1e-3, gt=0, description="Peak learning rate.")
    train_examples: int | None = Field(default=None, gt=0, description="Use only the first N training examples.")
    test_examples: int = Field(default=60, gt=0, description="Held-out examples evaluated before and after.")
    max_new_tokens: int = Field(default=96, gt=0, description="Longest generated answer.")
    seed: int = Field(default=42, description="Training seed.")


class DemoOutcome(BaseModel):
    """What the demo produced."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    out: Path
    report: dict[str, Path]
    base: Run
    tuned: Run
    doctor: DoctorReport
    seconds: float


def run_demo(
    options: DemoOptions | None = None,
    *,
    say: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> DemoOutcome:
    """Run the demo; ``say`` receives where it is, ``progress`` gives evaluation progress bars."""
    options = options or DemoOptions()
    say = say or _print
    started = time.perf_counter()
    out = options.out

    def stage(number: int, text: str) -> None:
        say(f"[{number}/6 · {time.perf_counter() - started:5.0f}s] {text}")

    def evaluate(model: Any, tokenizer: PreTrainedTokenizerBase, label: str) -> Run:
        generator = TransformersGenerator(model, tokenizer, max_new_tokens=options.max_new_tokens)
        callback = progress(f"evaluating {label}") if progress else None
        directory = out / "runs" / label
        return evaluate_into(directory, test, generator.generate, tokenizer, fmt, model=label, progress=callback)

    stage(1, f"loading {DEFAULT_MODEL} and the bundled demo data")
    tokenizer = load_tokenizer()
    fmt = resolve_format(options.format, tokenizer=tokenizer)
    train = load_demo_dataset("train")[: options.train_examples]
    test = load_demo_dataset("test")[: options.test_examples]
    say(f"    {len(train)} training and {len(test)} held-out conversations; format {fmt.name!r}")

    stage(2, "doctor: checking the setup before any work")
    preflight = diagnose(tokenizer=tokenizer, fmt=fmt, conversations=train, options=TokenizeOptions())
    say(_indent(preflight.render()))
    if not preflight.ok:
        raise RuntimeError("the setup checks failed; see above")

    stage(3, f"evaluating the base model on {len(test)} held-out examples")
    base_model: Any = load_model()
    base = evaluate(base_model.eval(), tokenizer, "base")
    say(_indent(_headline(base)))

    adapter = out / "adapter"
    job = TrainJob(
        train="demo:train",
        eval="demo:test",
        format=options.format,
        config=TrainConfig(
            output_dir=adapter,
            max_steps=options.steps,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            logging_steps=5,
            eval_examples=8,
            eval_max_new_tokens=options.max_new_tokens,
            seed=options.seed,
        ),
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "train.yaml").write_text(job.to_yaml(), encoding="utf-8")
    stage(4, f"fine-tuning with LoRA: {options.steps} steps of {options.batch_size} (job in {out / 'train.yaml'})")
    from slmswap.train.trainer import Trainer, load_trained

    Trainer(train, test, tokenizer=tokenizer, model=load_model(), format=fmt, config=job.config).train()

    stage(5, "evaluating the fine-tuned model (its format restored from the adapter's manifest)")
    model, tuned_tokenizer, _, _ = load_trained(adapter)
    tuned = evaluate(model, tuned_tokenizer, "tuned")
    say(_indent(_headline(tuned)))

    stage(6, "doctor on the outcome, and the report")
    doctor = diagnose(tokenizer=tokenizer, fmt=fmt, output_dir=adapter, runs=[tuned], baseline=base)
    say(_indent(doctor.render()))
    paths = write_report([base, tuned], out / "report", title="slmswap demo: SmolLM2-135M-Instruct, base vs LoRA")
    say(report_summary([base, tuned]))
    seconds = time.perf_counter() - started
    say(f"done in {seconds / 60:.1f} min: open {paths['html']} (or {paths['markdown']})")
    return DemoOutcome(out=out, report=dict(paths), base=base, tuned=tuned, doctor=doctor, seconds=seconds)


def _print(text: str) -> None:
    print(text, flush=True)  # where the demo is must show at once, also when the output is piped to a log


def _headline(run: Run) -> str:
    values = run.result.metrics.values
    shown = ("valid_output", "tool_name_match", "arguments_exact_match", "exact_match")
    return ", ".join(f"{name} {values[name].value:.2f}" for name in shown if name in values)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())

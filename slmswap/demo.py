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
      demo.json         each stage's wall time, peak resident memory and torch threads, and the headline metrics

Memory is handed back between stages (the base model is gone before training starts, the trainer before the
tuned model is loaded), and each stage ends with a line giving its time and peak resident memory. The stages that
run the model are CPU phases (``slmswap._threads.cpu_phase``): the torch thread count follows the cores other
work leaves free (``threads`` pins it), and each stage's counts and changes are in ``demo.json``.
"""

from __future__ import annotations

import json
import math
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field

from slmswap._display import format_duration
from slmswap._files import write_atomically
from slmswap._memory import StagePeak, peak_rss, release
from slmswap._threads import cpu_phase
from slmswap.data.demo import DemoSplit, demo_dataset_text
from slmswap.doctor import DoctorReport, diagnose
from slmswap.errors import CheckError
from slmswap.evaluation.generation import TransformersBackend
from slmswap.evaluation.prompts import answer_budget, eval_items
from slmswap.evaluation.report import Run, report_summary
from slmswap.evaluation.report_files import write_report
from slmswap.evaluation.rundir import evaluate_into
from slmswap.models import DEFAULT_MODEL, load_model
from slmswap.train.config import TrainConfig
from slmswap.train.job import TrainJob
from slmswap.trained.history import append_history, read_history

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["DemoOptions", "DemoOutcome", "DemoStage", "Progress", "run_demo", "write_job"]

Progress = Callable[[str], AbstractContextManager[Callable[[int, int], None] | None]]
"""Given a stage's description, a context (e.g. a progress bar) yielding its ``(done, total)`` callback."""


class DemoOptions(BaseModel):
    """How big the demo is. The defaults take about ten minutes on two CPU cores."""

    model_config = ConfigDict(extra="forbid")

    out: Path = Field(default=Path("slmswap-demo"), description="Directory everything is written to.")
    format: str = Field(default="hermes", description="Chat format to train and evaluate with.")
    steps: int = Field(default=96, gt=0, description="LoRA optimizer steps.")
    batch_size: int = Field(default=2, gt=0, description="Training examples per step.")
    learning_rate: float = Field(default=2e-3, gt=0, description="Peak learning rate.")
    train_examples: int | None = Field(default=None, gt=0, description="Use only the first N training examples.")
    test_examples: int = Field(default=40, gt=0, description="Held-out examples evaluated before and after.")
    max_new_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Longest generated answer; None: the longest held-out reference answer plus a margin.",
    )
    threads: int | None = Field(
        default=None,
        gt=0,
        description="Torch CPU threads while evaluating and training (None: the free cores, followed as they change).",
    )
    seed: int = Field(default=42, description="Training seed.")
    constrained: bool = Field(
        default=True,
        description="Evaluate base and tuned with constrained decoding (the format's grammar for the offered tools; "
        "needs the 'constrained' extra).",
    )
    curve_points: int = Field(
        default=6,
        ge=2,
        description="Points of the report's held-out curves: step 0 (the base evaluation: LoRA starts as the "
        "identity), the scorings of the held-out slice while training, and the final step (the tuned evaluation); "
        "the loss is logged twice as often.",
    )


class DemoStage(BaseModel):
    """One stage of the demo: what it did, its wall time and the peak resident memory it reached."""

    model_config = ConfigDict(frozen=True)

    name: str
    seconds: float
    peak_rss_bytes: int
    threads: dict[str, Any] | None = None
    """The torch thread policy's record of a stage that ran the model (source, seconds at each count, changes;
    ``slmswap._threads.ThreadPolicy.record``); ``None`` for the others."""


class DemoOutcome(BaseModel):
    """What the demo produced."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    out: Path
    """The directory everything was written to."""
    report: dict[str, Path]
    """The report's paths: ``markdown`` and ``html``."""
    base: Run
    """The base model's evaluation."""
    tuned: Run
    """The fine-tuned model's evaluation."""
    doctor: DoctorReport
    """The doctor's verdict on the outcome."""
    seconds: float
    """Wall time."""
    stages: list[DemoStage] = Field(default_factory=list)
    """Each stage's time and peak memory (also in ``demo.json``)."""


def write_job(options: DemoOptions) -> Path:
    """Write the demo's training job (``train.yaml``, and the data slices it names when the options take only
    part of a split) into ``options.out``; return the job file's path. Paths in it are relative to it."""
    out = options.out
    out.mkdir(parents=True, exist_ok=True)
    sources = {}
    limits: dict[DemoSplit, int | None] = {"train": options.train_examples, "test": options.test_examples}
    for split, limit in limits.items():
        lines = demo_dataset_text(split).splitlines(keepends=True)
        if limit is None or limit >= len(lines):
            sources[split] = f"demo:{split}"
            continue
        write_atomically(out / "data" / f"{split}.jsonl", "".join(lines[:limit]))
        sources[split] = f"data/{split}.jsonl"
    job = TrainJob(
        train=sources["train"],
        eval=sources["test"],
        format=options.format,
        config=TrainConfig(
            output_dir=Path("adapter"),
            max_steps=options.steps,
            batch_size=options.batch_size,
            learning_rate=options.learning_rate,
            logging_steps=max(1, options.steps // (2 * options.curve_points)),
            eval_steps=math.ceil(options.steps / (options.curve_points - 1)),
            eval_examples=8,
            eval_max_new_tokens=options.max_new_tokens,
            eval_at_end=False,  # the demo evaluates the final model on the whole held-out split right after
            threads=options.threads,
            seed=options.seed,
            checkpoints=False,  # no optimizer checkpoint left in the adapter directory
        ),
    )
    path = out / "train.yaml"
    write_atomically(path, job.to_yaml())
    return path


def run_demo(
    options: DemoOptions | None = None,
    *,
    say: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> DemoOutcome:
    """Run the demo; ``say`` receives where it is, ``progress`` gives evaluation progress bars.

    Raises :class:`~slmswap.errors.CheckError` when the setup checks fail (nothing is trained then).
    """
    options = options or DemoOptions()
    say = say or _print
    started = time.perf_counter()
    out = options.out
    stages: list[DemoStage] = []

    @contextmanager
    def stage(number: int, text: str, *, phase: str | None = None) -> Iterator[None]:
        say(f"[{number}/6 · {time.perf_counter() - started:5.0f}s] {text}")
        begun = time.perf_counter()
        threads = None
        with StagePeak() as memory:
            if phase is None:
                yield
            else:
                with cpu_phase(options.threads, name=phase) as policy:
                    yield
                threads = policy.record()
        record = DemoStage(name=text, seconds=time.perf_counter() - begun, peak_rss_bytes=memory.peak, threads=threads)
        stages.append(record)
        used = f", torch threads {' -> '.join(str(c['threads']) for c in threads['changes'])}" if threads else ""
        say(f"    done in {format_duration(record.seconds)}, peak memory {record.peak_rss_bytes / 2**30:.2f} GB{used}")

    def evaluate(model: Any, tokenizer: PreTrainedTokenizerBase, label: str) -> Run:
        generator = TransformersBackend(model, tokenizer, max_new_tokens=budget, threads=options.threads)
        directory = out / "runs" / label
        shutil.rmtree(directory, ignore_errors=True)  # answers of an earlier demo's model must not be reused
        with (progress or _no_progress)(f"evaluating {label}") as advance:
            return evaluate_into(
                directory,
                test,
                generator.generate,
                tokenizer,
                fmt,
                model=label,
                batch_size=len(test),
                progress=advance,
                constrained=options.constrained,
            )

    with stage(1, f"loading {DEFAULT_MODEL} and the bundled demo data"):
        job_file = write_job(options)
        job = TrainJob.from_yaml(job_file)
        tokenizer = job.load_tokenizer()
        fmt = job.load_format(tokenizer)
        train, test = job.load_train(), job.load_eval()
        budget = options.max_new_tokens or answer_budget(eval_items(test, tokenizer, fmt)[0], tokenizer, fmt)
        say(f"    {len(train)} training and {len(test)} held-out conversations; format {fmt.name!r}")

    with stage(2, "doctor: checking the setup before any work"):
        preflight = diagnose(tokenizer=tokenizer, fmt=fmt, conversations=train, options=job.config.tokenize_options())
        say(_indent(preflight.render()))
    if not preflight.ok:
        raise CheckError("the setup checks failed (see above): nothing was trained")

    decoding = ", constrained to the format's grammar" if options.constrained else ""
    with stage(
        3,
        f"evaluating the base model on {len(test)} held-out examples (answers up to {budget} tokens{decoding})",
        phase="evaluation",
    ):
        base_model: Any = load_model(job.model)
        base = evaluate(base_model.eval(), tokenizer, "base")
        del base_model  # not needed again: its memory goes back before training
        release()
        say(_indent(_headline(base)))

    with stage(
        4,
        f"fine-tuning with LoRA: {options.steps} steps of {options.batch_size} (the job: {job_file})",
        phase="training",
    ):
        from slmswap.trained.load import load_trained

        trainer = job.trainer(tokenizer=tokenizer, train=train)
        trainer.train()
        del trainer  # the model, optimizer state and data of training are not needed to evaluate the adapter
        release()

    with stage(
        5, "evaluating the fine-tuned model (its format restored from the adapter's manifest)", phase="evaluation"
    ):
        adapter = job.config.output_dir
        model, tuned_tokenizer, _, _ = load_trained(adapter)
        tuned = evaluate(model, tuned_tokenizer, "tuned")
        slice_ids = {item.id for item in eval_items(test[: job.config.eval_examples], tokenizer, fmt)[0]}
        _close_curves(adapter, base, tuned, slice_ids)
        del model
        release()
        say(_indent(_headline(tuned)))

    with stage(6, "doctor on the outcome, and the report"):
        doctor = diagnose(
            tokenizer=tokenizer,
            fmt=fmt,
            conversations=train,
            options=job.config.tokenize_options(),
            output_dir=adapter,
            runs=[tuned],
            baseline=base,
        )
        say(_indent(doctor.render()))
        paths = write_report(
            [base, tuned],
            out / "report",
            title="slmswap demo: SmolLM2-135M-Instruct, base vs LoRA",
            history=read_history(adapter),
        )
        say(report_summary([base, tuned]))
    seconds = time.perf_counter() - started
    _write_summary(out / "demo.json", stages, seconds, base, tuned)
    say(f"done in {seconds / 60:.1f} min: open {paths['html']} (or {paths['markdown']})")
    return DemoOutcome(
        out=out, report=dict(paths), base=base, tuned=tuned, doctor=doctor, seconds=seconds, stages=stages
    )


def _write_summary(path: Path, stages: list[DemoStage], seconds: float, base: Run, tuned: Run) -> None:
    """``demo.json``: the stages' times and peak memory, and the headline metrics of both runs."""
    summary = {
        "seconds": seconds,
        "peak_rss_bytes": max((stage.peak_rss_bytes for stage in stages), default=0),
        "process_peak_rss_bytes": peak_rss(),  # what /usr/bin/time -v reports as the maximum resident set size
        "stages": [stage.model_dump() for stage in stages],
        "metrics": {run.label: _values(run) for run in (base, tuned)},
    }
    write_atomically(path, json.dumps(summary, indent=2) + "\n")


def _close_curves(adapter: Path, base: Run, tuned: Run, slice_ids: set[str]) -> None:
    """Give the held-out curves their two ends from the evaluations either side of training, restricted to the
    slice scored while training (``slice_ids``): step 0 is the base model (a LoRA adapter starts as the
    identity), the final step the tuned model. Neither model is generated on twice (training skips its final
    scoring, ``eval_at_end`` off)."""
    history = read_history(adapter)
    if not history.entries:
        return
    final = max(history.entries, key=lambda entry: entry["step"])
    ends = {0.0: (0.0, base), final["step"]: (final.get("epoch", 0.0), tuned)}
    for step, (epoch, run) in ends.items():
        scores = _slice_scores(run, slice_ids)
        if scores:
            append_history(adapter, {"step": step, "epoch": epoch, **scores})


def _slice_scores(run: Run, wanted: set[str]) -> dict[str, float]:
    """Each metric of ``run`` over the examples in ``wanted``, ``eval_``-prefixed as the training history logs it."""
    metrics = run.result.metrics
    result = {}
    for name, scores in metrics.scores.items():
        kept = [s for i, s in zip(metrics.example_ids, scores, strict=True) if i in wanted and s is not None]
        if kept:
            result[f"eval_{name}"] = sum(kept) / len(kept)
    return result


def _values(run: Run) -> dict[str, float]:
    return {name: metric.value for name, metric in run.result.metrics.values.items()}


def _no_progress(description: str) -> AbstractContextManager[None]:
    return nullcontext()


def _print(text: str) -> None:
    print(text, flush=True)  # where the demo is must show at once, also when the output is piped to a log


def _headline(run: Run) -> str:
    values = run.result.metrics.values
    shown = ("valid_call", "abstention", "tool_name_match", "arguments_exact_match", "exact_match")
    return ", ".join(f"{name} {values[name].value:.2f}" for name in shown if name in values)


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())

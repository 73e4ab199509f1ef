"""Running a bake-off: for each format, evaluate the base model with the format's prompts, fine-tune with the
shared recipe, evaluate the tuned model (and the LLM baseline) on the same held-out conversations; then rank
and compare the formats and write the report.

Everything lives under one directory::

    OUT/
      recipe.json       the options every rerun into OUT must share
      <format>/
        base/  tuned/  llm/     run directories (records.jsonl, results.json)
        train/                  the training output (adapter, tokenizer, manifest slmswap.json, history.jsonl)
        report/                 the offline report of this format's runs (slmswap report)
        error.txt               what stopped the format, with its traceback (only while it fails)
      report.md  report.html    the bake-off's report
      bakeoff.json              everything (BakeoffResult), with the wall time

**Resumable**: a run directory whose ``results.json`` exists is read back, not evaluated again (one without is
resumed from its records); a training output whose manifest exists is not trained again (one without, left by an
interrupted training, is trained afresh, and the tuned run of an earlier adapter is dropped with it).
**Fault-contained**: an exception while one format trains or is evaluated is recorded as its error, and the
other formats go on.
"""

from __future__ import annotations

import json
import shutil
import time
import traceback
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from slmswap._files import write_atomically
from slmswap._memory import release
from slmswap._threads import cpu_phase
from slmswap.bakeoff.options import BakeoffOptions
from slmswap.bakeoff.report import write_bakeoff_report
from slmswap.bakeoff.results import BakeoffResult, FormatOutcome, RunLabel, format_outcome, rank
from slmswap.data.named import DEMO_PREFIX, load_data
from slmswap.demo import Progress
from slmswap.errors import ConfigError
from slmswap.evaluation.choice import BackendChoice, choose_backend
from slmswap.evaluation.prompts import answer_budget, eval_items
from slmswap.evaluation.report import Run
from slmswap.evaluation.report_files import write_report
from slmswap.evaluation.rundir import RESULTS_FILE, evaluate_into, load_run_dir
from slmswap.evaluation.runner import PROMPTS_PER_CALL
from slmswap.formats.registry import available_formats, resolve_format
from slmswap.models import load_tokenizer
from slmswap.schema import Conversation
from slmswap.train.config import TrainConfig
from slmswap.train.trainer import Trainer
from slmswap.trained.history import read_history
from slmswap.trained.manifest import is_trained

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

__all__ = ["ERROR_FILE", "RECIPE_FILE", "RESULT_FILE", "load_splits", "run_bakeoff"]

RECIPE_FILE = "recipe.json"
RESULT_FILE = "bakeoff.json"
ERROR_FILE = "error.txt"


def load_splits(options: BakeoffOptions) -> tuple[list[Conversation], list[Conversation]]:
    """The training and held-out conversations the options name (see the option ``test``)."""
    conversations = load_data(options.data, base=options.base)
    test_source = options.test
    if test_source is None and options.data.startswith(DEMO_PREFIX):
        test_source = f"{DEMO_PREFIX}test"
    if test_source is not None:
        train, test = conversations, load_data(test_source, base=options.base)[: options.test_examples]
    else:
        if len(conversations) <= options.test_examples:
            raise ConfigError(
                f"{options.data}: {len(conversations)} conversation(s), too few to hold out test_examples="
                f"{options.test_examples} and train on the rest (give held-out data with --test)"
            )
        train, test = conversations[: -options.test_examples], conversations[-options.test_examples :]
    return train[: options.train_examples], test


def _check(options: BakeoffOptions) -> None:
    """Refuse what no format could run with, before any work: unknown formats, an API without its model, a rerun
    into a directory of another experiment."""
    known = available_formats()
    unknown = [name for name in options.formats if name not in known]
    if unknown:
        raise ConfigError(f"formats: unknown {', '.join(unknown)}; known: {', '.join(known)} (see: slmswap formats)")
    if options.api_base and not options.api_model:
        raise ConfigError("api_base needs api_model (the API's name for the model)")
    recipe_file = options.out / RECIPE_FILE
    if recipe_file.is_file():
        earlier = json.loads(recipe_file.read_text(encoding="utf-8"))
        changed = sorted(key for key, value in options.recipe().items() if earlier.get(key) != value)
        if changed:
            raise ConfigError(
                f"{options.out} holds a bake-off with other {', '.join(changed)} (see {recipe_file}): a rerun "
                "resumes the same experiment; give another --out for a new one"
            )


def run_bakeoff(
    options: BakeoffOptions,
    *,
    say: Callable[[str], None] | None = None,
    progress: Progress | None = None,
) -> BakeoffResult:
    """Run the bake-off the options describe, resuming what an earlier run into the same output directory
    finished, and write its report and ``bakeoff.json``; ``say`` receives where it is, ``progress`` gives
    evaluation progress bars. A format that fails is recorded with its error (:attr:`FormatOutcome.error`); check
    :attr:`BakeoffResult.ok`.

    Raises:
        ConfigError: Unknown formats, an API base without a model, or an output directory holding a bake-off with
            another recipe.
        DataError: Data that cannot be read.
    """
    say = say or _print
    started = time.perf_counter()
    _check(options)
    train, test = load_splits(options)
    options.out.mkdir(parents=True, exist_ok=True)
    write_atomically(options.out / RECIPE_FILE, json.dumps(options.recipe(), indent=2) + "\n")
    tokenizer = load_tokenizer(options.model)
    say(f"{len(train)} training and {len(test)} held-out conversations; formats {', '.join(options.formats)}")
    outcomes: list[FormatOutcome] = []
    tuned: dict[str, Run] = {}
    metric = options.metric
    for number, name in enumerate(options.formats, 1):
        say(f"[{number}/{len(options.formats)} · {time.perf_counter() - started:5.0f}s] format {name}")
        begun = time.perf_counter()
        directory = options.out / name
        try:
            runs = _run_format(name, directory, options, tokenizer, train, test, say, progress)
            outcome = format_outcome(name, directory, runs, metric, time.perf_counter() - begun)
        except Exception as exc:  # a failing format is recorded and the others go on (fault containment)
            directory.mkdir(parents=True, exist_ok=True)
            write_atomically(directory / ERROR_FILE, "".join(traceback.format_exception(exc)))
            outcomes.append(
                FormatOutcome(
                    format=name,
                    directory=directory,
                    error=f"{type(exc).__name__}: {exc}",
                    seconds=time.perf_counter() - begun,
                )
            )
            say(f"    FAILED: {type(exc).__name__}: {exc} (traceback in {directory / ERROR_FILE})")
            continue
        finally:
            release()
        (directory / ERROR_FILE).unlink(missing_ok=True)
        outcomes.append(outcome)
        tuned[name] = runs["tuned"]
        metric = metric or (outcome.tuned_vs_base.metric if outcome.tuned_vs_base else None)
        say(f"    {_headline(outcome)}")
    ranking, pairs = rank(tuned, metric) if metric is not None else ([], [])
    result = BakeoffResult(
        options=options.model_dump(mode="json"),
        metric=metric,
        formats=outcomes,
        ranking=ranking,
        pairs=pairs,
        seconds=time.perf_counter() - started,
    )
    result = result.model_copy(update={"report": write_bakeoff_report(result, options.out)})
    write_atomically(options.out / RESULT_FILE, result.model_dump_json(indent=2) + "\n")
    say(f"done in {result.seconds / 60:.1f} min: open {result.report['html']} (or {result.report['markdown']})")
    return result


def _run_format(
    name: str,
    directory: Path,
    options: BakeoffOptions,
    tokenizer: PreTrainedTokenizerBase,
    train: list[Conversation],
    test: list[Conversation],
    say: Callable[[str], None],
    progress: Progress | None,
) -> dict[RunLabel, Run]:
    """One format's runs: base, tuned (after training) and the LLM's, each read back when already finished."""
    fmt = resolve_format(name, tokenizer=tokenizer)
    budget = options.max_new_tokens or answer_budget(eval_items(test, tokenizer, fmt)[0], tokenizer, fmt)

    def local(model: str, format: str | None = None) -> BackendChoice:
        return choose_backend(
            model=model,
            format=format,
            max_new_tokens=budget,
            constrained=options.constrained,
            threads=options.threads,
        )

    def evaluated(label: RunLabel, choose: Callable[[], BackendChoice]) -> Run:
        run_dir = directory / label
        if (run_dir / RESULTS_FILE).is_file():
            say(f"    {label}: finished earlier ({run_dir})")
            return load_run_dir(run_dir)
        choice = choose()
        phase: AbstractContextManager[object] = (
            cpu_phase(options.threads, name="evaluation") if label != "llm" else nullcontext()
        )
        with phase, (progress or _no_progress)(f"{name}: evaluating {label}") as advance:
            run = evaluate_into(
                run_dir,
                test,
                choice.generate,
                choice.tokenizer,
                choice.fmt,
                model=choice.name,
                batch_size=PROMPTS_PER_CALL,
                progress=advance,
                constrained=options.constrained and label != "llm",
            )
        del choice
        release()
        return run

    runs: dict[RunLabel, Run] = {}
    runs["base"] = evaluated("base", lambda: local(options.model, name))
    output = directory / "train"
    if not is_trained(output):
        shutil.rmtree(output, ignore_errors=True)  # what an interrupted training left
        shutil.rmtree(directory / "tuned", ignore_errors=True)  # answers of another adapter must not be reused
        say(f"    training: {options.steps} steps of {options.batch_size}, seed {options.seed}")
        Trainer(train, model=options.model, tokenizer=tokenizer, format=fmt, config=_config(options, output)).train()
        release()
    runs["tuned"] = evaluated("tuned", lambda: local(str(output)))
    if options.api_base:
        runs["llm"] = evaluated(
            "llm",
            lambda: choose_backend(
                model=options.model,
                format=name,
                max_new_tokens=budget,
                api_base=options.api_base,
                api_model=options.api_model,
                api_key_env=options.api_key_env,
            ),
        )
    write_report(
        list(runs.values()),
        directory / "report",
        title=f"slmswap bake-off, format {name}: base vs tuned" + (" vs LLM" if "llm" in runs else ""),
        history=read_history(output),
    )
    return runs


def _config(options: BakeoffOptions, output: Path) -> TrainConfig:
    """The training recipe every format shares."""
    return TrainConfig(
        output_dir=output,
        max_steps=options.steps,
        batch_size=options.batch_size,
        learning_rate=options.learning_rate,
        logging_steps=max(1, options.steps // 12),
        eval_at_end=False,  # the tuned evaluation scores the final model on the whole held-out split
        threads=options.threads,
        seed=options.seed,
        checkpoints=False,
    )


def _headline(outcome: FormatOutcome) -> str:
    row = outcome.tuned_vs_base
    if row is None:
        return "finished"
    return (
        f"{row.metric}: base {row.a:.3f}, tuned {row.b:.3f} ({row.difference:+.3f} [{row.low:+.3f}, {row.high:+.3f}])"
    )


def _no_progress(description: str) -> AbstractContextManager[None]:
    return nullcontext()


def _print(text: str) -> None:
    print(text, flush=True)

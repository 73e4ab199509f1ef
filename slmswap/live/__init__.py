"""The live verdict: whether the small model can take over from the LLM, judged on paired live traffic.

The gateway's shadow mode sends each request to both models; each paired answer is scored (the LLM's answer is
the reference), every agreement figure carries an anytime-valid 95 % confidence sequence (Waudby-Smith and
Ramdas's betting sequences), and one verdict against a bar says "cut over", "not yet" or "stop". Unlike a fixed-n
interval, it may be checked after every request.
"""

from slmswap.live.agreement import LIVE_METRICS, Agreement, AgreementTable, agreement_table, scored_pair
from slmswap.live.confidence import ConfidenceSequence, confidence_sequence, exclusion_times, predictable_bets
from slmswap.live.exchange import (
    PairedExchange,
    is_store,
    parse_exchange,
    parse_time,
    read_exchanges,
    read_fallback_reasons,
    read_store,
)
from slmswap.live.html import live_html
from slmswap.live.report import LiveReport, live_verdict
from slmswap.live.traffic import Fallbacks, ModelTraffic, fallback_counts, fallbacks, model_traffic
from slmswap.live.verdict import DEFAULT_BAR, Bar, CutoverVerdict, Decision, decide, parse_bar

__all__ = [
    "DEFAULT_BAR",
    "LIVE_METRICS",
    "Agreement",
    "AgreementTable",
    "Bar",
    "ConfidenceSequence",
    "CutoverVerdict",
    "Decision",
    "Fallbacks",
    "LiveReport",
    "ModelTraffic",
    "PairedExchange",
    "agreement_table",
    "confidence_sequence",
    "decide",
    "exclusion_times",
    "fallback_counts",
    "fallbacks",
    "is_store",
    "live_html",
    "live_verdict",
    "model_traffic",
    "parse_bar",
    "parse_exchange",
    "parse_time",
    "predictable_bets",
    "read_exchanges",
    "read_fallback_reasons",
    "read_store",
    "scored_pair",
]

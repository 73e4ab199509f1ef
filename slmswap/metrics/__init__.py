"""Task metrics: score parsed predictions against references, with confidence intervals and paired comparison.

Falling loss says nothing about whether a model calls the right tool with the right arguments; these do.
"""

from slmswap.metrics.base import PLACEHOLDER_TEXT, Metric, MetricBase, MetricValue, ScoredExample, mean_value
from slmswap.metrics.bfcl import BfclAstMatch, bfcl_verdict
from slmswap.metrics.bfcl_checker import BfclVerdict, bfcl_check
from slmswap.metrics.scoring import (
    ACCURACY_METRICS,
    NO_CALL,
    Breakdown,
    Comparison,
    MetricsReport,
    Verdict,
    compare,
    default_metrics,
    metric_names,
    require_better,
    score_examples,
)
from slmswap.metrics.stats import Interval, bootstrap_mean, mcnemar_exact, paired_bootstrap_difference
from slmswap.metrics.task import (
    Abstention,
    ArgumentF1,
    ArgumentsExactMatch,
    CallPrecision,
    CallRecall,
    ExactMatch,
    ToolNameMatch,
    ValidCall,
    ValidOutput,
    canonical_turn,
    count_issue_kinds,
    flatten,
    issue_kind,
    issues,
)

__all__ = [
    "ACCURACY_METRICS",
    "NO_CALL",
    "PLACEHOLDER_TEXT",
    "Abstention",
    "ArgumentF1",
    "ArgumentsExactMatch",
    "BfclAstMatch",
    "BfclVerdict",
    "Breakdown",
    "CallPrecision",
    "CallRecall",
    "Comparison",
    "ExactMatch",
    "Interval",
    "Metric",
    "MetricBase",
    "MetricValue",
    "MetricsReport",
    "ScoredExample",
    "ToolNameMatch",
    "ValidCall",
    "ValidOutput",
    "Verdict",
    "bfcl_check",
    "bfcl_verdict",
    "bootstrap_mean",
    "canonical_turn",
    "compare",
    "count_issue_kinds",
    "default_metrics",
    "flatten",
    "issue_kind",
    "issues",
    "mcnemar_exact",
    "mean_value",
    "metric_names",
    "paired_bootstrap_difference",
    "require_better",
    "score_examples",
]

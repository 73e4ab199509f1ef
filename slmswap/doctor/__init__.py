"""The doctor: the production checklist of a small-model swap as checks, each pass / warn / fail with the
reason and the fix.

Before training it checks the setup: the chat template's special tokens are real, conversations render through
``tokenizer.apply_chat_template``, the evaluation prompt is token for token the training text before the answer,
the end-of-turn token is trained, and no example loses its target to truncation. After training and evaluation
it checks the outcome: the adapter was evaluated with the format it was trained with, held-out accuracy is
above zero (on enough examples for 0 to mean something), sample outputs are shown, and a baseline was run on
the very same prompts.
"""

from slmswap.doctor.checks import diagnose
from slmswap.doctor.outcome import accuracy
from slmswap.doctor.paths import diagnose_paths
from slmswap.doctor.result import CheckResult, DoctorReport, Status

__all__ = ["CheckResult", "DoctorReport", "Status", "accuracy", "diagnose", "diagnose_paths"]

"""How sure the model is of a whole document or sentence, for choosing what to annotate next.

MNLP (Shen et al., 2017): the log-probability of the predicted tag sequence divided by its length,
lowest first. Our taggers give each token the probability of its tag on the best valid path (the
encoder's word distribution, or the encoder pooled with the CRF), so the sequence's
log-probability is taken as the sum of those, as for a model whose tokens are predicted
independently. We report `exp(MNLP)`, the geometric mean of the tokens' probabilities: in (0, 1],
low = uncertain, the order Label Studio serves tasks in by their `score`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence

__all__ = ["sequence_confidence"]

_FLOOR = 1e-12  # a probability of 0 (a tag the CRF never saw) would make the logarithm -inf


def sequence_confidence(scores: Iterable[Sequence[float]]) -> float:
    """`exp(MNLP)` over all tokens of the given sentences (each a list of per-token probabilities).

    Length-normalised, so a long report is not less certain for being long. No token: 1.0 (nothing
    to annotate).
    """
    total, count = 0.0, 0
    for sentence in scores:
        for p in sentence:
            if not 0.0 <= p <= 1.0 + 1e-6:
                raise ValueError(f"token probability {p} is not in [0, 1]")
            total += math.log(max(p, _FLOOR))
            count += 1
    return math.exp(total / count) if count else 1.0

"""The risk matrix of the security risk analysis: likelihood x impact -> risk level.

Likelihood comes from the rule (how often the attack or failure is seen for systems shaped
like this one). Impact is the larger of what the finding's severity implies and what the data
it touches implies: ePHI at least major, other sensitive data at least moderate, because a
HIPAA analysis weighs harm to the confidentiality, integrity and availability of ePHI above
harm to other data. The product (1..12) maps to a level. A mitigated finding keeps its
inherent risk and gets a residual risk one likelihood step lower: its controls are declared,
not proven to remove the threat.
"""

from __future__ import annotations

from dataclasses import dataclass

LIKELIHOOD_SCORE = {"low": 1, "medium": 2, "high": 3}
IMPACT_SCORE = {"info": 1, "low": 1, "medium": 2, "high": 3, "critical": 4}
IMPACT_NAMES = {1: "minor", 2: "moderate", 3: "major", 4: "severe"}
#: Lowest impact by the most sensitive data a finding touches.
DATA_IMPACT = {"phi": 3, "sensitive": 2, "other": 1}
LEVELS: tuple[tuple[int, str], ...] = ((9, "critical"), (6, "high"), (3, "medium"), (1, "low"))


def level(score: int) -> str:
    """Risk level for a likelihood x impact product."""
    for floor, name in LEVELS:
        if score >= floor:
            return name
    return "low"


@dataclass(frozen=True)
class Risk:
    """A finding's likelihood, impact and resulting risk."""

    likelihood: int  # 1..3
    impact: int  # 1..4
    data: str  # 'phi', 'sensitive' or 'other': the most sensitive data the finding touches

    @property
    def score(self) -> int:
        """Likelihood x impact (1..12)."""
        return self.likelihood * self.impact

    @property
    def level(self) -> str:
        """low, medium, high or critical."""
        return level(self.score)

    def residual(self) -> Risk:
        """The same risk with likelihood one step lower (controls declared)."""
        return Risk(max(1, self.likelihood - 1), self.impact, self.data)


def assess(likelihood: str, severity: str, data: str) -> Risk:
    """Inherent risk of a finding from the rule's likelihood, its severity and its data."""
    impact = max(IMPACT_SCORE[severity], DATA_IMPACT[data])
    return Risk(LIKELIHOOD_SCORE[likelihood], impact, data)


def matrix_rows() -> list[tuple[str, list[str]]]:
    """The matrix as rows (likelihood high..low) of levels per impact (minor..severe)."""
    rows = []
    for name, lk in sorted(LIKELIHOOD_SCORE.items(), key=lambda kv: -kv[1]):
        rows.append((name, [level(lk * im) for im in sorted(IMPACT_NAMES)]))
    return rows

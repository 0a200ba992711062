"""Predictions and their regions, as Label Studio reads them."""

from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional


@dataclass
class Region:
    """One region of a result: ``{"from_name", "to_name", "type", "value", "score"}``."""

    from_name: str
    to_name: str
    type: str
    value: Dict[str, Any]
    score: Optional[float] = None

    @classmethod
    def choices(cls, from_name: str, to_name: str, choices: List[str]) -> "Region":
        """A ``Choices`` region."""
        return cls(from_name, to_name, "choices", {"choices": list(choices)})

    @classmethod
    def labels_span(
        cls, from_name: str, to_name: str, start: int, end: int, text: str, labels: List[str]
    ) -> "Region":
        """A ``Labels`` text span; ``start``/``end`` in UTF-16 units (see :mod:`wasml.text`)."""
        value = {"start": start, "end": end, "text": text, "labels": list(labels)}
        return cls(from_name, to_name, "labels", value)

    def with_score(self, score: float) -> "Region":
        """Sets the region's score."""
        self.score = score
        return self

    def to_json(self) -> Dict[str, Any]:
        """The region as Label Studio's JSON object."""
        out = {
            "from_name": self.from_name,
            "to_name": self.to_name,
            "type": self.type,
            "value": self.value,
        }
        if self.score is not None:
            out["score"] = self.score
        return out


@dataclass
class Prediction:
    """One task's prediction: regions and an overall score. Empty means nothing to suggest."""

    result: List[Region] = field(default_factory=list)
    score: Optional[float] = None

    def to_json(self) -> Dict[str, Any]:
        """The prediction as Label Studio's JSON object."""
        out: Dict[str, Any] = {"result": [r.to_json() for r in self.result]}
        if self.score is not None:
            out["score"] = self.score
        return out

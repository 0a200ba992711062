"""The project's label config, parsed by the host, with the lookups models need."""

from dataclasses import dataclass
from typing import List, Optional


@dataclass
class Input:
    """An object tag a control reads from, e.g. ``<Text name="text" value="$text"/>``."""

    name: str
    tag: str
    value: Optional[str]
    value_list: Optional[str]
    value_type: Optional[str]


@dataclass
class Control:
    """A control tag (``Choices``, ``Labels``...): its name, objects and labels in order."""

    name: str
    tag: str
    to_name: List[str]
    inputs: List[Input]
    labels: List[str]
    dynamic_labels: bool

    def input(self, name: str) -> Optional[Input]:
        """The object named ``name`` among this control's inputs."""
        return next((i for i in self.inputs if i.name == name), None)


@dataclass
class LabelConfig:
    """Every control of the label config, in document order, and the raw XML."""

    raw: str
    controls: List[Control]

    def control(self, name: str) -> Optional[Control]:
        """The control named ``name`` (a result's ``from_name``)."""
        return next((c for c in self.controls if c.name == name), None)

    def first_control(self, *tags: str) -> Optional[Control]:
        """The first control whose tag is one of ``tags`` (e.g. ``"Choices"``)."""
        return next((c for c in self.controls if c.tag in tags), None)

    @classmethod
    def from_wit(cls, config) -> "LabelConfig":
        """Converts the WIT record the host passes."""
        return cls(
            raw=config.raw,
            controls=[
                Control(
                    name=c.name,
                    tag=c.tag,
                    to_name=list(c.to_name),
                    inputs=[
                        Input(i.name, i.tag, i.value, i.value_list, i.value_type)
                        for i in c.inputs
                    ],
                    labels=[label.value for label in c.labels],
                    dynamic_labels=c.dynamic_labels,
                )
                for c in config.controls
            ],
        )

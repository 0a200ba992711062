"""The project's label config, parsed by the host, with the lookups models need."""

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple


@dataclass
class Input:
    """An object tag a control reads from, e.g. ``<Text name="text" value="$text"/>``."""

    name: str
    tag: str
    value: Optional[str]
    value_list: Optional[str]
    value_type: Optional[str]


@dataclass
class Label:
    """One label of a control (a ``<Label>``, ``<Choice>``...): its ``value`` (what
    annotations hold) and every attribute of the element, in document order."""

    value: str
    attributes: Dict[str, str] = field(default_factory=dict)

    def attribute(self, name: str) -> Optional[str]:
        """The value of attribute ``name`` (e.g. ``background``), or None."""
        return self.attributes.get(name)


def _normalise(name: str) -> str:
    # Class names compare without case, with `_` and `-` read as spaces, so a class
    # `figure_caption` finds a label `Figure caption`.
    return name.strip().replace("_", " ").replace("-", " ").lower()


class LabelMap:
    """A control's labels, looked up by a model's class names, as Label Studio's Python SDK
    maps them (``build_label_map``): ``<Choice value="Upside down" predicted_values="180"/>``
    takes the model's class ``180``. Built by :meth:`Control.label_map`."""

    def __init__(self, entries: List[Tuple[str, str]]):
        # (class, label): explicit predicted_values first, then each label's own value.
        self.entries = entries

    def label(self, name: str) -> Optional[str]:
        """The label for class ``name``: one that lists it in ``predicted_values`` (exactly,
        then normalised), else one whose value is the class name (exactly, then normalised).
        None when the config does not name the class."""
        for key, label in self.entries:
            if key == name:
                return label
        wanted = _normalise(name)
        for key, label in self.entries:
            if _normalise(key) == wanted:
                return label
        return None

    def __bool__(self) -> bool:
        return bool(self.entries)


@dataclass
class Control:
    """A control tag (``Choices``, ``Labels``...): its name, objects and labels in order
    (``labels`` holds their values, ``label_items`` the :class:`Label` s with attributes)."""

    name: str
    tag: str
    to_name: List[str]
    inputs: List[Input]
    labels: List[str]
    dynamic_labels: bool
    label_items: List[Label] = field(default_factory=list)

    def input(self, name: str) -> Optional[Input]:
        """The object named ``name`` among this control's inputs."""
        return next((i for i in self.inputs if i.name == name), None)

    def first_input(self, *tags: str) -> Optional[Input]:
        """The first of this control's objects whose tag is one of ``tags`` (any tag when
        none is given)."""
        return next((i for i in self.inputs if not tags or i.tag in tags), None)

    def label_map(self) -> LabelMap:
        """Its labels by a model's class names: see :class:`LabelMap`."""
        explicit, own = [], []
        for label in self.label_items:
            values = label.attribute("predicted_values")
            if values is not None:
                explicit += [(v.strip(), label.value) for v in values.split(",") if v.strip()]
            own.append((label.value, label.value))
        return LabelMap(explicit + own)


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
                    label_items=[
                        Label(label.value, {a.name: a.value for a in label.attributes})
                        for label in c.labels
                    ],
                )
                for c in config.controls
            ],
        )

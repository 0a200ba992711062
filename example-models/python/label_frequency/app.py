"""Label frequency: suggests, for every task, the choice annotators picked most often in the
project so far. A baseline for classification projects, and the smallest model that learns
from ``fit`` through the store.

The behaviour (store layout, tie-breaking, errors) matches the Rust, JavaScript and C builds
(``example-models/MODELS.md``).
"""

from collections import Counter

import wasml
from wasml import store

# Store keys of annotations start with this; the annotation id follows.
KEY_PREFIX = "annotation/"

SINGLE_EVENTS = ("ANNOTATION_CREATED", "ANNOTATION_UPDATED")
# Label Studio sends the plural; the reference spells the singular.
DELETE_EVENTS = ("ANNOTATIONS_DELETED", "ANNOTATION_DELETED")


class LabelFrequency(wasml.Model):
    name = "Label frequency"
    version = "1.0.0"
    description = "Suggests the choice annotators picked most often in the project (a baseline)."

    def predict(self, call, tasks, context):
        control = choices_control(call)
        counts = Counter()
        for key in store.list_keys(KEY_PREFIX):
            choices = stored_choices(key)
            counts.update(choices)
        total = sum(counts.values())
        if total == 0:
            return [wasml.Prediction() for _ in tasks]
        label = winner(counts, control.labels)
        score = counts[label] / total
        region = wasml.Region.choices(control.name, control.to_name[0], [label])
        return [wasml.Prediction([region.with_score(score)], score) for _ in tasks]

    def fit(self, call, event):
        control = choices_control(call)
        payload = event.payload
        trained = False
        if event.action in SINGLE_EVENTS:
            annotation = payload.get("annotation")
            annotation_id = integer_id(annotation)
            if annotation_id is None:
                raise wasml.InvalidInput("the annotation has no integer id")
            trained = remember(control, annotation_id, annotation)
        elif event.action == "ANNOTATIONS_CREATED":
            for annotation in event.annotation_list():
                annotation_id = integer_id(annotation)
                if annotation_id is not None:
                    trained |= remember(control, annotation_id, annotation)
        elif event.action in DELETE_EVENTS:
            for annotation in event.annotation_list():
                annotation_id = integer_id(annotation)
                if annotation_id is not None:
                    trained |= store.delete(f"{KEY_PREFIX}{annotation_id}")
        count = len(store.list_keys(KEY_PREFIX))
        return wasml.Fit({"annotations": count}, trained)


def choices_control(call):
    """The control this model predicts for: the first ``Choices`` that names an object."""
    for control in call.label_config.controls:
        if control.tag == "Choices" and control.to_name:
            return control
    raise wasml.UnsupportedConfig("label-frequency needs a Choices control")


def remember(control, annotation_id, annotation):
    """Stores the annotation's choices, or forgets the annotation when it was cancelled or
    chose nothing. True when the store changed."""
    key = f"{KEY_PREFIX}{annotation_id}"
    choices = choices_of(annotation, control.name)
    if annotation.get("was_cancelled") is True or not choices:
        return store.delete(key)
    store.set_json(key, choices)
    return True


def choices_of(annotation, from_name):
    """The strings of ``value.choices`` of the annotation's ``choices`` results for the
    control ``from_name``, in order."""
    results = annotation.get("result")
    if not isinstance(results, list):
        return []
    found = []
    for item in results:
        if not isinstance(item, dict):
            continue
        if item.get("from_name") != from_name or item.get("type") != "choices":
            continue
        value = item.get("value")
        choices = value.get("choices") if isinstance(value, dict) else None
        if isinstance(choices, list):
            found.extend(c for c in choices if isinstance(c, str))
    return found


def stored_choices(key):
    """The choices stored under ``key``; a value this model did not write counts for
    nothing rather than failing predict."""
    try:
        value = store.get_json(key)
    except ValueError:
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
        return []
    return value


def winner(counts, config_labels):
    """The most frequent label. Ties go to the label listed first in the config; unlisted
    labels rank after all listed ones, in code point order."""
    listed = [label for label in config_labels if label in counts]
    unlisted = sorted(label for label in counts if label not in config_labels)
    ranked = list(dict.fromkeys(listed)) + unlisted
    # max() keeps the first of equal counts: the earlier-ranked label.
    return max(ranked, key=lambda label: counts[label])


def integer_id(annotation):
    """The annotation's integer ``id``, or None."""
    if not isinstance(annotation, dict):
        return None
    value = annotation.get("id")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


WitWorld = wasml.export(LabelFrequency)

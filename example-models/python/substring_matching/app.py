"""Interactive NER, after Label Studio's substring-matching example: when the user labels a
span of text, every occurrence of that text in the task gets the same label.

Offsets are UTF-16 code units, as Label Studio's front end counts them (see ``wasml.text``).
The behaviour matches the Rust, JavaScript and C builds (``example-models/MODELS.md``).
"""

import wasml
from wasml.text import find_all_utf16, slice_utf16

# Matches copy the user's certainty about the text, not a model's.
MATCH_SCORE = 1.0


class SubstringMatching(wasml.Model):
    name = "Substring matching"
    version = "1.0.0"
    description = "Labels every occurrence of the text span the user just labeled (interactive)."
    interactive = True

    def predict(self, call, tasks, context):
        if context is None or not context.result:
            # Not interactive: nothing to match yet, but still one slot per task.
            return [wasml.Prediction() for _ in tasks]
        return [matches_in_task(call, task, context) for task in tasks]


def matches_in_task(call, task, context):
    """Every occurrence, in ``task``, of each labeled span of the context."""
    result = []
    for selected in context.result:
        span = text_span(selected["value"])
        if span is None or not span["labels"]:
            continue
        control = call.label_config.control(selected["from_name"])
        if control is None:
            continue
        to_name = selected["to_name"]
        source = control.input(to_name)
        if source is None:
            raise wasml.InvalidInput(f"no object named {to_name}")
        key = source.value or ""
        text = task.text(key)
        if text is None:
            raise wasml.InvalidInput(f'task data has no text at "{key}"')
        needle = span["text"] or slice_utf16(text, span["start"], span["end"])
        if not needle:
            continue
        for start, end in find_all_utf16(text, needle):
            region = wasml.Region.labels_span(
                selected["from_name"], to_name, start, end, needle, span["labels"][:1]
            )
            result.append(region.with_score(MATCH_SCORE))
    return wasml.Prediction(result, MATCH_SCORE)


def text_span(value):
    """``value`` as a text span (``start``, ``end``, ``text``, ``labels``), or None when it is
    not one."""
    if not isinstance(value, dict):
        return None
    start, end = value.get("start"), value.get("end")
    if not all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in (start, end)):
        return None
    text = value.get("text")
    labels = value.get("labels", [])
    if text is not None and not isinstance(text, str):
        return None
    if not isinstance(labels, list) or not all(isinstance(x, str) for x in labels):
        return None
    return {"start": start, "end": end, "text": text, "labels": labels}


WitWorld = wasml.export(SubstringMatching)

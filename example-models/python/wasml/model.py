"""The model base class and :func:`export`, which adapts a model to the WIT world."""

import json
import traceback
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Union

from componentize_py_types import Err
from wit_world.imports import types

from . import log
from .errors import InvalidInput, ModelError
from .labelconfig import LabelConfig
from .regions import Prediction


@dataclass
class Call:
    """What a call runs for: the project, its label config, the model version the host
    stamps, and the ``extra_params`` from Label Studio's backend settings."""

    project: str
    label_config: LabelConfig
    model_version: str
    extra_params: Any

    @classmethod
    def from_wit(cls, request) -> "Call":
        """Converts the WIT ``request`` record; ``extra_params`` is decoded when it is JSON."""
        params = request.extra_params
        if params is not None:
            try:
                params = json.loads(params)
            except ValueError:
                pass  # Not JSON: the text as typed.
        return cls(
            project=request.project,
            label_config=LabelConfig.from_wit(request.label_config),
            model_version=request.model_version,
            extra_params=params,
        )


@dataclass
class Task:
    """A Label Studio task: ``id``, ``data`` and the rest of the JSON object in ``raw``."""

    id: Optional[int]
    data: Dict[str, Any]
    raw: Dict[str, Any] = field(repr=False)

    def text(self, key: str) -> Optional[str]:
        """The string at ``data[key]``, or None when absent or not a string."""
        value = self.data.get(key)
        return value if isinstance(value, str) else None

    @classmethod
    def decode(cls, raw: str, index: int) -> "Task":
        """Decodes one task's JSON text; an unusable task is invalid input."""
        task = _object(raw, f"task {index}")
        data = task.get("data", {})
        if not isinstance(data, dict):
            raise InvalidInput(f"task {index}: data is not an object")
        task_id = task.get("id")
        return cls(id=task_id if isinstance(task_id, int) else None, data=data, raw=task)


@dataclass
class Context:
    """The interactive context: what the user just labeled (``result``) and who they are."""

    result: List[Dict[str, Any]]
    raw: Dict[str, Any] = field(repr=False)

    @classmethod
    def decode(cls, raw: str) -> "Context":
        """Decodes the context's JSON text; every result item must be a region."""
        context = _object(raw, "context")
        result = context.get("result") or []
        if not isinstance(result, list):
            raise InvalidInput("context: result is not a list")
        for i, item in enumerate(result):
            if not (
                isinstance(item, dict)
                and all(isinstance(item.get(k), str) for k in ("from_name", "to_name", "type"))
                and "value" in item
            ):
                raise InvalidInput(f"context: result {i} is not a region")
        return cls(result=result, raw=context)


@dataclass
class Event:
    """A Label Studio webhook event: ``action`` (``ANNOTATION_CREATED``...) and the body."""

    action: str
    payload: Dict[str, Any]

    def annotation_list(self) -> List[Dict[str, Any]]:
        """The annotations of a bulk event (JSON objects). Label Studio sends them as a list
        under ``annotation`` for ``ANNOTATIONS_CREATED`` and under ``annotations`` for
        ``ANNOTATIONS_DELETED``: both are read; items that are not objects are skipped."""
        return _bulk_list(self.payload, "annotation", "annotations")

    def task_list(self) -> List[Dict[str, Any]]:
        """The tasks of a bulk event: a list under ``task`` (``ANNOTATIONS_CREATED``) or
        ``tasks``."""
        return _bulk_list(self.payload, "task", "tasks")


@dataclass
class Fit:
    """What ``fit`` returns: a JSON-able ``result`` for Label Studio, and whether new trained
    state was committed (the host then gives the project a new model version)."""

    result: Any = None
    trained: bool = False


class Model:
    """Base class of a model: set ``name``, ``version``, ``description``, ``interactive``
    and implement :meth:`predict` (and :meth:`fit` when the model learns)."""

    name = "model"
    version = "0.0.0"
    description = ""
    interactive = False

    def predict(
        self, call: Call, tasks: List[Task], context: Optional[Context]
    ) -> List[Union[Prediction, dict]]:
        """One prediction per task, in order."""
        raise NotImplementedError

    def fit(self, call: Call, event: Event) -> Fit:
        """Learns from a webhook event; by default learns nothing."""
        return Fit()


def export(model_class):
    """The ``WitWorld`` class componentize-py exports, calling ``model_class``'s methods.

    Decodes the JSON the host passes, checks there is one prediction per task, and turns
    exceptions into the WIT ``model-error`` (unexpected ones are logged with a traceback
    and reported as internal errors)."""
    model = model_class()

    class WitWorld:
        def info(self) -> types.ModelInfo:
            return types.ModelInfo(
                model.name, model.version, model.description, model.interactive
            )

        def predict(self, request, tasks: List[str], context: Optional[str]) -> List[str]:
            def run():
                call = Call.from_wit(request)
                decoded = [Task.decode(raw, i) for i, raw in enumerate(tasks)]
                ctx = None if context is None else Context.decode(context)
                predictions = model.predict(call, decoded, ctx)
                if len(predictions) != len(decoded):
                    raise ModelError(
                        f"{model.name} returned {len(predictions)} predictions "
                        f"for {len(decoded)} tasks"
                    )
                return [json.dumps(_to_json(p), ensure_ascii=False) for p in predictions]

            return _guarded(run)

        def fit(self, request, event: str, payload: str) -> types.FitOutcome:
            def run():
                outcome = model.fit(Call.from_wit(request), Event(event, _object(payload, "payload")))
                return types.FitOutcome(
                    json.dumps(outcome.result, ensure_ascii=False), outcome.trained
                )

            return _guarded(run)

    return WitWorld


def _bulk_list(payload: Dict[str, Any], singular: str, plural: str) -> List[Dict[str, Any]]:
    for key in (singular, plural):
        items = payload.get(key)
        if isinstance(items, list):
            return [item for item in items if isinstance(item, dict)]
    return []


def _to_json(prediction) -> Any:
    return prediction.to_json() if isinstance(prediction, Prediction) else prediction


def _object(raw: str, what: str) -> Dict[str, Any]:
    try:
        value = json.loads(raw)
    except ValueError as err:
        raise InvalidInput(f"{what}: {err}") from None
    if not isinstance(value, dict):
        raise InvalidInput(f"{what}: not a JSON object")
    return value


def _guarded(run):
    try:
        return run()
    except ModelError as err:
        raise Err(err.to_wit()) from None
    except Exception as err:  # noqa: BLE001 - any other failure is the model's bug
        log.error(traceback.format_exc())
        raise Err(types.ModelError_Internal(f"{type(err).__name__}: {err}")) from None

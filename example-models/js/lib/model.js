// `defineModel`: turns a model's `info`, `predict` and `fit` into the three exports of the WIT
// world, doing the JSON parsing, validation, serialization and error mapping once for every
// model.

import { LabelConfig } from './config.js';
import { asModelError, internal } from './errors.js';
import { Event, unchanged } from './event.js';
import { Context, Task, parseJson } from './task.js';

/**
 * What every call runs for: `project` (Label Studio's id, `""` when unknown), `labelConfig`
 * (a `LabelConfig`), `modelVersion` (what the host stamps on the answer) and `extraParams` (the
 * user's backend settings, parsed as JSON when possible, else the raw text; `undefined` if unset).
 */
export class Call {
  constructor({ project, labelConfig, modelVersion, extraParams }) {
    this.project = project;
    this.labelConfig = new LabelConfig(labelConfig);
    this.modelVersion = modelVersion;
    this.extraParams = extraParams === undefined ? undefined : parseOr(extraParams);
  }
}

/** `text` parsed as JSON, or `text` itself when it is not JSON. */
function parseOr(text) {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Runs `body`, turning anything it throws into a `ModelError`, which componentize-js lowers
 * into the export's `model-error` (unknown exceptions become `internal` rather than a trap).
 */
function guarded(body) {
  try {
    return body();
  } catch (error) {
    throw asModelError(error);
  }
}

/**
 * Defines a model; export the result's `info`, `predict` and `fit` from the model's module:
 *
 *     export const { info, predict, fit } = defineModel({ info: {...}, predict(call, tasks, context) {...} });
 *
 * @param {object} model
 * @param {{name: string, version: string, description?: string, interactive?: boolean}} model.info
 *   what `GET /models` shows; `interactive` is true when `predict` uses the context.
 * @param {(call: Call, tasks: Task[], context: Context | undefined) => Array<object>} model.predict
 *   returns exactly one prediction (a `Prediction`, any JSON-able object, or a list of them) per
 *   task, in order.
 * @param {(call: Call, event: Event) => {result: any, trained: boolean}} [model.fit]
 *   learns from a webhook event (see `trained` / `unchanged`); by default every event is ignored.
 */
export function defineModel({ info, predict, fit = () => unchanged() }) {
  const modelInfo = {
    name: info.name,
    version: info.version,
    description: info.description ?? '',
    interactive: info.interactive ?? false,
  };
  return {
    info: () => modelInfo,

    predict: (request, tasks, context) =>
      guarded(() => {
        const call = new Call(request);
        const parsedTasks = tasks.map((raw, i) => new Task(parseJson(raw, `task ${i}`), i));
        const parsedContext =
          context === undefined ? undefined : new Context(parseJson(context, 'context'));
        const predictions = predict(call, parsedTasks, parsedContext);
        if (predictions.length !== tasks.length) {
          throw internal(
            `${modelInfo.name} returned ${predictions.length} predictions for ${tasks.length} tasks`,
          );
        }
        return predictions.map((prediction) => JSON.stringify(prediction));
      }),

    fit: (request, action, payload) =>
      guarded(() => {
        const call = new Call(request);
        const outcome = fit(call, new Event(action, parseJson(payload, 'payload')));
        // `JSON.stringify(undefined)` is not JSON; a model that returns no result means `null`.
        return { result: JSON.stringify(outcome.result ?? null), trained: outcome.trained === true };
      }),
  };
}

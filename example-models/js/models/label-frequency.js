// Label frequency: suggests, for every task, the choice annotators picked most often in the
// project so far. A baseline for classification projects, and the smallest model that learns
// from `fit` through the store.
//
// Store layout, tie-breaking and error cases are shared with the Rust, Python and C builds and
// specified in `example-models/MODELS.md`: the stores of all four builds are interchangeable.

import {
  EventKind,
  Prediction,
  choicesRegion,
  compareCodePoints,
  defineModel,
  invalidInput,
  store,
  trained,
  unchanged,
  unsupportedConfig,
} from '../lib/wasml.js';

/** Store keys of annotations start with this; the annotation id follows. */
const KEY_PREFIX = 'annotation/';

/** The store key of annotation `id`. */
const keyOf = (id) => `${KEY_PREFIX}${id}`;

/** The control this model predicts for: the first `Choices` that names an object. */
function choicesControl(call) {
  const control = call.labelConfig.controls.find((c) => c.tag === 'Choices' && c.toName.length);
  if (control === undefined) {
    throw unsupportedConfig('label-frequency needs a Choices control');
  }
  return control;
}

/** The choices `annotation` made for `control`: the strings of its `choices` results, in order. */
function choicesOf(annotation, control) {
  return annotation.result
    .filter((item) => item.from_name === control.name && item.type === 'choices')
    .flatMap((item) => item.choiceValues());
}

/**
 * Stores the annotation's choices, or forgets the annotation when it was cancelled or chose
 * nothing. True when the store changed.
 */
function remember(control, annotation) {
  const choices = choicesOf(annotation, control);
  if (annotation.wasCancelled || choices.length === 0) {
    return store.remove(keyOf(annotation.id));
  }
  store.setJson(keyOf(annotation.id), choices);
  return true;
}

/** How often each stored choice was made: a `Map` of label to count, and the total. */
function tally() {
  const counts = new Map();
  let total = 0;
  for (const key of store.listKeys(KEY_PREFIX)) {
    // A value this model did not write counts for nothing rather than failing predict.
    const choices = store.getJsonOr(key, null);
    if (!Array.isArray(choices) || !choices.every((c) => typeof c === 'string')) {
      continue;
    }
    for (const choice of choices) {
      counts.set(choice, (counts.get(choice) ?? 0) + 1);
      total += 1;
    }
  }
  return { counts, total };
}

/**
 * The most frequent label, or `undefined` before any choice. Ties go to the label listed first
 * in `configLabels`; unlisted labels rank after all listed ones, in code point order.
 */
function winner(counts, configLabels) {
  const listed = configLabels.filter((label) => counts.has(label));
  const unlisted = [...counts.keys()].filter((label) => !configLabels.includes(label));
  let best;
  for (const label of [...listed, ...unlisted.sort(compareCodePoints)]) {
    // Strictly greater: an equal count never displaces an earlier-ranked label.
    if (best === undefined || counts.get(label) > counts.get(best)) {
      best = label;
    }
  }
  return best;
}

export const { info, predict, fit } = defineModel({
  info: {
    name: 'Label frequency',
    version: '1.0.0',
    description: 'Suggests the choice annotators picked most often in the project (a baseline).',
  },

  predict(call, tasks) {
    const control = choicesControl(call);
    const { counts, total } = tally();
    const label = winner(counts, control.labelValues());
    let prediction = Prediction.empty();
    if (label !== undefined) {
      const score = counts.get(label) / total;
      const region = choicesRegion(control.name, control.toName[0], [label]).withScore(score);
      prediction = new Prediction([region]).withScore(score);
    }
    return tasks.map(() => prediction);
  },

  fit(call, event) {
    const control = choicesControl(call);
    let changed = false;
    switch (event.kind) {
      case EventKind.ANNOTATION_CREATED:
      case EventKind.ANNOTATION_UPDATED: {
        const annotation = event.annotation();
        if (annotation?.id === undefined) {
          throw invalidInput('the annotation has no integer id');
        }
        changed = remember(control, annotation);
        break;
      }
      case EventKind.ANNOTATIONS_CREATED:
        for (const annotation of event.annotations().filter((a) => a.id !== undefined)) {
          changed = remember(control, annotation) || changed;
        }
        break;
      case EventKind.ANNOTATIONS_DELETED:
        for (const annotation of event.annotations().filter((a) => a.id !== undefined)) {
          changed = store.remove(keyOf(annotation.id)) || changed;
        }
        break;
      default: // START_TRAINING and anything else: nothing to learn.
    }
    const result = { annotations: store.listKeys(KEY_PREFIX).length };
    return changed ? trained(result) : unchanged(result);
  },
});

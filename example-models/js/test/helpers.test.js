// Unit tests of the helper layer (`lib/`), run under Node with a mocked host: `npm test`.

import assert from 'node:assert/strict';
import { beforeEach, test } from 'node:test';

import { fetches, memory, served } from './host-mock.js';
import {
  LabelConfig,
  ModelError,
  Region,
  choicesRegion,
  compareCodePoints,
  FetchError,
  defineModel,
  fetchTask,
  findAllUtf16,
  invalidInput,
  labelsSpan,
  sliceUtf16,
  store,
} from '../lib/wasml.js';

beforeEach(() => memory.clear());

test('UTF-16 offsets', () => {
  const text = 'a😀é b';
  assert.equal(sliceUtf16(text, 3, 4), 'é');
  assert.equal(sliceUtf16(text, 2, 4), null, 'inside the surrogate pair');
  assert.equal(sliceUtf16(text, 1, 3), '😀');
  assert.equal(sliceUtf16(text, 4, 3), null);
  assert.equal(sliceUtf16(text, 6, 7), null);
  assert.equal(sliceUtf16(text, 6, 6), '');
  assert.deepEqual(findAllUtf16('😀ab ab', 'ab'), [[2, 4], [5, 7]]);
  assert.deepEqual(findAllUtf16('aaaa', 'aa'), [[0, 2], [2, 4]]);
  assert.deepEqual(findAllUtf16('abc', ''), []);
});

test('code point order, not UTF-16 order', () => {
  const sorted = ['😀', '\uff01', 'e', 'é', 'ab', 'a'].sort(compareCodePoints);
  assert.deepEqual(sorted, ['a', 'ab', 'e', 'é', '\uff01', '😀']);
});

test('label config lookups', () => {
  const config = new LabelConfig({
    raw: '',
    controls: [
      { name: 'box', tag: 'RectangleLabels', toName: ['img'], inputs: [{ name: 'img', tag: 'Image', value: 'image' }], labels: [], dynamicLabels: false, regex: [] },
      { name: 'label', tag: 'Labels', toName: ['text'], inputs: [{ name: 'text', tag: 'Text', value: 'text' }], labels: [{ value: 'PER', attributes: [{ name: 'background', value: 'red' }] }], dynamicLabels: false, regex: [] },
    ],
  });
  assert.equal(config.firstControl('Choices', 'Labels').name, 'label');
  const [control, input] = config.firstPair('Labels', 'Text');
  assert.equal(control.name, 'label');
  assert.equal(input.value, 'text');
  assert.equal(config.firstPair('Labels', 'Image'), undefined);
  assert.deepEqual(control.labelValues(), ['PER']);
  assert.equal(control.labels[0].attribute('background'), 'red');
  assert.equal(config.control('box').inputNamed('img').tag, 'Image');
});

test('regions serialize in Label Studio shape and read spans', () => {
  assert.deepEqual(JSON.parse(JSON.stringify(choicesRegion('s', 't', ['A']).withScore(0.5))), {
    from_name: 's', to_name: 't', type: 'choices', value: { choices: ['A'] }, score: 0.5,
  });
  const span = labelsSpan('l', 't', 1, 3, 'ab', ['X']);
  assert.deepEqual(span.span(), { start: 1, end: 3, text: 'ab', labels: ['X'] });
  const bad = (value) => Region.from({ from_name: 'l', to_name: 't', type: 'labels', value }).span();
  assert.equal(bad({ start: -1, end: 2 }), null);
  assert.equal(bad({ start: 1.5, end: 2 }), null);
  assert.equal(bad({ start: 1, end: 2, labels: null }), null);
  assert.equal(bad({ start: 1, end: 2, labels: ['A', 3] }), null);
  assert.equal(bad({ start: 1, end: 2, text: 7 }), null);
  assert.deepEqual(bad({ start: 1, end: 2, text: null }), { start: 1, end: 2, text: undefined, labels: [] });
});

test('store JSON helpers and store errors', () => {
  store.setJson('k', ['é', 1]);
  assert.equal(Buffer.from(memory.get('k')).toString(), '["é",1]');
  assert.deepEqual(store.getJson('k'), ['é', 1]);
  assert.equal(store.getJson('missing'), undefined);
  memory.set('bad', Uint8Array.from([0xff]));
  assert.throws(() => store.getJson('bad'), (e) => e instanceof ModelError && e.kind === 'internal');
  assert.equal(store.getJsonOr('bad', 'fallback'), 'fallback');
  assert.deepEqual(store.listKeys(''), ['bad', 'k']);
  assert.equal(store.remove('k'), true);
  assert.throws(() => store.get(''), /store: invalid key: empty key/);
});

test('defineModel maps errors to WIT variants', () => {
  const request = { project: '1', labelConfig: { raw: '', controls: [] }, modelVersion: 'v' };
  const model = defineModel({
    info: { name: 'T', version: '1' },
    predict(call, tasks) {
      if (tasks[0].data.fail === 'input') throw invalidInput('bad');
      if (tasks[0].data.fail === 'bug') return null.x;
      if (tasks[0].data.fail === 'count') return [];
      return tasks.map((t) => ({ result: [], id: t.id }));
    },
  });
  assert.deepEqual(model.info(), { name: 'T', version: '1', description: '', interactive: false });
  assert.deepEqual(model.predict(request, ['{"id": 3, "data": {}}'], undefined), ['{"result":[],"id":3}']);
  const payload = (tasks, context) => {
    try {
      model.predict(request, tasks, context);
    } catch (error) {
      return error.payload;
    }
    return 'no error';
  };
  assert.deepEqual(payload(['{"data": {"fail": "input"}}']), { tag: 'invalid-input', val: 'bad' });
  assert.equal(payload(['{"data": {"fail": "bug"}}']).tag, 'internal');
  assert.equal(payload(['{"data": {"fail": "count"}}']).tag, 'internal');
  assert.equal(payload(['{"data": []}']).tag, 'invalid-input');
  assert.equal(payload(['{"data": {}']).tag, 'invalid-input');
  assert.equal(payload(['{}'], '{"result": [{"from_name": "x"}]}').tag, 'invalid-input');
  assert.deepEqual(model.fit(request, 'START_TRAINING', '{}'), { result: 'null', trained: false });
});

test('fetching what a task points to', () => {
  served.set('/data/upload/3/cat.png', { bytes: new Uint8Array([1, 2]), contentType: 'image/png' });
  const task = { id: 7, data: { image: '/data/upload/3/cat.png', n: 1 } };
  const got = fetchTask(task, 'image');
  assert.deepEqual([...got.bytes], [1, 2]);
  assert.equal(got.contentType, 'image/png');
  assert.deepEqual(fetches.at(-1), ['/data/upload/3/cat.png', 7n]);
  assert.throws(() => fetchTask(task, 'n'), (e) => e instanceof FetchError && e.reason === 'invalid-url');
  assert.throws(
    () => fetchTask({ data: { image: '/data/upload/3/dog.png' } }, 'image'),
    (e) => e instanceof FetchError && e.reason === 'not-found' && e.payload.tag === 'invalid-input',
  );
  assert.equal(fetches.at(-1)[1], undefined, 'no id, no task id');
});

// Unit tests of the vision helpers (`lib/inflate.js`, `png.js`, `image.js`, `resize.js`,
// `nn.js`, the label map), run under Node with a mocked host: `npm test`. The fixtures in
// `example-models/testdata` were made by Pillow and OpenCV (`make_fixtures.py`).

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import zlib from 'node:zlib';

import { computed, graphs, nnError, Tensor as HostTensor } from './nn-mock.js';
import {
  Graph,
  InflateError,
  LabelConfig,
  ModelError,
  NnError,
  RgbImage,
  Tensor,
  decodeImage,
  decodeSamples,
  inflate,
  inflateRaw,
  lanczos4Taps,
  resizeLanczos4,
  roundHalfEven,
  toRgb,
} from '../lib/wasml.js';
import { crc32 } from '../lib/png.js';

const testdata = new URL('../../testdata/', import.meta.url);
const fixture = (name) => new Uint8Array(readFileSync(new URL(name, testdata)));
const json = (name) => JSON.parse(readFileSync(new URL(name, testdata), 'utf8'));
const hex = (bytes) => Buffer.from(bytes).toString('hex');

test('inflate undoes zlib at every level and strategy', () => {
  const random = Uint8Array.from({ length: 70000 }, (_, i) => (i * 2654435761) >>> 24);
  const inputs = {
    random,
    text: Buffer.from('the page of the model, the label of the page. '.repeat(3000)),
    runs: Buffer.concat([Buffer.alloc(50000, 7), random.subarray(0, 999), Buffer.alloc(3, 1)]),
    empty: Buffer.alloc(0),
    one: Buffer.from([42]),
  };
  const { Z_FIXED, Z_RLE, Z_HUFFMAN_ONLY, Z_FILTERED } = zlib.constants;
  for (const [name, data] of Object.entries(inputs)) {
    for (const options of [{ level: 0 }, { level: 1 }, { level: 6 }, { level: 9 }, { strategy: Z_FIXED }, { strategy: Z_RLE }, { strategy: Z_HUFFMAN_ONLY }, { strategy: Z_FILTERED }]) {
      const packed = zlib.deflateSync(data, options);
      assert.deepEqual(Buffer.from(inflate(packed)), Buffer.from(data), `${name} ${JSON.stringify(options)}`);
      assert.deepEqual(Buffer.from(inflate(packed, data.length, { checksum: false })), Buffer.from(data));
    }
  }
  const raw = zlib.deflateRawSync(inputs.text);
  const { data, end } = inflateRaw(Buffer.concat([raw, Buffer.from('trailing')]));
  assert.equal(Buffer.from(data).toString(), inputs.text.toString());
  assert.equal(end, raw.length, 'the stream ends where deflate ended it');
});

test('inflate refuses malformed streams', () => {
  const packed = zlib.deflateSync(Buffer.from('hello hello hello hello'));
  const refuses = (bytes, words) => assert.throws(() => inflate(Uint8Array.from(bytes)), (e) => e instanceof InflateError && e.message.includes(words));
  refuses([0x78, 0x9c, 0xff, 0xff, 0, 0], 'block type 3');
  refuses([0x79, 0x9c, 0, 0, 0, 0], 'not a zlib stream');
  refuses(packed.subarray(0, packed.length - 8), 'truncated');
  const badSum = Uint8Array.from(packed);
  badSum[badSum.length - 1] ^= 1;
  refuses(badSum, 'checksum mismatch');
  assert.doesNotThrow(() => inflate(badSum, 0, { checksum: false }), 'the checksum can be left to the caller');
  // A match reaching before the start of the output: fixed Huffman, length 3 at distance 1.
  refuses([0x78, 0x9c, 0x03, 0x02, 0, 0, 0, 0], 'too far back');
});

test('PNG decodes like Pillow: every colour type, depth, filter, Adam7 and tRNS', () => {
  const expected = json('png/expected.json');
  assert.ok(Object.keys(expected).length > 40);
  for (const [name, want] of Object.entries(expected)) {
    const image = decodeImage(fixture(`png/${name}.png`));
    assert.deepEqual([image.width, image.height], [want.width, want.height], name);
    assert.equal(hex(image.pixels), want.rgb, name);
  }
  assert.equal(decodeSamples(fixture('png/c6-d16.png')).channels, 4);
  assert.equal(decodeSamples(fixture('png/c3-d4-trns.png')).channels, 4, 'tRNS gives a palette alpha');
  assert.equal(decodeSamples(fixture('png/c2-d8-colour-key.png')).channels, 3, 'a colour key is ignored');
  assert.equal(crc32(Buffer.from('IEND')), 0xae426082);
});

test('alpha is composited over white in integers', () => {
  const rgb = toRgb({ width: 3, height: 1, channels: 2, samples: Uint8Array.from([10, 255, 10, 0, 10, 128]) });
  // (10 * 128 + 255 * 127 + 127) / 255 rounded down = 132
  assert.deepEqual([...rgb.pixels].filter((_, i) => i % 3 === 0), [10, 255, 132]);
});

test('unreadable images fail with invalid-input saying why', () => {
  const png = fixture('png/c2-d8.png');
  const refuses = (bytes, words) =>
    assert.throws(() => decodeImage(bytes), (e) => e instanceof ModelError && e.kind === 'invalid-input' && e.message.includes(words));
  refuses(Buffer.from('just some text'), 'only PNG and JPEG');
  refuses(Uint8Array.from([0xff, 0xd8, 0xff, 0xe0, 0, 0]), 'JPEG images are not supported');
  const badCrc = Uint8Array.from(png);
  badCrc[20] ^= 1;
  refuses(badCrc, 'bad CRC');
  refuses(png.subarray(0, 40), 'invalid PNG');
});

test('Lanczos-4 resizing equals cv2.resize', () => {
  const cases = json('lanczos4.json');
  assert.ok(cases.length >= 5);
  for (const { width, height, pixels, to, expected } of cases) {
    const source = new RgbImage(width, height, Uint8Array.from(Buffer.from(pixels, 'hex')));
    assert.equal(hex(resizeLanczos4(source, to[0], to[1]).pixels), expected, `${width}x${height} -> ${to}`);
  }
});

test('a resize window is that part of the whole', () => {
  const source = new RgbImage(37, 23, Uint8Array.from({ length: 37 * 23 * 3 }, (_, i) => (i * 7919) % 256));
  const whole = resizeLanczos4(source, 19, 30).pixels;
  const part = resizeLanczos4(source, 19, 30, [4, 9, 11, 6]).pixels;
  const rows = [];
  for (let y = 9; y < 15; y++) {
    rows.push(...whole.subarray((y * 19 + 4) * 3, (y * 19 + 15) * 3));
  }
  assert.deepEqual([...part], rows);
  assert.throws(() => resizeLanczos4(source, 19, 30, [10, 0, 10, 5]), RangeError);
  assert.deepEqual(lanczos4Taps(4, 4).map((t) => t.weights), new Array(4).fill([0, 0, 0, 2048, 0, 0, 0, 0]));
  assert.deepEqual([2.5, 3.5, -2.5, 1.4, 1.6].map(roundHalfEven), [2, 4, -2, 1, 2]);
});

test('tensors from typed arrays and numbers, read back typed', () => {
  const values = Float32Array.from([1.5, -2, 0.25, 8]);
  const bytes = new Uint8Array(values.buffer);
  for (const given of [values, bytes, [1.5, -2, 0.25, 8]]) {
    const t = Tensor.f32([2, 2], given);
    assert.deepEqual([t.dims, t.type, [...t.data], t.length], [[2, 2], 'f32', [...bytes], 4]);
  }
  assert.deepEqual([...Tensor.i64([2], [-(2 ** 40), 7n]).toArray()], [-(2n ** 40n), 7n]);
  assert.deepEqual([...Tensor.u8([3], Uint8Array.from([1, 2, 3])).toArray()], [1, 2, 3]);
  assert.deepEqual([...Tensor.i32([2], [-5, 2 ** 31 - 1]).toArray()], [-5, 2 ** 31 - 1]);
  // Bytes at an odd offset still read back (the copy is aligned).
  const odd = new Tensor([1], 'f32', Uint8Array.from([0, ...new Uint8Array(Float32Array.from([3]).buffer)]).subarray(1));
  assert.deepEqual([...odd.toArray('f32')], [3]);
  assert.throws(() => Tensor.f32([3], [1, 2]), /needs 12 bytes, not 8/);
  assert.throws(() => Tensor.of('int8', [1], [1]), /unknown element type/);
  assert.throws(() => Tensor.i64([1], [1]).toArray('f32'), (e) => e instanceof NnError && e.code === 'invalid-argument');
});

test('graphs compute through the host and report its errors with their code', () => {
  graphs.set('double', (inputs) => {
    const [[, x]] = inputs;
    const doubled = new Float32Array(new Uint8Array(x.data()).buffer).map((v) => 2 * v);
    return [
      ['y', new HostTensor(x.dimensions(), 'FP32', new Uint8Array(doubled.buffer))],
      ['n', new HostTensor([1], 'I64', new Uint8Array(BigInt64Array.from([3n]).buffer))],
    ];
  });
  graphs.set('strict', () => {
    throw nnError('invalid-argument', 'input x: expected [1, 3], got [2]');
  });
  const out = Graph.named('double').compute({ x: Tensor.f32([3], [1, 2, 3.5]) });
  assert.equal(computed.at(-1)[1][0][1].ty(), 'FP32');
  assert.deepEqual(out.names(), ['y', 'n']);
  assert.deepEqual([...out.get('y').toArray()], [2, 4, 7]);
  assert.deepEqual(out.first().dims, [3]);
  assert.deepEqual([...out.get('n').toArray('i64')], [3n]);
  assert.throws(() => out.get('z'), /no output z \(the graph returned: y, n\)/);
  assert.throws(() => Graph.named('absent'), (e) => e instanceof NnError && e.code === 'not-found');
  const refused = (() => {
    try {
      Graph.named('strict').compute([['x', Tensor.f32([2], [0, 0])]]);
    } catch (error) {
      return error;
    }
  })();
  assert.ok(refused instanceof NnError && refused instanceof ModelError);
  assert.equal(refused.code, 'invalid-argument');
  assert.deepEqual(refused.payload, { tag: 'internal', val: 'wasi:nn invalid-argument: input x: expected [1, 3], got [2]' });
});

test('label maps: predicted_values first, then values, exactly then normalised', () => {
  const label = (value, predicted) => ({ value, attributes: predicted === undefined ? [] : [{ name: 'predicted_values', value: predicted }] });
  const config = new LabelConfig({
    raw: '',
    controls: [{
      name: 'c', tag: 'Choices', toName: ['i'], inputs: [{ name: 'i', tag: 'Image', value: 'image' }], dynamicLabels: false, regex: [],
      labels: [label('Heading', 'title, header'), label('text'), label('Figure caption'), label('Table', 'table'), label('Body', 'text')],
    }],
  });
  const control = config.controls[0];
  const map = control.labelMap();
  assert.equal(map.label('title'), 'Heading');
  assert.equal(map.label('header'), 'Heading');
  assert.equal(map.label('text'), 'Body', 'predicted_values win over a label of the same name');
  assert.equal(map.label('figure_caption'), 'Figure caption');
  assert.equal(map.label('table'), 'Table');
  assert.equal(map.label('equation'), undefined);
  assert.equal(control.inputTagged('Image').value, 'image');
  assert.equal(control.inputTagged('Text'), undefined);
});

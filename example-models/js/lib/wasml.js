// The wasml helper layer for JavaScript models: import everything from here.
//
//     import { defineModel, Prediction, labelsSpan, invalidInput } from '../lib/wasml.js';
//
// A model file calls `defineModel` and exports its `info`, `predict` and `fit`; componentize-js
// bundles this folder's modules into the component along with it.

export { Control, Label, LabelConfig, LabelMap } from './config.js';
export { FetchError, fetch, fetchTask } from './data.js';
export { ModelError, internal, invalidInput, unsupportedConfig } from './errors.js';
export { Event, EventKind, trained, unchanged } from './event.js';
export { RgbImage, decodeImage, decodeSamples, toRgb } from './image.js';
export { InflateError, inflate, inflateRaw } from './inflate.js';
export * as log from './log.js';
export { Call, defineModel } from './model.js';
export { Graph, NnError, Outputs, Tensor } from './nn.js';
export {
  Prediction,
  Region,
  choicesRegion,
  labelsSpan,
  ratingRegion,
  rectangleRegion,
  taxonomyRegion,
  textareaRegion,
} from './region.js';
export { lanczos4Taps, lanczos4Weights, resizeLanczos4, roundHalfEven } from './resize.js';
export * as store from './store.js';
export { Annotation, Context, Task, isObject } from './task.js';
export { compareCodePoints, findAllUtf16, sliceUtf16 } from './text.js';

// Task data: the bytes a task's data points to (an uploaded image, an object in cloud storage,
// a Label Studio local file, a granted URL), fetched by the host through the WIT `task-data`
// import. The host resolves each form as Label Studio's SDK does, authenticates to Label
// Studio, enforces the model's egress policy and budgets, and caches.

import * as host from 'wasml:model/task-data@0.1.0';

import { ModelError } from './errors.js';

/**
 * A task's data could not be fetched: an `invalid-input` model error (HTTP 422) whose `reason`
 * is the WIT case (`not-allowed`, `not-found`, `unauthorized`, `too-large`, `timeout`,
 * `unavailable`, `invalid-url`).
 */
export class FetchError extends ModelError {
  constructor(reason, message) {
    super('invalid-input', `${reason}: ${message}`);
    this.name = 'FetchError';
    /** The WIT `fetch-error` case. */
    this.reason = reason;
  }
}

/**
 * The bytes `reference` (as it appears in a task) points to: `{ bytes: Uint8Array,
 * contentType: string | undefined }`. `taskId` is needed for cloud storage URIs.
 */
export function fetch(reference, taskId) {
  try {
    const got = host.fetch(reference, taskId === undefined ? undefined : BigInt(taskId));
    return { bytes: got.bytes, contentType: got.contentType };
  } catch (error) {
    const { tag, val } = error?.payload ?? {};
    if (typeof tag === 'string') {
      throw new FetchError(tag, val);
    }
    throw error;
  }
}

/**
 * What `task.data[key]` references (`key` is the `$variable` of a control's input, e.g.
 * `image` for `<Image value="$image">`), fetched with the task's id.
 */
export function fetchTask(task, key) {
  const reference = task?.data?.[key];
  if (typeof reference !== 'string') {
    throw new FetchError('invalid-url', `the task has no text at data.${key} to fetch`);
  }
  const id = Number.isSafeInteger(task.id) && task.id >= 0 ? task.id : undefined;
  return fetch(reference, id);
}

// Label Studio tasks, annotations and the interactive context, parsed from the JSON text the
// host passes. Unknown fields are kept as they are; only the fields models rely on are checked,
// so a malformed request fails with `invalid-input` rather than a `TypeError` deep in a model.

import { invalidInput } from './errors.js';
import { Region } from './region.js';

/** True for a JSON object (not an array, not `null`). */
export function isObject(value) {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Parses JSON text, failing with `invalid-input` that names `what` when it is not valid JSON. */
export function parseJson(text, what) {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalidInput(`${what}: ${error.message}`);
  }
}

/** Checks that `item` has the fields every result item has, so it can become a `Region`. */
function toRegion(item, where) {
  if (!isObject(item)) {
    throw invalidInput(`${where} is not an object`);
  }
  for (const field of ['from_name', 'to_name', 'type']) {
    if (typeof item[field] !== 'string') {
      throw invalidInput(`${where} has no string "${field}"`);
    }
  }
  if (!('value' in item)) {
    throw invalidInput(`${where} has no "value"`);
  }
  return Region.from(item);
}

/** An annotation: a user's result for a task. */
export class Annotation {
  /**
   * An annotation from a webhook payload or a task, leniently: a missing or non-list `result`
   * counts as empty and result items that are not objects are skipped.
   */
  constructor(raw) {
    /** The annotation's integer id, or `undefined` when it has none. */
    this.id = Number.isSafeInteger(raw.id) ? raw.id : undefined;
    /** The regions the user created. */
    this.result = (Array.isArray(raw.result) ? raw.result : []).filter(isObject).map(Region.from);
    /** True when the user skipped the task. */
    this.wasCancelled = raw.was_cancelled === true;
    /** The whole annotation as Label Studio sent it (`task`, `completed_by`...). */
    this.raw = raw;
  }
}

/** One Label Studio task: `id`, `data` (keyed by the config's `$variables`), `annotations`, and the rest. */
export class Task {
  /** Validates a parsed task (task number `index` of the request). */
  constructor(raw, index) {
    const where = `task ${index}`;
    if (!isObject(raw)) {
      throw invalidInput(`${where} is not an object`);
    }
    if (raw.id !== undefined && raw.id !== null && !Number.isSafeInteger(raw.id)) {
      throw invalidInput(`${where}: "id" is not an integer`);
    }
    if (raw.data !== undefined && !isObject(raw.data)) {
      throw invalidInput(`${where}: "data" is not an object`);
    }
    if (raw.annotations !== undefined && !Array.isArray(raw.annotations)) {
      throw invalidInput(`${where}: "annotations" is not a list`);
    }
    /** The task id; absent in some test requests. */
    this.id = raw.id ?? undefined;
    /** The task data: keys are the `$variables` of the label config. */
    this.data = raw.data ?? {};
    /** Existing annotations, when Label Studio sends them. */
    this.annotations = (raw.annotations ?? []).filter(isObject).map((a) => new Annotation(a));
    /** The whole task as Label Studio sent it (`meta`, `project`, `drafts`...). */
    this.raw = raw;
  }

  /** The string at `data[key]`, or `undefined` when it is missing or not a string. */
  text(key) {
    const value = this.data[key];
    return typeof value === 'string' ? value : undefined;
  }
}

/** The interactive context of a `/predict` call: what the user just drew or selected. */
export class Context {
  /** Validates a parsed context. */
  constructor(raw) {
    if (!isObject(raw)) {
      throw invalidInput('context is not an object');
    }
    if (raw.result !== undefined && !Array.isArray(raw.result)) {
      throw invalidInput('context: "result" is not a list');
    }
    /** The user's regions (`origin: "manual"`; keypoints carry `is_positive`). */
    this.result = (raw.result ?? []).map((item, i) => toRegion(item, `context result ${i}`));
    /** The whole context as Label Studio sent it (`user_id`, `annotation_id`, `draft_id`...). */
    this.raw = raw;
  }
}

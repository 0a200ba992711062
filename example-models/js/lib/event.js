// Label Studio webhook events, as `fit` receives them.

import { Annotation, isObject } from './task.js';

/** Webhook actions a model commonly handles (`event.kind`). */
export const EventKind = Object.freeze({
  /** One annotation was submitted. */
  ANNOTATION_CREATED: 'ANNOTATION_CREATED',
  /** One annotation was changed. */
  ANNOTATION_UPDATED: 'ANNOTATION_UPDATED',
  /** Several annotations were created at once (import). */
  ANNOTATIONS_CREATED: 'ANNOTATIONS_CREATED',
  /** Annotations were deleted; the payload lists their ids. */
  ANNOTATIONS_DELETED: 'ANNOTATIONS_DELETED',
  /** The user pressed "Start Training". */
  START_TRAINING: 'START_TRAINING',
});

/** A webhook event: its `action`, its `kind` and the whole `payload` (parsed JSON). */
export class Event {
  constructor(action, payload) {
    /** The action name as Label Studio sent it, e.g. `ANNOTATION_CREATED`. */
    this.action = action;
    /**
     * The action, with the reference backend's singular `ANNOTATION_DELETED` read as Label
     * Studio's `ANNOTATIONS_DELETED`; compare it with `EventKind`.
     */
    this.kind = action === 'ANNOTATION_DELETED' ? EventKind.ANNOTATIONS_DELETED : action;
    /** The webhook body. */
    this.payload = payload;
  }

  /** The annotation of `ANNOTATION_CREATED` / `ANNOTATION_UPDATED`, or `undefined`. */
  annotation() {
    const raw = this.payload?.annotation;
    return isObject(raw) ? new Annotation(raw) : undefined;
  }

  /**
   * The annotations of `ANNOTATIONS_CREATED` / `ANNOTATIONS_DELETED` (for deletes only their
   * ids are set). Label Studio sends them as a list under `annotation` for creates and under
   * `annotations` for deletes: both are read; non-object items are skipped.
   */
  annotations() {
    return bulkList(this.payload, 'annotation', 'annotations').map((a) => new Annotation(a));
  }

  /** The tasks of a bulk event, as sent: a list under `task` (creates) or `tasks`. */
  tasks() {
    return bulkList(this.payload, 'task', 'tasks');
  }

  /** The task of an annotation event, as sent (its `data`...), or `undefined`. */
  task() {
    const raw = this.payload?.task;
    return isObject(raw) ? raw : undefined;
  }
}

/** `fit`'s outcome when new trained state was stored: the project gets a new model version. */
export function trained(result) {
  return { result, trained: true };
}

/** `fit`'s outcome when nothing changed. */
export function unchanged(result = null) {
  return { result, trained: false };
}

/** The objects of the list under `singular` when it is a list, else under `plural`. */
function bulkList(payload, singular, plural) {
  const raw = [payload?.[singular], payload?.[plural]].find(Array.isArray);
  return raw === undefined ? [] : raw.filter(isObject);
}

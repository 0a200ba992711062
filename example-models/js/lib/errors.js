// Typed model errors. The host maps each `model-error` case of the WIT to an HTTP status:
// `invalid-input` and `unsupported-config` answer 422, `internal` answers 500.

/**
 * An error a model throws to fail a call with a given `model-error` case.
 *
 * componentize-js turns a thrown value into the WIT error through its own `payload`
 * property, so the payload is set here (a plain `Error` would trap the component instead).
 */
export class ModelError extends Error {
  /**
   * @param {'invalid-input' | 'unsupported-config' | 'internal'} kind the WIT case.
   * @param {string} message what went wrong, returned to Label Studio.
   */
  constructor(kind, message) {
    super(message);
    this.name = 'ModelError';
    /** The WIT case, e.g. `invalid-input`. */
    this.kind = kind;
    /** The `model-error` variant componentize-js lowers into the component's result. */
    this.payload = { tag: kind, val: message };
  }
}

/** The tasks, context or payload cannot be used by this model (HTTP 422). */
export function invalidInput(message) {
  return new ModelError('invalid-input', message);
}

/** The label config lacks what this model needs, e.g. a `Choices` control (HTTP 422). */
export function unsupportedConfig(message) {
  return new ModelError('unsupported-config', message);
}

/** Anything else went wrong inside the model (HTTP 500). */
export function internal(message) {
  return new ModelError('internal', message);
}

/**
 * Any thrown value as a `ModelError`: model errors pass through, everything else (a bug, a
 * `TypeError`...) becomes `internal`, so the host answers 500 instead of seeing a trap.
 */
export function asModelError(error) {
  if (error instanceof ModelError) {
    return error;
  }
  return internal(error instanceof Error ? `${error.name}: ${error.message}` : String(error));
}

// An in-memory stand-in for the host's `wasml:model/store` and `wasml:model/log` imports, so
// the helper layer and the models run under plain Node for unit tests (`npm test`).
// The store throws like the componentize-js bindings do: an error whose `payload` is the
// `store-error` variant.

/** The store's contents: key to `Uint8Array`. Tests clear it between cases. */
export const memory = new Map();

/** Every `log` call, as `[level, message]`. */
export const logged = [];

function checkKey(key) {
  if (key === '') {
    const error = new Error('invalid key');
    error.payload = { tag: 'invalid-key', val: 'empty key' };
    throw error;
  }
}

/** Like the host's `get`. */
export function get(key) {
  checkKey(key);
  return memory.get(key);
}

/** Like the host's `set`. */
export function set(key, value) {
  checkKey(key);
  memory.set(key, Uint8Array.from(value));
}

/** Like the host's `delete`. */
function remove(key) {
  checkKey(key);
  return memory.delete(key);
}
export { remove as delete };

/** Like the host's `list-keys`: keys with `prefix`, in byte order. */
export function listKeys(prefix) {
  const bytes = (s) => Buffer.from(s, 'utf8');
  return [...memory.keys()]
    .filter((key) => key.startsWith(prefix))
    .sort((a, b) => Buffer.compare(bytes(a), bytes(b)));
}

/** Like the host's `log`. */
export function log(level, message) {
  logged.push([level, message]);
}

/** What `fetch` answers: reference to `{ bytes, contentType }`. Tests fill it. */
export const served = new Map();

/** Every `fetch` call, as `[reference, taskId]`. */
export const fetches = [];

/** Like the host's `fetch`: what `served` holds, else a `not-found` error. */
export function fetch(reference, taskId) {
  fetches.push([reference, taskId]);
  const got = served.get(reference);
  if (got === undefined) {
    const error = new Error('not found');
    error.payload = { tag: 'not-found', val: `${reference}: nothing there (404)` };
    throw error;
  }
  return { bytes: got.bytes, contentType: got.contentType, size: BigInt(got.bytes.length) };
}

// The host's key/value store, scoped to this model and the current call's project. Values
// persist across calls, reloads and restarts. Use the JSON helpers for structured state and the
// byte functions for anything else.

import * as host from 'wasml:model/store@0.1.0';

import { internal } from './errors.js';

const encoder = new TextEncoder();
// Fatal, so bytes that are not UTF-8 fail instead of turning into U+FFFD; a BOM is kept (and
// so fails JSON parsing) as in the Rust helper, so every build reads the same stored bytes alike.
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Runs a store import, turning its `store-error` into an `internal` model error. The bindings
 * throw errors whose `payload` is the store error; left as they are, componentize-js would take
 * that payload for the export's `model-error` and trap on the unknown case.
 */
function call(operation, ...args) {
  try {
    return host[operation](...args);
  } catch (error) {
    const { tag, val } = error?.payload ?? {};
    switch (tag) {
      case 'too-large':
        throw internal(`store: value larger than ${val} bytes`);
      case 'invalid-key':
        throw internal(`store: invalid key: ${val}`);
      case 'unavailable':
        throw internal(`store unavailable: ${val}`);
      default:
        throw error;
    }
  }
}

/** The bytes (`Uint8Array`) stored under `key`, or `undefined`. */
export function get(key) {
  return call('get', key);
}

/** Stores `value` (a `Uint8Array`) under `key`, replacing any previous value. */
export function set(key, value) {
  call('set', key, value);
}

/** Removes `key`; true when it existed. */
export function remove(key) {
  return call('delete', key);
}

/** Every key that starts with `prefix`, in byte order. */
export function listKeys(prefix) {
  return call('listKeys', prefix);
}

/** The UTF-8 string stored under `key`, or `undefined`; `internal` when it is not UTF-8. */
export function getText(key) {
  const bytes = get(key);
  if (bytes === undefined) {
    return undefined;
  }
  try {
    return decoder.decode(bytes);
  } catch (error) {
    throw internal(`store: ${key} is not UTF-8: ${error.message}`);
  }
}

/** Stores `text` as UTF-8 under `key`. */
export function setText(key, text) {
  set(key, encoder.encode(text));
}

/**
 * The JSON value stored under `key`, or `undefined` when there is none. Stored bytes that are
 * not JSON fail with `internal` (the model wrote them, so that is a bug, not bad input).
 */
export function getJson(key) {
  const text = getText(key);
  if (text === undefined) {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw internal(`store: ${key} is not JSON: ${error.message}`);
  }
}

/**
 * The JSON value stored under `key`, or `fallback` when there is none or it is not UTF-8 JSON:
 * for state a model tolerates losing. Store failures still throw.
 */
export function getJsonOr(key, fallback) {
  const bytes = get(key);
  try {
    return bytes === undefined ? fallback : JSON.parse(decoder.decode(bytes));
  } catch {
    return fallback;
  }
}

/** Stores `value` as compact UTF-8 JSON under `key` (the bytes `serde_json::to_vec` writes). */
export function setJson(key, value) {
  setText(key, JSON.stringify(value));
}

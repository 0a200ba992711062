//! The host's key/value store, scoped to this model and the current call's project.
//!
//! Values persist across calls, reloads and restarts. Use the JSON helpers for structured
//! state and the byte functions for anything else.
//!
//! Off wasm (native unit tests) the same functions use an in-memory store, one per thread,
//! with the host's limits: keys non-empty and at most 1024 bytes, values at most 16 MiB.
//! [`crate::testing`] empties and inspects it.

use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::Error;
#[cfg(target_arch = "wasm32")]
use crate::bindings::wasml::model::store as host;
// Natively the WIT import is a stub that panics: tests get the in-memory store instead.
#[cfg(not(target_arch = "wasm32"))]
use crate::memory as host;

/// The bytes stored under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, Error> {
    Ok(host::get(key)?)
}

/// Stores `value` under `key`, replacing any previous value.
pub fn set(key: &str, value: &[u8]) -> Result<(), Error> {
    Ok(host::set(key, value)?)
}

/// Removes `key`; true when it existed.
pub fn delete(key: &str) -> Result<bool, Error> {
    Ok(host::delete(key)?)
}

/// Every key starting with `prefix`, in byte order.
pub fn list_keys(prefix: &str) -> Result<Vec<String>, Error> {
    Ok(host::list_keys(prefix)?)
}

/// The JSON value stored under `key`, decoded into `T`.
pub fn get_json<T: DeserializeOwned>(key: &str) -> Result<Option<T>, Error> {
    match get(key)? {
        Some(bytes) => Ok(Some(serde_json::from_slice(&bytes)?)),
        None => Ok(None),
    }
}

/// Stores `value` as JSON under `key`.
pub fn set_json<T: Serialize + ?Sized>(key: &str, value: &T) -> Result<(), Error> {
    set(key, &serde_json::to_vec(value)?)
}

//! The store off wasm: an in-memory map with the host's key and value limits, so a model's
//! `predict` and `fit` run unchanged in native unit tests.
//!
//! One map per thread: the test harness runs each test on its own thread, so parallel tests
//! never see each other's keys. The functions mirror the WIT `store` import, errors included.

use std::cell::RefCell;
use std::collections::BTreeMap;

use crate::bindings::wasml::model::types::StoreError;

/// Longest key, in bytes: the host's `MAX_KEY_BYTES`.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value, in bytes: the host's `MAX_VALUE_BYTES`.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

thread_local! {
    /// This thread's keys and values; a `BTreeMap` gives `list_keys` its byte order.
    static STORE: RefCell<BTreeMap<String, Vec<u8>>> = const { RefCell::new(BTreeMap::new()) };
}

/// The value under `key`, if any.
pub fn get(key: &str) -> Result<Option<Vec<u8>>, StoreError> {
    check_key(key)?;
    Ok(STORE.with_borrow(|store| store.get(key).cloned()))
}

/// Stores `value` under `key`.
pub fn set(key: &str, value: &[u8]) -> Result<(), StoreError> {
    check_key(key)?;
    if value.len() > MAX_VALUE_BYTES {
        return Err(StoreError::TooLarge(MAX_VALUE_BYTES as u64));
    }
    STORE.with_borrow_mut(|store| store.insert(key.to_owned(), value.to_vec()));
    Ok(())
}

/// Removes `key`; true when it existed.
pub fn delete(key: &str) -> Result<bool, StoreError> {
    check_key(key)?;
    Ok(STORE.with_borrow_mut(|store| store.remove(key).is_some()))
}

/// The keys starting with `prefix`, in byte order.
pub fn list_keys(prefix: &str) -> Result<Vec<String>, StoreError> {
    if prefix.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidKey("prefix too long".into()));
    }
    Ok(STORE.with_borrow(|store| {
        store
            .range(prefix.to_owned()..)
            .take_while(|(key, _)| key.starts_with(prefix))
            .map(|(key, _)| key.clone())
            .collect()
    }))
}

/// Empties this thread's store.
pub fn reset() {
    STORE.with_borrow_mut(BTreeMap::clear);
}

/// A copy of this thread's store.
pub fn snapshot() -> BTreeMap<String, Vec<u8>> {
    STORE.with_borrow(Clone::clone)
}

/// The host's key rule, with its messages: non-empty, at most [`MAX_KEY_BYTES`].
fn check_key(key: &str) -> Result<(), StoreError> {
    if key.is_empty() {
        return Err(StoreError::InvalidKey("empty key".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreError::InvalidKey(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_like_the_host_store() {
        reset();
        set("b", b"2").expect("set");
        set("a/1", b"1").expect("set");
        set("a/2", b"").expect("an empty value is a value");
        assert_eq!(get("a/1").expect("get").as_deref(), Some(&b"1"[..]));
        assert_eq!(get("a/2").expect("get").as_deref(), Some(&b""[..]));
        assert_eq!(get("c").expect("get"), None);
        assert_eq!(list_keys("a/").expect("list"), ["a/1", "a/2"]);
        assert_eq!(list_keys("").expect("list"), ["a/1", "a/2", "b"]);
        assert!(delete("b").expect("delete"));
        assert!(!delete("b").expect("delete again"));
        assert_eq!(snapshot().len(), 2);
        reset();
        assert!(list_keys("").expect("list").is_empty());
    }

    #[test]
    fn keys_and_values_have_the_host_limits() {
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        for bad in ["", long.as_str()] {
            assert!(matches!(get(bad), Err(StoreError::InvalidKey(_))));
            assert!(matches!(set(bad, b"x"), Err(StoreError::InvalidKey(_))));
            assert!(matches!(delete(bad), Err(StoreError::InvalidKey(_))));
        }
        assert!(matches!(list_keys(&long), Err(StoreError::InvalidKey(_))));
        set(&"k".repeat(MAX_KEY_BYTES), b"x").expect("a key at the limit");
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert!(matches!(
            set("big", &big),
            Err(StoreError::TooLarge(limit)) if limit == MAX_VALUE_BYTES as u64
        ));
        set("big", &big[1..]).expect("a value at the limit");
    }

    #[test]
    fn threads_have_their_own_store() {
        set("mine", b"1").expect("set");
        let other = std::thread::spawn(|| list_keys("").expect("list"))
            .join()
            .expect("thread");
        assert!(other.is_empty());
        assert_eq!(get("mine").expect("get").as_deref(), Some(&b"1"[..]));
    }
}

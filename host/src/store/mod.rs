//! The host side of the WIT `store` interface: key/value storage scoped to (model, project).
//!
//! Every backend implements [`ModelStore`]; the scope is applied here, once, so no backend
//! can leak one model's or one project's keys to another.

mod memory;

use std::sync::Arc;

pub use memory::MemoryStore;

/// Longest key a model may use, in bytes: keys are names, not data.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value a model may store, in bytes: enough for a trained text model, small enough
/// that one model cannot exhaust the host's disk or memory in one call.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;

/// Whose keys a call may touch.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StoreScope {
    /// The model's name (its file stem).
    pub model: String,
    /// The Label Studio project id; empty when the request named no project.
    pub project: String,
}

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreFailure {
    /// The value exceeds [`MAX_VALUE_BYTES`].
    #[error("value of {0} bytes exceeds the limit of {MAX_VALUE_BYTES} bytes")]
    TooLarge(usize),
    /// The key is empty or too long.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The backend failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
}

/// A storage backend. Keys arrive already scoped; implementations store them as given.
#[async_trait::async_trait]
pub trait ModelStore: Send + Sync {
    /// The value under `key` in `scope`.
    async fn get(&self, scope: &StoreScope, key: &str) -> Result<Option<Vec<u8>>, StoreFailure>;
    /// Stores `value` under `key` in `scope`, atomically replacing any previous value.
    async fn set(&self, scope: &StoreScope, key: &str, value: Vec<u8>) -> Result<(), StoreFailure>;
    /// Removes `key` from `scope`; true when it existed.
    async fn delete(&self, scope: &StoreScope, key: &str) -> Result<bool, StoreFailure>;
    /// The keys of `scope` starting with `prefix`, in byte order.
    async fn list_keys(
        &self,
        scope: &StoreScope,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure>;
}

/// A store bound to one scope: what one guest call gets.
#[derive(Clone)]
pub struct ScopedStore {
    backend: Arc<dyn ModelStore>,
    scope: StoreScope,
}

impl ScopedStore {
    /// Binds `backend` to `scope`.
    pub fn new(backend: Arc<dyn ModelStore>, scope: StoreScope) -> Self {
        Self { backend, scope }
    }

    /// See [`ModelStore::get`].
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        check_key(key)?;
        self.backend.get(&self.scope, key).await
    }

    /// See [`ModelStore::set`]; enforces the key and value limits.
    pub async fn set(&self, key: &str, value: Vec<u8>) -> Result<(), StoreFailure> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreFailure::TooLarge(value.len()));
        }
        self.backend.set(&self.scope, key, value).await
    }

    /// See [`ModelStore::delete`].
    pub async fn delete(&self, key: &str) -> Result<bool, StoreFailure> {
        check_key(key)?;
        self.backend.delete(&self.scope, key).await
    }

    /// See [`ModelStore::list_keys`].
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreFailure> {
        if prefix.len() > MAX_KEY_BYTES {
            return Err(StoreFailure::InvalidKey("prefix too long".into()));
        }
        self.backend.list_keys(&self.scope, prefix).await
    }
}

fn check_key(key: &str) -> Result<(), StoreFailure> {
    if key.is_empty() {
        return Err(StoreFailure::InvalidKey("empty key".into()));
    }
    if key.len() > MAX_KEY_BYTES {
        return Err(StoreFailure::InvalidKey(format!(
            "key of {} bytes exceeds the limit of {MAX_KEY_BYTES} bytes",
            key.len()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scoped(backend: &Arc<dyn ModelStore>, model: &str, project: &str) -> ScopedStore {
        ScopedStore::new(
            backend.clone(),
            StoreScope {
                model: model.into(),
                project: project.into(),
            },
        )
    }

    #[tokio::test]
    async fn scopes_never_see_each_other() {
        let backend: Arc<dyn ModelStore> = Arc::new(MemoryStore::default());
        let a1 = scoped(&backend, "a", "1");
        let a2 = scoped(&backend, "a", "2");
        let b1 = scoped(&backend, "b", "1");
        a1.set("k", b"a1".to_vec()).await.expect("set");
        assert_eq!(a2.get("k").await.expect("get"), None);
        assert_eq!(b1.get("k").await.expect("get"), None);
        assert!(a2.list_keys("").await.expect("list").is_empty());
        assert_eq!(a1.get("k").await.expect("get"), Some(b"a1".to_vec()));
    }

    #[tokio::test]
    async fn limits_are_enforced() {
        let backend: Arc<dyn ModelStore> = Arc::new(MemoryStore::default());
        let s = scoped(&backend, "m", "1");
        assert!(matches!(
            s.set("", vec![]).await,
            Err(StoreFailure::InvalidKey(_))
        ));
        let long = "k".repeat(MAX_KEY_BYTES + 1);
        assert!(matches!(
            s.get(&long).await,
            Err(StoreFailure::InvalidKey(_))
        ));
        let big = vec![0; MAX_VALUE_BYTES + 1];
        assert!(matches!(
            s.set("k", big).await,
            Err(StoreFailure::TooLarge(_))
        ));
    }

    #[tokio::test]
    async fn list_and_delete() {
        let backend: Arc<dyn ModelStore> = Arc::new(MemoryStore::default());
        let s = scoped(&backend, "m", "1");
        for k in ["ex/2", "ex/1", "other"] {
            s.set(k, vec![1]).await.expect("set");
        }
        assert_eq!(s.list_keys("ex/").await.expect("list"), ["ex/1", "ex/2"]);
        assert!(s.delete("ex/1").await.expect("delete"));
        assert!(!s.delete("ex/1").await.expect("delete"));
        assert_eq!(s.list_keys("ex/").await.expect("list"), ["ex/2"]);
    }
}

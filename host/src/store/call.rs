//! One guest call's view of the store: reads go to the backend, writes are buffered and
//! committed as one transaction when the call succeeds.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use super::{
    Batch, MAX_CALL_WRITE_BYTES, MAX_KEY_BYTES, MAX_VALUE_BYTES, ModelStore, ProjectKey,
    StoreFailure, check_key,
};

/// The store of one call, bound to one (model, project) scope.
///
/// Why buffer: a `fit` that writes half its state and then traps must not leave that half
/// behind, and a model version must change in the same transaction as the state it names.
/// Reads see the call's own pending writes first.
pub struct CallStore {
    backend: Arc<dyn ModelStore>,
    scope: ProjectKey,
    /// Pending writes; `None` deletes.
    pending: BTreeMap<String, Option<Vec<u8>>>,
    /// Bytes held by `pending` (keys and values).
    pending_bytes: usize,
}

impl CallStore {
    /// A call store over `backend`, limited to `scope`.
    pub fn new(backend: Arc<dyn ModelStore>, scope: ProjectKey) -> Self {
        Self {
            backend,
            scope,
            pending: BTreeMap::new(),
            pending_bytes: 0,
        }
    }

    /// The value under `key`, including this call's pending writes.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        check_key(key)?;
        match self.pending.get(key) {
            Some(pending) => Ok(pending.clone()),
            None => self.backend.get(&self.scope, key).await,
        }
    }

    /// Stages `value` under `key`.
    pub fn set(&mut self, key: &str, value: Vec<u8>) -> Result<(), StoreFailure> {
        check_key(key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(StoreFailure::TooLarge {
                what: "value",
                size: value.len(),
                limit: MAX_VALUE_BYTES,
            });
        }
        self.stage(key, Some(value))
    }

    /// Stages the removal of `key`; true when it exists now.
    pub async fn delete(&mut self, key: &str) -> Result<bool, StoreFailure> {
        let existed = self.get(key).await?.is_some();
        self.stage(key, None)?;
        Ok(existed)
    }

    /// The keys starting with `prefix`, in byte order, including pending writes.
    pub async fn list_keys(&self, prefix: &str) -> Result<Vec<String>, StoreFailure> {
        if prefix.len() > MAX_KEY_BYTES {
            return Err(StoreFailure::InvalidKey("prefix too long".into()));
        }
        let mut keys: BTreeSet<String> = self
            .backend
            .list_keys(&self.scope, prefix)
            .await?
            .into_iter()
            .collect();
        for (key, value) in self.pending.range(prefix.to_owned()..) {
            if !key.starts_with(prefix) {
                break;
            }
            if value.is_some() {
                keys.insert(key.clone());
            } else {
                keys.remove(key);
            }
        }
        Ok(keys.into_iter().collect())
    }

    /// The (model, project) slice this transaction reads and writes.
    pub fn scope(&self) -> &ProjectKey {
        &self.scope
    }

    /// Takes this transaction's pending writes as a transaction of their own, leaving this
    /// one empty on the same slice (what a warm instance keeps between calls).
    pub fn detach(&mut self) -> CallStore {
        let fresh = CallStore::new(self.backend.clone(), self.scope.clone());
        std::mem::replace(self, fresh)
    }

    /// True when the call wrote nothing.
    pub fn is_unchanged(&self) -> bool {
        self.pending.is_empty()
    }

    /// The call's writes as a batch, ready to commit (possibly with host records added).
    pub fn into_batch(self) -> Batch {
        let writes = self.pending.into_iter().collect::<Vec<_>>();
        let mut batch = Batch::default();
        if !writes.is_empty() {
            batch.guest.push((self.scope, writes));
        }
        batch
    }

    fn stage(&mut self, key: &str, value: Option<Vec<u8>>) -> Result<(), StoreFailure> {
        let size = key.len() + value.as_ref().map_or(0, Vec::len);
        let replaced = self
            .pending
            .get(key)
            .map_or(0, |old| key.len() + old.as_ref().map_or(0, Vec::len));
        let total = self.pending_bytes - replaced + size;
        if total > MAX_CALL_WRITE_BYTES {
            return Err(StoreFailure::TooLarge {
                what: "this call's writes",
                size: total,
                limit: MAX_CALL_WRITE_BYTES,
            });
        }
        self.pending_bytes = total;
        self.pending.insert(key.to_owned(), value);
        Ok(())
    }
}

//! An in-memory store backend: for tests and for `--store memory`.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{ModelStore, StoreFailure, StoreScope};

/// Keys of all scopes in one ordered map; lost when the process exits.
#[derive(Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<(StoreScopeKey, String), Vec<u8>>>,
}

type StoreScopeKey = (String, String);

fn scope_key(scope: &StoreScope) -> StoreScopeKey {
    (scope.model.clone(), scope.project.clone())
}

impl MemoryStore {
    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<(StoreScopeKey, String), Vec<u8>>> {
        // A panic while holding the lock cannot leave a half-written entry: inserts are atomic.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl ModelStore for MemoryStore {
    async fn get(&self, scope: &StoreScope, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        Ok(self
            .lock()
            .get(&(scope_key(scope), key.to_owned()))
            .cloned())
    }

    async fn set(&self, scope: &StoreScope, key: &str, value: Vec<u8>) -> Result<(), StoreFailure> {
        self.lock()
            .insert((scope_key(scope), key.to_owned()), value);
        Ok(())
    }

    async fn delete(&self, scope: &StoreScope, key: &str) -> Result<bool, StoreFailure> {
        Ok(self
            .lock()
            .remove(&(scope_key(scope), key.to_owned()))
            .is_some())
    }

    async fn list_keys(
        &self,
        scope: &StoreScope,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure> {
        let scope = scope_key(scope);
        let start = (scope.clone(), prefix.to_owned());
        Ok(self
            .lock()
            .range(start..)
            .take_while(|((s, k), _)| *s == scope && k.starts_with(prefix))
            .map(|((_, k), _)| k.clone())
            .collect())
    }
}

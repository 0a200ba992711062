//! An in-memory store backend: for tests and for `--store memory` (nothing survives a restart).

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use super::{Batch, HostTable, ModelStore, ProjectKey, StoreFailure};

/// Every scope's keys and every host record in ordered maps; lost when the process exits.
#[derive(Default)]
pub struct MemoryStore {
    maps: Mutex<Maps>,
}

#[derive(Default)]
struct Maps {
    guest: BTreeMap<(ProjectKey, String), Vec<u8>>,
    host: BTreeMap<(HostTable, String), Vec<u8>>,
}

impl MemoryStore {
    fn lock(&self) -> MutexGuard<'_, Maps> {
        // Commits mutate under one lock and cannot panic midway; a poisoned lock still holds
        // consistent maps.
        self.maps.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait::async_trait]
impl ModelStore for MemoryStore {
    async fn get(&self, scope: &ProjectKey, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        Ok(self
            .lock()
            .guest
            .get(&(scope.clone(), key.to_owned()))
            .cloned())
    }

    async fn list_keys(
        &self,
        scope: &ProjectKey,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure> {
        let start = (scope.clone(), prefix.to_owned());
        Ok(self
            .lock()
            .guest
            .range(start..)
            .take_while(|((s, k), _)| s == scope && k.starts_with(prefix))
            .map(|((_, k), _)| k.clone())
            .collect())
    }

    async fn host_records(&self, table: HostTable) -> Result<Vec<(String, Vec<u8>)>, StoreFailure> {
        Ok(self
            .lock()
            .host
            .range((table, String::new())..)
            .take_while(|((t, _), _)| *t == table)
            .map(|((_, k), v)| (k.clone(), v.clone()))
            .collect())
    }

    async fn host_record(
        &self,
        table: HostTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreFailure> {
        Ok(self.lock().host.get(&(table, key.to_owned())).cloned())
    }

    async fn commit(&self, batch: Batch) -> Result<(), StoreFailure> {
        let mut maps = self.lock();
        for (scope, writes) in batch.guest {
            for (key, value) in writes {
                let key = (scope.clone(), key);
                match value {
                    Some(value) => maps.guest.insert(key, value),
                    None => maps.guest.remove(&key),
                };
            }
        }
        for (table, (key, value)) in batch.host {
            match value {
                Some(value) => maps.host.insert((table, key), value),
                None => maps.host.remove(&(table, key)),
            };
        }
        Ok(())
    }

    fn describe(&self) -> String {
        "memory (not persistent)".into()
    }
}

//! The default, persistent store backend: one [redb](https://docs.rs/redb) file in the data
//! directory.
//!
//! Why redb: an embedded, pure-Rust, ACID key/value store with copy-on-write B-trees and
//! checksummed commits, so a `kill -9` or power loss leaves either the previous or the new
//! transaction, never a torn value; no server to run and no C library to build. Each
//! [`Batch`] is committed atomically with immediate durability (fsync) before `commit`
//! returns; batches committed at the same moment share one transaction and one fsync
//! (`group_commit`).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use redb::{Database, ReadableDatabase, TableDefinition, WriteTransaction};

use super::group_commit::GroupCommitter;
use super::{Batch, HostTable, ModelStore, ProjectKey, StoreFailure};

/// Models' keys: (model, project, key) -> value.
const GUEST: TableDefinition<(&str, &str, &str), &[u8]> = TableDefinition::new("guest");
/// Host records: (table name, key) -> JSON.
const HOST: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("host");

/// A redb database file.
#[derive(Clone)]
pub struct RedbStore {
    db: Arc<Database>,
    path: PathBuf,
    writer: Arc<GroupCommitter>,
}

fn unavailable(err: impl std::fmt::Display) -> StoreFailure {
    StoreFailure::Unavailable(err.to_string())
}

impl RedbStore {
    /// Opens (or creates) the database at `path`, repairing it after a crash if needed, and
    /// makes sure both tables exist.
    pub fn open(path: &Path) -> Result<Self, StoreFailure> {
        // redb also walks its repair path when it initialises a new file; only an existing
        // file being repaired is worth a warning.
        let existed = path.exists();
        let db = Database::builder()
            .set_repair_callback(move |session| {
                if existed && session.progress() == 0.0 {
                    tracing::warn!(
                        "repairing the store after an unclean shutdown (time grows with its size)"
                    );
                }
            })
            .create(path)
            .map_err(|e| StoreFailure::Unavailable(format!("{}: {e}", path.display())))?;
        let txn = db.begin_write().map_err(unavailable)?;
        txn.open_table(GUEST).map_err(unavailable)?;
        txn.open_table(HOST).map_err(unavailable)?;
        txn.commit().map_err(unavailable)?;
        let db = Arc::new(db);
        Ok(Self {
            writer: Arc::new(GroupCommitter::start(db.clone(), apply_batch)?),
            db,
            path: path.to_owned(),
        })
    }

    /// Runs blocking database work off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreFailure> + Send + 'static,
    ) -> Result<T, StoreFailure> {
        let db = self.db.clone();
        tokio::task::spawn_blocking(move || work(&db))
            .await
            .map_err(|e| StoreFailure::Unavailable(format!("store task failed: {e}")))?
    }

    /// Runs a read on the calling worker. Reads are short (redb serves them from its page
    /// cache, a few microseconds) and a guest may make thousands per call: a hop to another
    /// thread (the blocking pool, or `block_in_place` handing the worker's other tasks to a
    /// new thread) costs more than the read, in futex wake-ups and context switches.
    /// Being in place, the work may borrow its arguments: nothing is copied to move it.
    fn read<T>(
        &self,
        work: impl FnOnce(&Database) -> Result<T, StoreFailure>,
    ) -> Result<T, StoreFailure> {
        work(&self.db)
    }
}

#[async_trait::async_trait]
impl ModelStore for RedbStore {
    async fn get(&self, scope: &ProjectKey, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.read(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(GUEST).map_err(unavailable)?;
            let value = table
                .get((scope.model.as_str(), scope.project.as_str(), key))
                .map_err(unavailable)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
    }

    async fn list_keys(
        &self,
        scope: &ProjectKey,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure> {
        self.read(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let table = txn.open_table(GUEST).map_err(unavailable)?;
            let start = (scope.model.as_str(), scope.project.as_str(), prefix);
            let mut keys = Vec::new();
            for entry in table.range(start..).map_err(unavailable)? {
                let (key, _) = entry.map_err(unavailable)?;
                let (model, project, key) = key.value();
                if model != scope.model || project != scope.project || !key.starts_with(prefix) {
                    break;
                }
                keys.push(key.to_owned());
            }
            Ok(keys)
        })
    }

    async fn host_records(&self, table: HostTable) -> Result<Vec<(String, Vec<u8>)>, StoreFailure> {
        self.blocking(move |db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let records = txn.open_table(HOST).map_err(unavailable)?;
            let mut out = Vec::new();
            for entry in records.range((table.name(), "")..).map_err(unavailable)? {
                let (key, value) = entry.map_err(unavailable)?;
                let (name, key) = key.value();
                if name != table.name() {
                    break;
                }
                out.push((key.to_owned(), value.value().to_vec()));
            }
            Ok(out)
        })
        .await
    }

    async fn host_record(
        &self,
        table: HostTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.read(|db| {
            let txn = db.begin_read().map_err(unavailable)?;
            let records = txn.open_table(HOST).map_err(unavailable)?;
            let value = records.get((table.name(), key)).map_err(unavailable)?;
            Ok(value.map(|v| v.value().to_vec()))
        })
    }

    async fn commit(&self, batch: Batch) -> Result<(), StoreFailure> {
        self.writer.commit(batch).await
    }

    fn describe(&self) -> String {
        format!("redb at {}", self.path.display())
    }
}

/// Writes `batch` into `txn` (not committed).
fn apply_batch(txn: &WriteTransaction, batch: &Batch) -> Result<(), StoreFailure> {
    let mut guest = txn.open_table(GUEST).map_err(unavailable)?;
    for (scope, writes) in &batch.guest {
        for (key, value) in writes {
            let key = (scope.model.as_str(), scope.project.as_str(), key.as_str());
            match value {
                Some(value) => guest.insert(key, value.as_slice()).map(|_| ()),
                None => guest.remove(key).map(|_| ()),
            }
            .map_err(unavailable)?;
        }
    }
    let mut host = txn.open_table(HOST).map_err(unavailable)?;
    for (table, (key, value)) in &batch.host {
        let key = (table.name(), key.as_str());
        match value {
            Some(value) => host.insert(key, value.as_slice()).map(|_| ()),
            None => host.remove(key).map(|_| ()),
        }
        .map_err(unavailable)?;
    }
    Ok(())
}

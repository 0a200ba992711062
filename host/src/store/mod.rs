//! The host side of the WIT `store` interface: key/value storage scoped to (model, project),
//! plus the host's own records (project settings, training jobs) in the same database.
//!
//! Every backend implements [`ModelStore`]. Guests never write to a backend directly: each
//! call gets a [`CallStore`], which buffers the call's writes and commits them in one
//! transaction when the call succeeds (together with the host records the call changes, such
//! as a new model version). A call that traps or times out leaves nothing behind.

mod call;
mod group_commit;
mod memory;
mod redb;
mod redis;

pub use call::CallStore;
pub use memory::MemoryStore;
pub use redb::RedbStore;
pub use redis::RedisStore;

/// Longest key a model may use, in bytes: keys are names, not data.
pub const MAX_KEY_BYTES: usize = 1024;
/// Largest value a model may store, in bytes: enough for a trained text model, small enough
/// that one model cannot exhaust the host's disk or memory in one call.
pub const MAX_VALUE_BYTES: usize = 16 * 1024 * 1024;
/// Most bytes one call may write before it commits (values plus keys): bounds the memory a
/// call's pending transaction holds in the host.
pub const MAX_CALL_WRITE_BYTES: usize = 256 * 1024 * 1024;

/// Whose keys a call may touch: one model in one project.
pub use crate::identity::ProjectKey;

/// Why a store operation failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum StoreFailure {
    /// The value exceeds [`MAX_VALUE_BYTES`], or the call's writes exceed
    /// [`MAX_CALL_WRITE_BYTES`]; carries the limit that was hit.
    #[error("{what} of {size} bytes exceeds the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: &'static str,
        /// Its size.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The key is empty or too long.
    #[error("invalid key: {0}")]
    InvalidKey(String),
    /// The backend failed.
    #[error("store unavailable: {0}")]
    Unavailable(String),
    /// A fenced batch was refused: its lock had expired and may be held by another host.
    /// Nothing of the batch was written.
    #[error("lost the lock {0} before committing: nothing was written")]
    LockLost(String),
}

/// The host's own record kinds, kept next to the models' keys so one transaction can change
/// both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum HostTable {
    /// Per (model, project) settings: label config, extra params, trained generation.
    Projects,
    /// Training jobs, queued and finished.
    Jobs,
    /// Per (model, project) trained generation, written only by training.
    Generations,
}

impl HostTable {
    /// The table's name in a backend.
    pub fn name(self) -> &'static str {
        match self {
            Self::Projects => "projects",
            Self::Jobs => "jobs",
            Self::Generations => "generations",
        }
    }
}

/// One write: a new value, or `None` to delete.
pub type Write = (String, Option<Vec<u8>>);

/// Changes committed together, atomically: all of them or none.
#[derive(Debug, Default, Clone)]
pub struct Batch {
    /// Writes to models' keys, by scope.
    pub guest: Vec<(ProjectKey, Vec<Write>)>,
    /// Writes to the host's records.
    pub host: Vec<(HostTable, Write)>,
    /// When set, the batch commits only while this lock is still held by its taker: a host
    /// whose lease ran out (a pause, a partition) must not commit over the host that took the
    /// lock after it.
    pub fence: Option<Fence>,
}

/// Proof of holding a [`ModelStore::lock`]: the lock's name in the backend and the holder's
/// random token.
#[derive(Clone, PartialEq, Eq)]
pub struct Fence {
    /// The lock's key in the backend.
    pub key: String,
    /// The holder's token (random, 128 bits).
    pub token: String,
}

impl std::fmt::Debug for Fence {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token proves ownership of the lock: keep it out of logs.
        f.debug_struct("Fence")
            .field("key", &self.key)
            .finish_non_exhaustive()
    }
}

impl Batch {
    /// A batch changing one host record.
    pub fn host(table: HostTable, key: String, value: Option<Vec<u8>>) -> Self {
        Self {
            guest: Vec::new(),
            host: vec![(table, (key, value))],
            fence: None,
        }
    }

    /// Adds a host record change.
    pub fn with_host(mut self, table: HostTable, key: String, value: Option<Vec<u8>>) -> Self {
        self.host.push((table, (key, value)));
        self
    }

    /// Commits only while `lock` is still held (see [`Batch::fence`]).
    pub fn fenced_by(mut self, lock: &StoreLock) -> Self {
        self.fence = lock.fence.clone();
        self
    }
}

/// A storage backend. Keys arrive already scoped and checked; implementations store them as
/// given and must apply a [`Batch`] atomically and durably.
#[async_trait::async_trait]
pub trait ModelStore: Send + Sync {
    /// The value under `key` in `scope`.
    async fn get(&self, scope: &ProjectKey, key: &str) -> Result<Option<Vec<u8>>, StoreFailure>;
    /// The keys of `scope` starting with `prefix`, in byte order.
    async fn list_keys(
        &self,
        scope: &ProjectKey,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure>;
    /// Every record of a host table, in key order.
    async fn host_records(&self, table: HostTable) -> Result<Vec<(String, Vec<u8>)>, StoreFailure>;
    /// One record of a host table.
    async fn host_record(
        &self,
        table: HostTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreFailure>;
    /// Applies every write of `batch` in one transaction.
    async fn commit(&self, batch: Batch) -> Result<(), StoreFailure>;
    /// A short description for logs and `GET /models` (backend and location).
    fn describe(&self) -> String;

    /// True when other hosts write to the same store: the host must then read its records
    /// afresh instead of caching them, and serialise training through [`ModelStore::lock`].
    fn shared(&self) -> bool {
        false
    }

    /// A training job id no other host of this store uses; `local_next` is this host's next
    /// free id, which is the answer for a store one host owns.
    async fn next_job_id(&self, local_next: u64) -> Result<u64, StoreFailure> {
        Ok(local_next)
    }

    /// Holds `name` exclusively across every host of this store until the returned guard
    /// drops. A store one host owns needs no lock (the host serialises its own jobs).
    async fn lock(&self, name: &str) -> Result<StoreLock, StoreFailure> {
        let _ = name;
        Ok(StoreLock::none())
    }
}

/// A lock held across hosts; released when dropped.
pub struct StoreLock {
    /// What releases the lock when dropped (nothing for stores one host owns).
    _held: Option<Box<dyn Send + Sync>>,
    /// What a batch must carry to commit only while the lock is held.
    fence: Option<Fence>,
}

impl StoreLock {
    /// No lock: the store has a single host.
    pub fn none() -> Self {
        Self {
            _held: None,
            fence: None,
        }
    }

    /// The proof of holding this lock, when it is a lock across hosts.
    pub fn fence(&self) -> Option<Fence> {
        self.fence.clone()
    }

    /// A lock released by dropping `held`, proven by `fence`.
    pub fn held(held: impl Send + Sync + 'static, fence: Fence) -> Self {
        Self {
            _held: Some(Box::new(held)),
            fence: Some(fence),
        }
    }
}

/// Checks a key a guest passed in.
pub(crate) fn check_key(key: &str) -> Result<(), StoreFailure> {
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
mod tests;

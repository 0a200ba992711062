//! The shared store backend: one Redis server (or Valkey) behind several wasml hosts, so that
//! hosts behind a load balancer serve the same trained state (`--store redis://host:port/db`).
//!
//! Layout, all under the `wasml:` prefix (model names never contain `/`, so the first `/`
//! separates model and project unambiguously):
//! - `wasml:v:<model>/<project>`: hash of a scope's keys to values;
//! - `wasml:k:<model>/<project>`: sorted set of the same keys, all with score 0, so
//!   `ZRANGEBYLEX` lists them by prefix in byte order;
//! - `wasml:host:<table>`: hash of the host's records (project settings, jobs).
//!
//! A [`Batch`] is one script run (see [`COMMIT`]): other clients see all of its writes or
//! none, and a batch fenced by a training lock commits only while the lock is still held.
//! Durability is the server's: run Redis with `appendonly yes` (and `appendfsync always` for
//! the embedded store's guarantee) when trained state must survive a Redis restart.

use std::path::Path;

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Batch, HostTable, ModelStore, ProjectKey, StoreFailure, StoreLock};

mod lock;
mod tls;

/// The counter that numbers training jobs across hosts.
const JOB_COUNTER: &str = "wasml:counter:jobs";

/// A connection to a Redis server, re-established automatically when it drops.
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    /// The URL without credentials, for logs.
    location: String,
}

fn unavailable(err: redis::RedisError) -> StoreFailure {
    StoreFailure::Unavailable(format!("redis: {err}"))
}

fn values_key(scope: &ProjectKey) -> String {
    format!("wasml:v:{}", scope.record_key())
}

fn index_key(scope: &ProjectKey) -> String {
    format!("wasml:k:{}", scope.record_key())
}

fn host_key(table: HostTable) -> String {
    format!("wasml:host:{}", table.name())
}

/// Applies a batch atomically (Redis runs a script with no other command in between), and
/// only while the fence's lock key still holds the fence's token, checked inside the same
/// script: a host whose lease expired cannot commit after another host took the lock.
/// `KEYS[1]` is the lock key (or any key when unfenced), `ARGV[1]` the token or `""`; then
/// one key per operation and `op, field[, value]` in `ARGV`. Answers 1 when applied, 0 when
/// the fence no longer holds.
const COMMIT: &str = r#"
if ARGV[1] ~= "" and redis.call("get", KEYS[1]) ~= ARGV[1] then return 0 end
local a, k = 2, 2
while a <= #ARGV do
  local op = ARGV[a]
  if op == "hset" then redis.call("hset", KEYS[k], ARGV[a + 1], ARGV[a + 2]); a = a + 3
  elseif op == "hdel" then redis.call("hdel", KEYS[k], ARGV[a + 1]); a = a + 2
  elseif op == "zadd" then redis.call("zadd", KEYS[k], 0, ARGV[a + 1]); a = a + 2
  elseif op == "zrem" then redis.call("zrem", KEYS[k], ARGV[a + 1]); a = a + 2
  else return redis.error_reply("unknown operation " .. op) end
  k = k + 1
end
return 1
"#;

/// The [`COMMIT`] script invocation for `batch`.
fn commit_script(batch: &Batch) -> redis::ScriptInvocation<'static> {
    static SCRIPT: std::sync::LazyLock<redis::Script> =
        std::sync::LazyLock::new(|| redis::Script::new(COMMIT));
    let mut call = SCRIPT.prepare_invoke();
    match &batch.fence {
        Some(fence) => call.key(&fence.key).arg(&fence.token),
        None => call.key(JOB_COUNTER).arg(""),
    };
    for (scope, writes) in &batch.guest {
        let (values, index) = (values_key(scope), index_key(scope));
        for (key, value) in writes {
            match value {
                Some(value) => {
                    call.key(&values).arg("hset").arg(key).arg(value.as_slice());
                    call.key(&index).arg("zadd").arg(key);
                }
                None => {
                    call.key(&values).arg("hdel").arg(key);
                    call.key(&index).arg("zrem").arg(key);
                }
            }
        }
    }
    for (table, (key, value)) in &batch.host {
        match value {
            Some(value) => call
                .key(host_key(*table))
                .arg("hset")
                .arg(key)
                .arg(value.as_slice()),
            None => call.key(host_key(*table)).arg("hdel").arg(key),
        };
    }
    call
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://[user:pass@]host:port/db`) and checks it
    /// answers; a `rediss://` URL is checked against the system's roots.
    pub async fn connect(url: &str) -> Result<Self, StoreFailure> {
        Self::connect_with_ca(url, None).await
    }

    /// [`RedisStore::connect`], trusting the CA certificates in the PEM file `ca_file`
    /// (instead of the system's roots) for a `rediss://` URL; a CA file with any other URL
    /// is an error.
    pub async fn connect_with_ca(url: &str, ca_file: Option<&Path>) -> Result<Self, StoreFailure> {
        let client = tls::client(url, ca_file)?;
        let info = client.get_connection_info();
        // Built from the parsed address, never from `url`: the URL may hold a password.
        let tls = match info.addr() {
            redis::ConnectionAddr::TcpTls { .. } => " (TLS)",
            _ => "",
        };
        let location = format!(
            "redis at {}/{}{tls}",
            info.addr(),
            info.redis_settings().db()
        );
        let mut connection = ConnectionManager::new(client)
            .await
            .map_err(|e| StoreFailure::Unavailable(format!("{location}: {e}")))?;
        let _: String = redis::cmd("PING")
            .query_async(&mut connection)
            .await
            .map_err(unavailable)?;
        Ok(Self {
            connection,
            location,
        })
    }

    /// A connection for one operation: the manager is a cheap, shared handle.
    fn connection(&self) -> ConnectionManager {
        self.connection.clone()
    }
}

#[async_trait::async_trait]
impl ModelStore for RedisStore {
    async fn get(&self, scope: &ProjectKey, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.connection()
            .hget(values_key(scope), key)
            .await
            .map_err(unavailable)
    }

    async fn list_keys(
        &self,
        scope: &ProjectKey,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure> {
        // Keys are UTF-8, which never contains the byte 0xff: every key starting with
        // `prefix` sorts between `[prefix` and `[prefix\xff`.
        let (min, max): (Vec<u8>, Vec<u8>) = if prefix.is_empty() {
            (b"-".to_vec(), b"+".to_vec())
        } else {
            let min = [b"[", prefix.as_bytes()].concat();
            let max = [b"[", prefix.as_bytes(), b"\xff"].concat();
            (min, max)
        };
        self.connection()
            .zrangebylex(index_key(scope), min, max)
            .await
            .map_err(unavailable)
    }

    async fn host_records(&self, table: HostTable) -> Result<Vec<(String, Vec<u8>)>, StoreFailure> {
        let mut records: Vec<(String, Vec<u8>)> = self
            .connection()
            .hgetall(host_key(table))
            .await
            .map_err(unavailable)?;
        records.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(records)
    }

    async fn host_record(
        &self,
        table: HostTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.connection()
            .hget(host_key(table), key)
            .await
            .map_err(unavailable)
    }

    async fn commit(&self, batch: Batch) -> Result<(), StoreFailure> {
        let fence = batch.fence.clone();
        let applied: i64 = commit_script(&batch)
            .invoke_async(&mut self.connection())
            .await
            .map_err(unavailable)?;
        match (applied, fence) {
            (1, _) => Ok(()),
            (_, Some(fence)) => Err(StoreFailure::LockLost(fence.key)),
            (other, None) => Err(StoreFailure::Unavailable(format!(
                "redis: the commit script answered {other}"
            ))),
        }
    }

    fn describe(&self) -> String {
        self.location.clone()
    }

    fn shared(&self) -> bool {
        true
    }

    async fn next_job_id(&self, _local_next: u64) -> Result<u64, StoreFailure> {
        self.connection()
            .incr(JOB_COUNTER, 1)
            .await
            .map_err(unavailable)
    }

    async fn lock(&self, name: &str) -> Result<StoreLock, StoreFailure> {
        let lock =
            lock::RedisLock::acquire(self.connection(), format!("wasml:lock:{name}")).await?;
        let fence = lock.fence();
        Ok(StoreLock::held(lock, fence))
    }
}

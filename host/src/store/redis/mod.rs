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
//! A [`Batch`] is one `MULTI`/`EXEC` transaction: other clients see all of its writes or none.
//! Durability is the server's: run Redis with `appendonly yes` (and `appendfsync always` for
//! the embedded store's guarantee) when trained state must survive a Redis restart.

use redis::AsyncCommands;
use redis::aio::ConnectionManager;

use super::{Batch, HostTable, ModelStore, StoreFailure, StoreLock, StoreScope};

mod lock;

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

fn values_key(scope: &StoreScope) -> String {
    format!("wasml:v:{}/{}", scope.model, scope.project)
}

fn index_key(scope: &StoreScope) -> String {
    format!("wasml:k:{}/{}", scope.model, scope.project)
}

fn host_key(table: HostTable) -> String {
    format!("wasml:host:{}", table.name())
}

impl RedisStore {
    /// Connects to the server at `url` (`redis://[user:pass@]host:port/db`) and checks it
    /// answers.
    pub async fn connect(url: &str) -> Result<Self, StoreFailure> {
        let client = redis::Client::open(url).map_err(unavailable)?;
        let info = client.get_connection_info();
        let location = format!("redis at {}/{}", info.addr(), info.redis_settings().db());
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
    async fn get(&self, scope: &StoreScope, key: &str) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.connection()
            .hget(values_key(scope), key)
            .await
            .map_err(unavailable)
    }

    async fn list_keys(
        &self,
        scope: &StoreScope,
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
        let mut pipe = redis::pipe();
        pipe.atomic();
        for (scope, writes) in &batch.guest {
            let (values, index) = (values_key(scope), index_key(scope));
            for (key, value) in writes {
                match value {
                    Some(value) => {
                        pipe.hset(&values, key, value.as_slice()).ignore();
                        pipe.zadd(&index, key, 0).ignore();
                    }
                    None => {
                        pipe.hdel(&values, key).ignore();
                        pipe.zrem(&index, key).ignore();
                    }
                }
            }
        }
        for (table, (key, value)) in &batch.host {
            match value {
                Some(value) => pipe.hset(host_key(*table), key, value.as_slice()).ignore(),
                None => pipe.hdel(host_key(*table), key).ignore(),
            };
        }
        pipe.query_async::<()>(&mut self.connection())
            .await
            .map_err(unavailable)
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
        Ok(StoreLock::held(lock))
    }
}

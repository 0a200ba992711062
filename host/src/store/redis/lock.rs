//! A lock with expiry in Redis (the single-instance pattern of the Redis documentation):
//! `SET key token NX PX ttl` takes it; a background task extends it while it is held, so a
//! `fit` may run for hours; a crashed host's lock expires after [`LEASE`]; releasing deletes
//! the key only if it still holds this holder's token.

use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::task::JoinHandle;

use super::unavailable;
use crate::store::StoreFailure;

/// How long a lock outlives a host that stopped extending it.
const LEASE: Duration = Duration::from_secs(30);
/// How often a held lock is extended: well within the lease.
const RENEW_EVERY: Duration = Duration::from_secs(10);
/// How often a waiting host retries.
const RETRY_EVERY: Duration = Duration::from_millis(100);

/// Extends the lease only while the key still holds our token.
const RENEW: &str = r#"if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("pexpire", KEYS[1], ARGV[2]) else return 0 end"#;
/// Deletes the key only while it still holds our token.
const RELEASE: &str = r#"if redis.call("get", KEYS[1]) == ARGV[1] then
  return redis.call("del", KEYS[1]) else return 0 end"#;

/// A held lock; dropping it stops the renewals and releases it.
pub struct RedisLock {
    connection: ConnectionManager,
    key: String,
    token: String,
    renewal: JoinHandle<()>,
}

impl RedisLock {
    /// Waits until `key` is free, then takes it.
    pub async fn acquire(
        mut connection: ConnectionManager,
        key: String,
    ) -> Result<Self, StoreFailure> {
        let token = format!("{}-{}", std::process::id(), unique());
        let lease_ms = LEASE.as_millis() as u64;
        loop {
            let taken: Option<String> = redis::cmd("SET")
                .arg(&key)
                .arg(&token)
                .arg("NX")
                .arg("PX")
                .arg(lease_ms)
                .query_async(&mut connection)
                .await
                .map_err(unavailable)?;
            if taken.is_some() {
                break;
            }
            tokio::time::sleep(RETRY_EVERY).await;
        }
        let renewal = tokio::spawn({
            let (mut connection, key, token) = (connection.clone(), key.clone(), token.clone());
            async move {
                let script = redis::Script::new(RENEW);
                loop {
                    tokio::time::sleep(RENEW_EVERY).await;
                    let renewed: redis::RedisResult<i64> = script
                        .key(&key)
                        .arg(&token)
                        .arg(lease_ms)
                        .invoke_async(&mut connection)
                        .await;
                    if !matches!(renewed, Ok(1)) {
                        tracing::error!(
                            key,
                            "lost a training lock (Redis unreachable or lease expired): {renewed:?}"
                        );
                    }
                }
            }
        });
        Ok(Self {
            connection,
            key,
            token,
            renewal,
        })
    }
}

impl Drop for RedisLock {
    fn drop(&mut self) {
        self.renewal.abort();
        let (mut connection, key, token) = (
            self.connection.clone(),
            self.key.clone(),
            self.token.clone(),
        );
        // Release in the background; if it never happens the lease expires on its own.
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                let released: redis::RedisResult<i64> = redis::Script::new(RELEASE)
                    .key(&key)
                    .arg(&token)
                    .invoke_async(&mut connection)
                    .await;
                if let Err(err) = released {
                    tracing::warn!(
                        key,
                        "cannot release a training lock (it expires on its own): {err}"
                    );
                }
            });
        }
    }
}

/// A process-unique number, so two locks of one host never share a token.
fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ NEXT.fetch_add(1, Ordering::Relaxed).rotate_left(48)
}

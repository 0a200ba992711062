//! A lock with expiry in Redis (the single-instance pattern of the Redis documentation):
//! `SET key token NX PX ttl` takes it; a background task extends it while it is held, so a
//! `fit` may run for hours; a crashed host's lock expires after [`LEASE`]; releasing deletes
//! the key only if it still holds this holder's token. Commits made under the lock carry its
//! [`Fence`] and are refused once the key holds another token (see `commit` in `mod.rs`).

use std::time::Duration;

use redis::aio::ConnectionManager;
use tokio::task::JoinHandle;

use super::unavailable;
use crate::store::{Fence, StoreFailure};

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
        let token = random_token()?;
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

impl RedisLock {
    /// What a batch carries to commit only while this lock is held.
    pub fn fence(&self) -> Fence {
        Fence {
            key: self.key.clone(),
            token: self.token.clone(),
        }
    }
}

/// 128 random bits from the OS, hex: unique across hosts and restarts (a pid is not: in
/// containers every host is pid 1) and not guessable.
fn random_token() -> Result<String, StoreFailure> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes)
        .map_err(|e| StoreFailure::Unavailable(format!("no randomness for a lock token: {e}")))?;
    Ok(hex::encode(bytes))
}

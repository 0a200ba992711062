//! Warm instances: after a call that ended cleanly, its instance may serve the next call of
//! the same model in the same project at the same model version, as `wasmtime serve` reuses
//! instances. A fresh instance costs a store, an instantiation and the page faults of a new
//! linear memory on every call (hundreds of microseconds for an interpreted guest); a warm
//! one costs resetting the call's budgets.
//!
//! What is kept between calls is the guest's own memory and globals: never across projects
//! (a model must not carry one project's data into another's) and never across model
//! versions (a trained model must not answer from state cached before its training). An
//! instance is dropped after any trap or budget overrun, after `max_calls` calls, when it has
//! been idle for `idle`, or when its memory grew past `max_memory_bytes` (one large request
//! must not stay resident). SECURITY.md describes the isolation this gives up.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, Weak};
use std::time::{Duration, Instant};

use wasmtime::Store;

use super::bindings::ModelBindings;
use super::state::HostState;
use crate::limits::InstanceReuse;

/// An instance between two calls, with the store it lives in.
pub(super) struct WarmInstance {
    /// The store: the guest's memories, tables and resources.
    pub(super) store: Store<HostState>,
    /// The instance's exports.
    pub(super) bindings: ModelBindings,
    /// Calls it has served.
    pub(super) calls: u32,
    /// When its last call ended.
    idle_since: Instant,
}

impl WarmInstance {
    /// An instance that has served `calls` calls, the last one just now.
    pub(super) fn new(store: Store<HostState>, bindings: ModelBindings, calls: u32) -> Self {
        Self {
            store,
            bindings,
            calls,
            idle_since: Instant::now(),
        }
    }
}

/// Which calls may share an instance: one project at one model version.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ReuseKey {
    /// The project id.
    pub(super) project: String,
    /// The model version the call is stamped with (changes when training commits).
    pub(super) version: String,
}

/// One model's warm instances, by project and version.
pub(super) struct WarmPool {
    policy: InstanceReuse,
    /// Most instances kept at once across projects: the model's concurrent-call limit, so
    /// a model never holds more idle memory than its busiest moment did.
    capacity: usize,
    idle: Mutex<HashMap<ReuseKey, Vec<WarmInstance>>>,
}

impl WarmPool {
    /// An empty pool; `capacity` of at least one.
    pub(super) fn new(policy: InstanceReuse, capacity: usize) -> Arc<Self> {
        let pool = Arc::new(Self {
            policy,
            capacity: capacity.max(1),
            idle: Mutex::new(HashMap::new()),
        });
        if policy.enabled {
            start_sweeper(&pool);
        }
        pool
    }

    fn idle(&self) -> MutexGuard<'_, HashMap<ReuseKey, Vec<WarmInstance>>> {
        self.idle.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The most recently used warm instance for `key`, if one is still fresh.
    pub(super) fn take(&self, key: &ReuseKey) -> Option<WarmInstance> {
        if !self.policy.enabled {
            return None;
        }
        let mut idle = self.idle();
        let instances = idle.get_mut(key)?;
        let instance = instances.pop();
        if instances.is_empty() {
            idle.remove(key);
        }
        drop(idle);
        // A stale one is dropped here, outside the lock; the sweeper takes the rest.
        instance.filter(|i| i.idle_since.elapsed() < self.policy.idle)
    }

    /// Keeps `instance` for the next call of `key` if the policy allows, else drops it.
    /// `memory_bytes` is the linear memory it holds now.
    pub(super) fn put(&self, key: ReuseKey, instance: WarmInstance, memory_bytes: usize) {
        if !self.policy.enabled
            || instance.calls >= self.policy.max_calls
            || memory_bytes > self.policy.max_memory_bytes
        {
            return;
        }
        let mut idle = self.idle();
        let evicted = if idle.values().map(Vec::len).sum::<usize>() >= self.capacity {
            Self::evict_oldest(&mut idle)
        } else {
            None
        };
        idle.entry(key).or_default().push(instance);
        drop(idle);
        drop(evicted);
    }

    /// Removes the instance idle the longest.
    fn evict_oldest(idle: &mut HashMap<ReuseKey, Vec<WarmInstance>>) -> Option<WarmInstance> {
        let key = idle
            .iter()
            .filter_map(|(key, list)| list.first().map(|i| (key, i.idle_since)))
            .min_by_key(|(_, since)| *since)
            .map(|(key, _)| key.clone())?;
        let list = idle.get_mut(&key)?;
        // Each list is in order of return: the first is the oldest.
        let oldest = list.remove(0);
        if list.is_empty() {
            idle.remove(&key);
        }
        Some(oldest)
    }

    /// Drops every instance idle for longer than the policy allows.
    fn sweep(&self) {
        let mut expired = Vec::new();
        let mut idle = self.idle();
        idle.retain(|_, list| {
            let (stale, fresh): (Vec<_>, Vec<_>) = std::mem::take(list)
                .into_iter()
                .partition(|i| i.idle_since.elapsed() >= self.policy.idle);
            expired.extend(stale);
            *list = fresh;
            !list.is_empty()
        });
        drop(idle);
        drop(expired);
    }

    /// Warm instances held now.
    pub(super) fn len(&self) -> usize {
        self.idle().values().map(Vec::len).sum()
    }
}

/// Sweeps `pool` a few times per idle period until the pool (its model) is dropped, so warm
/// instances give their memory back soon after traffic stops.
fn start_sweeper(pool: &Arc<WarmPool>) {
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        // Outside a runtime (some tests): stale instances are then dropped by `take`.
        return;
    };
    let weak: Weak<WarmPool> = Arc::downgrade(pool);
    let period = (pool.policy.idle / 4).clamp(Duration::from_millis(100), Duration::from_secs(5));
    runtime.spawn(async move {
        let mut ticks = tokio::time::interval(period);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let Some(pool) = weak.upgrade() else { break };
            pool.sweep();
        }
    });
}

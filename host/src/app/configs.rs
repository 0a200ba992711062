//! Parsed label configs, keyed by their content: Label Studio sends the project's config
//! with every `/predict`, so each distinct config is parsed once and later requests only
//! hash and compare its text. Content keys need no invalidation, and hosts sharing a store
//! (Redis) agree on them by construction. Entries unused for [`CONFIG_IDLE`] are dropped, so
//! the memory of a large config comes back once its project goes quiet.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use crate::labelconfig::LabelConfigError;
use crate::runtime::CallConfig;

/// What the cache may hold, by [`CallConfig::approx_bytes`]: hundreds of ordinary configs
/// or two of 200,000 labels. A config larger than this is parsed and not kept.
const CACHE_BYTES: usize = 256 << 20;

/// How long an unused config is kept.
pub const CONFIG_IDLE: std::time::Duration = std::time::Duration::from_secs(60);

/// Label configs by content.
pub struct ConfigCache {
    entries: Mutex<HashMap<u64, Vec<Entry>>>,
    /// When the cache was made: uses are stamped in milliseconds since then.
    epoch: std::time::Instant,
}

impl Default for ConfigCache {
    fn default() -> Self {
        Self {
            entries: Mutex::default(),
            epoch: std::time::Instant::now(),
        }
    }
}

struct Entry {
    config: Arc<CallConfig>,
    /// Milliseconds since the cache's epoch at the last use.
    last_used: AtomicU64,
}

impl ConfigCache {
    fn entries(&self) -> MutexGuard<'_, HashMap<u64, Vec<Entry>>> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The parsed config with text `raw`, parsed now if it is not cached. A config that does
    /// not parse is not cached: its error is the client's to fix.
    pub fn get(&self, raw: String) -> Result<Arc<CallConfig>, LabelConfigError> {
        let key = xxhash_rust::xxh3::xxh3_64(raw.as_bytes());
        let now = self.now();
        if let Some(list) = self.entries().get(&key)
            && let Some(entry) = list.iter().find(|e| e.config.raw() == raw)
        {
            entry.last_used.store(now, Ordering::Relaxed);
            return Ok(entry.config.clone());
        }
        // Parsed outside the lock: a large config must not stall every other request.
        let config = Arc::new(CallConfig::parse(raw)?);
        let size = config.approx_bytes();
        if size <= CACHE_BYTES {
            let mut entries = self.entries();
            let list = entries.entry(key).or_default();
            if !list.iter().any(|e| e.config.raw() == config.raw()) {
                list.push(Entry {
                    config: config.clone(),
                    last_used: AtomicU64::new(now),
                });
            }
            evict_to(&mut entries, CACHE_BYTES);
        }
        Ok(config)
    }

    fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// Drops the configs unused for `idle`; true when it dropped any.
    pub fn sweep(&self, idle: std::time::Duration) -> bool {
        let cutoff = self
            .now()
            .saturating_sub(u64::try_from(idle.as_millis()).unwrap_or(u64::MAX));
        let mut dropped = Vec::new();
        let mut entries = self.entries();
        entries.retain(|_, list| {
            let (stale, fresh): (Vec<_>, Vec<_>) = std::mem::take(list)
                .into_iter()
                .partition(|e| e.last_used.load(Ordering::Relaxed) < cutoff);
            dropped.extend(stale);
            *list = fresh;
            !list.is_empty()
        });
        drop(entries);
        !dropped.is_empty()
    }

    /// Configs held now.
    pub fn len(&self) -> usize {
        self.entries().values().map(Vec::len).sum()
    }

    /// True when no config is held.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Drops least recently used entries until the rest fit in `budget` bytes.
fn evict_to(entries: &mut HashMap<u64, Vec<Entry>>, budget: usize) {
    loop {
        let total: usize = entries
            .values()
            .flatten()
            .map(|e| e.config.approx_bytes())
            .sum();
        if total <= budget {
            return;
        }
        let oldest = entries
            .iter()
            .flat_map(|(key, list)| {
                list.iter()
                    .enumerate()
                    .map(move |(at, e)| (*key, at, e.last_used.load(Ordering::Relaxed)))
            })
            .min_by_key(|(_, _, used)| *used);
        let Some((key, at, _)) = oldest else { return };
        if let Some(list) = entries.get_mut(&key) {
            list.remove(at);
            if list.is_empty() {
                entries.remove(&key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"<View><Text name="t" value="$text"/><Choices name="c" toName="t"><Choice value="A"/></Choices></View>"#;

    #[test]
    fn a_config_is_parsed_once_per_content() {
        let cache = ConfigCache::default();
        let first = cache.get(CONFIG.to_owned()).expect("valid");
        let again = cache.get(CONFIG.to_owned()).expect("valid");
        assert!(Arc::ptr_eq(&first, &again));
        let other = cache.get(CONFIG.replace("\"A\"", "\"B\"")).expect("valid");
        assert!(!Arc::ptr_eq(&first, &other));
        assert_eq!(other.parsed().controls["c"].labels.len(), 1);
        assert!(other.parsed().controls["c"].labels.contains_key("B"));
        assert_eq!(cache.len(), 2);
    }

    #[test]
    fn broken_configs_are_errors_and_not_kept() {
        let cache = ConfigCache::default();
        assert!(cache.get("<View><Text".to_owned()).is_err());
        assert!(cache.is_empty());
    }

    #[test]
    fn the_least_recently_used_go_first() {
        let mut entries = HashMap::new();
        for (i, used) in [(0u64, 5u64), (1, 1), (2, 9)] {
            let raw = CONFIG.replace("\"A\"", &format!("\"L{i}\""));
            entries.insert(
                i,
                vec![Entry {
                    config: Arc::new(CallConfig::parse(raw).expect("valid")),
                    last_used: AtomicU64::new(used),
                }],
            );
        }
        let one = entries[&0][0].config.approx_bytes();
        evict_to(&mut entries, 2 * one);
        let mut kept: Vec<u64> = entries.keys().copied().collect();
        kept.sort();
        assert_eq!(kept, [0, 2]);
    }

    #[test]
    fn unused_configs_are_dropped() {
        let cache = ConfigCache::default();
        cache.get(CONFIG.to_owned()).expect("valid");
        assert!(!cache.sweep(std::time::Duration::from_secs(60)));
        assert_eq!(cache.len(), 1);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert!(cache.sweep(std::time::Duration::from_millis(1)));
        assert!(cache.is_empty());
    }
}

//! The on-disk cache of fetched task data, under the data dir: one file per reference, keyed
//! by the project's Label Studio, the project and the reference as it appears in the task (so
//! rotating presign signatures still hit), bounded in size, least recently used evicted
//! first. An entry is written to a temporary file and renamed into place only once the body
//! was received whole.

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use sha2::{Digest, Sha256};

/// What an entry holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The body.
    pub bytes: Vec<u8>,
    /// Its content type, if the server sent one.
    pub content_type: Option<String>,
}

/// A size-bounded folder of entries.
pub struct FetchCache {
    dir: PathBuf,
    limit_bytes: u64,
    index: Mutex<Index>,
}

#[derive(Default)]
struct Index {
    /// Key -> (size on disk, last use).
    entries: HashMap<String, (u64, u64)>,
    total: u64,
    clock: u64,
    hits: u64,
    misses: u64,
}

/// Hits and misses since start-up, for `GET /models`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct CacheStats {
    /// Lookups answered from the cache.
    pub hits: u64,
    /// Lookups that fetched.
    pub misses: u64,
    /// Bytes held.
    pub bytes: u64,
    /// The bound.
    pub limit_bytes: u64,
}

impl FetchCache {
    /// A cache in `dir` (created) of at most `limit_bytes`; entries already there are kept,
    /// the oldest first to go.
    pub fn open(dir: &Path, limit_bytes: u64) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut found = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let meta = entry.metadata()?;
            if name.ends_with(".tmp") {
                let _ = std::fs::remove_file(entry.path());
                continue;
            }
            let modified = meta.modified().ok();
            found.push((modified, name, meta.len()));
        }
        found.sort();
        let mut index = Index::default();
        for (_, name, size) in found {
            index.clock += 1;
            index.total += size;
            index.entries.insert(name, (size, index.clock));
        }
        let cache = Self {
            dir: dir.to_owned(),
            limit_bytes,
            index: Mutex::new(index),
        };
        cache.evict();
        Ok(cache)
    }

    /// The key of `reference` fetched for `scope` (Label Studio and project).
    pub fn key(scope: &str, reference: &str) -> String {
        let mut hasher = Sha256::new();
        hasher.update(scope.as_bytes());
        hasher.update([0]);
        hasher.update(reference.as_bytes());
        hex::encode(hasher.finalize())
    }

    fn index(&self) -> std::sync::MutexGuard<'_, Index> {
        self.index.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The entry under `key`, if cached (and readable).
    pub fn get(&self, key: &str) -> Option<Entry> {
        let known = self.index().entries.contains_key(key);
        let entry = known
            .then(|| {
                std::fs::read(self.dir.join(key))
                    .ok()
                    .and_then(|b| decode(&b))
            })
            .flatten();
        let mut index = self.index();
        index.clock += 1;
        let clock = index.clock;
        match (&entry, index.entries.get_mut(key)) {
            (Some(_), Some(slot)) => {
                slot.1 = clock;
                index.hits += 1;
            }
            _ => index.misses += 1,
        }
        entry
    }

    /// Stores `entry` under `key` (a body larger than the whole cache is not kept).
    pub fn put(&self, key: &str, entry: &Entry) {
        let encoded = encode(entry);
        let size = encoded.len() as u64;
        if size > self.limit_bytes {
            return;
        }
        let written = (|| -> std::io::Result<()> {
            let mut tmp = tempfile::Builder::new()
                .suffix(".tmp")
                .tempfile_in(&self.dir)?;
            tmp.write_all(&encoded)?;
            tmp.persist(self.dir.join(key)).map_err(|e| e.error)?;
            Ok(())
        })();
        if let Err(err) = written {
            tracing::warn!("cannot cache fetched task data: {err}");
            return;
        }
        {
            let mut index = self.index();
            index.clock += 1;
            let clock = index.clock;
            if let Some((old, _)) = index.entries.insert(key.to_owned(), (size, clock)) {
                index.total -= old;
            }
            index.total += size;
        }
        self.evict();
    }

    /// Removes the least recently used entries until the cache fits its bound.
    fn evict(&self) {
        let mut index = self.index();
        while index.total > self.limit_bytes {
            let Some(oldest) = index
                .entries
                .iter()
                .min_by_key(|(_, (_, used))| *used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some((size, _)) = index.entries.remove(&oldest) {
                index.total -= size;
            }
            let _ = std::fs::remove_file(self.dir.join(&oldest));
        }
    }

    /// Hits, misses and size.
    pub fn stats(&self) -> CacheStats {
        let index = self.index();
        CacheStats {
            hits: index.hits,
            misses: index.misses,
            bytes: index.total,
            limit_bytes: self.limit_bytes,
        }
    }
}

/// `<content type length: u16 LE><content type><body>`.
fn encode(entry: &Entry) -> Vec<u8> {
    let kind = entry.content_type.as_deref().unwrap_or_default().as_bytes();
    let kind = &kind[..kind.len().min(u16::MAX as usize)];
    let mut out = Vec::with_capacity(2 + kind.len() + entry.bytes.len());
    out.extend_from_slice(&(kind.len() as u16).to_le_bytes());
    out.extend_from_slice(kind);
    out.extend_from_slice(&entry.bytes);
    out
}

fn decode(bytes: &[u8]) -> Option<Entry> {
    let len = usize::from(u16::from_le_bytes([*bytes.first()?, *bytes.get(1)?]));
    let kind = bytes.get(2..2 + len)?;
    let content_type = (!kind.is_empty()).then(|| String::from_utf8_lossy(kind).into_owned());
    Some(Entry {
        bytes: bytes.get(2 + len..)?.to_vec(),
        content_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(n: usize) -> Entry {
        Entry {
            bytes: vec![7; n],
            content_type: Some("image/png".into()),
        }
    }

    #[test]
    fn least_recently_used_entries_go_first_and_survive_a_restart() {
        let dir = tempfile::tempdir().expect("dir");
        let cache = FetchCache::open(dir.path(), 3 * 120).expect("open");
        for key in ["a", "b", "c"] {
            cache.put(key, &entry(100));
        }
        assert_eq!(cache.get("a"), Some(entry(100)), "a is now the newest");
        cache.put("d", &entry(100));
        assert_eq!(cache.get("b"), None, "b was the least recently used");
        assert!(cache.get("a").is_some() && cache.get("c").is_some());
        let stats = cache.stats();
        assert_eq!((stats.hits, stats.misses), (3, 1));
        assert!(stats.bytes <= stats.limit_bytes);
        drop(cache);
        let reopened = FetchCache::open(dir.path(), 3 * 120).expect("reopen");
        assert_eq!(reopened.get("d"), Some(entry(100)));
    }

    #[test]
    fn keys_separate_projects_and_ignore_nothing() {
        assert_ne!(
            FetchCache::key("ls|1", "s3://b/k"),
            FetchCache::key("ls|2", "s3://b/k")
        );
        assert_eq!(
            FetchCache::key("ls|1", "s3://b/k"),
            FetchCache::key("ls|1", "s3://b/k")
        );
    }
}

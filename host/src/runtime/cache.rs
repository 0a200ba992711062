//! The compiled-artifact cache: serialized components under the data directory, keyed by
//! the component's SHA-256 and the engine's compatibility hash, so a restart or a re-added
//! component skips compilation (milliseconds instead of seconds for interpreter guests).

use std::hash::{Hash, Hasher};

use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Cache entries kept; the oldest beyond this are removed after each new entry.
const MAX_ENTRIES: usize = 128;

/// Feeds what a `Hash` implementation writes into SHA-256: unlike `DefaultHasher`, whose
/// algorithm may change with any Rust release, the key stays the same for the same engine
/// settings, so a host rebuilt with a newer compiler keeps its compile cache.
#[derive(Default)]
struct StableHasher(Sha256);

impl Hasher for StableHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// Unused: the key is the full digest (see [`CompileCache::new`]).
    fn finish(&self) -> u64 {
        let digest = self.0.clone().finalize();
        u64::from_le_bytes(digest[..8].try_into().unwrap_or_default())
    }
}

/// A folder of `<sha256>-<engine>.cwasm` files.
#[derive(Debug, Clone)]
pub struct CompileCache {
    dir: PathBuf,
    /// Changes whenever the wasmtime version or a setting that affects code does.
    engine_key: String,
}

impl CompileCache {
    /// A cache in `dir` (created if needed) for artifacts of `engine`.
    pub fn new(dir: &Path, engine: &Engine) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let mut hasher = StableHasher::default();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        let digest = hasher.0.finalize();
        Ok(Self {
            dir: dir.to_owned(),
            engine_key: hex::encode(&digest[..8]),
        })
    }

    fn entry(&self, component_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{component_hash}-{}.cwasm", self.engine_key))
    }

    /// True when an entry for `component_hash` exists (it may still turn out unusable).
    pub fn contains(&self, component_hash: &str) -> bool {
        self.entry(component_hash).is_file()
    }

    /// The cached artifact of the component with `component_hash`, if there is a usable one.
    /// An unreadable or incompatible entry is removed and reported as a miss.
    pub fn get(&self, engine: &Engine, component_hash: &str) -> Option<Component> {
        let path = self.entry(component_hash);
        if !path.is_file() {
            return None;
        }
        // SAFETY: `deserialize_file` trusts that the file is an artifact wasmtime produced:
        // it maps it and runs the code in it. Entries are written only by `put` below, from
        // `Component::serialize`, and renamed into place once complete, in a folder of the
        // host's data directory named by the content hash; wasmtime still checks the header
        // (version, target, settings) and refuses a mismatch. Whoever can write the data
        // directory can already replace the host's state; see SECURITY.md.
        #[allow(unsafe_code)]
        let loaded = unsafe { Component::deserialize_file(engine, &path) };
        match loaded {
            Ok(component) => Some(component),
            Err(err) => {
                tracing::warn!(path = %path.display(), "dropping an unusable cache entry: {err:#}");
                let _ = std::fs::remove_file(&path);
                None
            }
        }
    }

    /// Stores `component`'s artifact. Failures only cost a future compilation: logged.
    pub fn put(&self, component: &Component, component_hash: &str) {
        let path = self.entry(component_hash);
        let written = component
            .serialize()
            .map_err(|e| std::io::Error::other(format!("{e:#}")))
            .and_then(|bytes| {
                // A unique temporary name: hosts sharing the folder may write the same
                // entry at once, and each must rename a complete file of its own.
                let mut tmp = tempfile::Builder::new()
                    .prefix(&format!(".{component_hash}."))
                    .suffix(".tmp")
                    .tempfile_in(&self.dir)?;
                tmp.write_all(&bytes)?;
                tmp.persist(&path).map(drop).map_err(|e| e.error)
            });
        match written {
            Ok(()) => self.evict(),
            Err(err) => tracing::warn!("cannot cache a compiled component: {err}"),
        }
    }

    /// Removes the least recently written entries beyond [`MAX_ENTRIES`].
    fn evict(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        let mut entries: Vec<(std::time::SystemTime, PathBuf)> = dir
            .filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "cwasm"))
            .filter_map(|e| Some((e.metadata().ok()?.modified().ok()?, e.path())))
            .collect();
        if entries.len() <= MAX_ENTRIES {
            return;
        }
        entries.sort();
        for (_, path) in &entries[..entries.len() - MAX_ENTRIES] {
            let _ = std::fs::remove_file(path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_engine_key_is_sha256_of_what_the_hash_writes() {
        // Fixed bytes in, fixed digest out: no Rust release can change it.
        let mut hasher = StableHasher::default();
        1u64.hash(&mut hasher);
        "x".hash(&mut hasher);
        let digest = hasher.0.finalize();
        assert_eq!(hex::encode(&digest[..8]), "d20222a23cb2368d");
    }

    #[test]
    fn one_engine_configuration_has_one_key() {
        let dir = tempfile::tempdir().expect("temp dir");
        let engine = || Engine::new(&wasmtime::Config::new()).expect("engine");
        let a = CompileCache::new(dir.path(), &engine()).expect("cache");
        let b = CompileCache::new(dir.path(), &engine()).expect("cache");
        assert_eq!(a.engine_key, b.engine_key);
        assert_eq!(a.engine_key.len(), 16);
    }
}

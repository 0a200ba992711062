//! The compiled-artifact cache: serialized components under the data directory, keyed by
//! the component's SHA-256 and the engine's compatibility hash, so a restart or a re-added
//! component skips compilation (milliseconds instead of seconds for interpreter guests).

use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};

use wasmtime::Engine;
use wasmtime::component::Component;

/// Cache entries kept; the oldest beyond this are removed after each new entry.
const MAX_ENTRIES: usize = 128;

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
        let mut hasher = std::collections::hash_map::DefaultHasher::new();
        engine.precompile_compatibility_hash().hash(&mut hasher);
        Ok(Self {
            dir: dir.to_owned(),
            engine_key: format!("{:016x}", hasher.finish()),
        })
    }

    fn entry(&self, component_hash: &str) -> PathBuf {
        self.dir
            .join(format!("{component_hash}-{}.cwasm", self.engine_key))
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

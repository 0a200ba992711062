//! The registry: model name -> the model currently serving it, and its load state.
//!
//! Loading (read, hash, compile, validate) happens off the request path; the registry only
//! swaps a finished `Arc<LoadedModel>` in, so requests never wait on a compiler and a model
//! that fails to load never replaces one that works.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::limits::{CallLimits, Grants};
use crate::runtime::{LoadedModel, Runtime, Ticket};
use crate::store::{CallStore, ModelStore, ProjectKey};

/// Where a model is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ModelState {
    /// Being compiled for the first time; requests get 503.
    Loading,
    /// Serving.
    Ready,
    /// The last load failed and no earlier version serves.
    Failed,
}

/// One model's slot in the registry.
#[derive(Clone)]
pub struct ModelEntry {
    /// The component file.
    pub path: PathBuf,
    /// The version serving requests, if any.
    pub current: Option<Arc<LoadedModel>>,
    /// The model's state.
    pub state: ModelState,
    /// Why the last load failed, if it did.
    pub last_error: Option<String>,
    /// When `current` was loaded.
    pub loaded_at: Option<SystemTime>,
    /// How long loading `current` took (read, compile or cache, validate), in milliseconds.
    pub load_ms: Option<u64>,
    /// How many versions have been installed since the host started.
    pub installs: u64,
    /// True while a new version is being loaded (the current one keeps serving).
    pub loading: bool,
}

/// All models, by name.
#[derive(Default)]
pub struct Registry {
    models: RwLock<BTreeMap<String, ModelEntry>>,
}

impl Registry {
    fn read(&self) -> std::sync::RwLockReadGuard<'_, BTreeMap<String, ModelEntry>> {
        self.models.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, BTreeMap<String, ModelEntry>> {
        self.models.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A snapshot of one model's entry.
    pub fn get(&self, name: &str) -> Option<ModelEntry> {
        self.read().get(name).cloned()
    }

    /// A snapshot of every entry, sorted by name.
    pub fn entries(&self) -> Vec<(String, ModelEntry)> {
        self.read()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The names of all models.
    pub fn names(&self) -> Vec<String> {
        self.read().keys().cloned().collect()
    }

    /// Marks `name` as loading from `path` (keeping any version that serves).
    pub fn begin_load(&self, name: &str, path: &Path) {
        let mut models = self.write();
        let entry = models.entry(name.to_owned()).or_insert_with(|| ModelEntry {
            path: path.to_owned(),
            current: None,
            state: ModelState::Loading,
            last_error: None,
            loaded_at: None,
            load_ms: None,
            installs: 0,
            loading: true,
        });
        entry.path = path.to_owned();
        entry.loading = true;
    }

    /// Installs a freshly loaded model: new requests see it at once; requests already
    /// running keep their `Arc` to the old one. Returns the version it replaced.
    pub fn install(
        &self,
        name: &str,
        model: Arc<LoadedModel>,
        load_ms: u64,
    ) -> Option<Arc<LoadedModel>> {
        let mut models = self.write();
        let entry = models.get_mut(name)?;
        entry.state = ModelState::Ready;
        entry.last_error = None;
        entry.loaded_at = Some(SystemTime::now());
        entry.load_ms = Some(load_ms);
        entry.installs += 1;
        entry.loading = false;
        entry.current.replace(model)
    }

    /// Forgets `name`: new requests get 404; requests already running finish on their `Arc`.
    pub fn remove(&self, name: &str) -> Option<ModelEntry> {
        self.write().remove(name)
    }

    /// Ends a load that installed nothing because the files match what serves: any earlier
    /// load error no longer applies.
    pub fn settle(&self, name: &str) {
        if let Some(entry) = self.write().get_mut(name) {
            entry.loading = false;
            if entry.current.is_some() {
                entry.state = ModelState::Ready;
                entry.last_error = None;
            }
        }
    }

    /// Records a failed load; a version that serves keeps serving.
    pub fn fail(&self, name: &str, error: String) {
        let mut models = self.write();
        if let Some(entry) = models.get_mut(name) {
            entry.state = if entry.current.is_some() {
                ModelState::Ready
            } else {
                ModelState::Failed
            };
            entry.last_error = Some(error);
            entry.loading = false;
        }
    }
}

/// Reads, hashes, compiles and validates one component file. Compilation runs on the
/// blocking pool, never on an async worker.
pub async fn load_model(
    runtime: &Runtime,
    store: Arc<dyn ModelStore>,
    name: &str,
    path: &Path,
    limits: CallLimits,
) -> anyhow::Result<LoadedModel> {
    let (bytes, hash) = read_component(path).await?;
    let ticket = runtime.compile_queue.ticket(bytes.len());
    let component = ComponentFile {
        bytes,
        hash,
        ticket,
    };
    load_component(runtime, store, name, component, limits, Grants::default()).await
}

/// A component to load: its bytes, their SHA-256 (hex), and its place in the compile queue.
pub struct ComponentFile {
    /// The file's bytes.
    pub bytes: Vec<u8>,
    /// Their SHA-256, hex.
    pub hash: String,
    /// Its place in the compile queue, used only when it is not in the compile cache.
    pub ticket: Ticket,
}

/// How often a compile that takes long says it is still running.
const COMPILE_PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// A component file's bytes and their SHA-256 (hex).
pub async fn read_component(path: &Path) -> anyhow::Result<(Vec<u8>, String)> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let hash = hex::encode(Sha256::digest(&bytes));
    Ok((bytes, hash))
}

/// Compiles (or takes from the cache) and validates a component read by
/// [`read_component`].
pub async fn load_component(
    runtime: &Runtime,
    store: Arc<dyn ModelStore>,
    name: &str,
    component: ComponentFile,
    limits: CallLimits,
    grants: Grants,
) -> anyhow::Result<LoadedModel> {
    let ComponentFile {
        bytes,
        hash,
        ticket,
    } = component;
    let metered = limits.metered();
    // A cached component only deserializes: it does not wait behind compiles.
    let turn = if runtime.is_cached(&hash, metered) {
        drop(ticket);
        None
    } else {
        let ahead = runtime.compile_queue.queued().saturating_sub(1);
        if ahead > 0 {
            tracing::info!(
                model = name,
                kib = bytes.len() >> 10,
                ahead,
                "waiting to compile"
            );
        }
        Some(ticket.wait().await)
    };
    let compiler = runtime.clone();
    let key = hash.clone();
    let size = bytes.len();
    let compiling = tokio::task::spawn_blocking(move || compiler.compile(&bytes, &key, metered));
    let compiled = with_progress(name, size, turn.is_some(), compiling)
        .await
        .map_err(|e| anyhow::anyhow!("compilation task failed: {e}"))??;
    drop(turn);
    // Its graphs load now, before it serves: never on a request.
    let graphs = runtime.nn.load(&grants.nn).await?;
    // `info` is called with an unnamed project: it must not depend on project state.
    let scope = ProjectKey {
        model: name.to_owned(),
        project: String::new(),
    };
    LoadedModel::validate(
        name,
        compiled,
        hash,
        limits,
        grants,
        graphs,
        CallStore::new(store, scope),
    )
    .await
    .map_err(|e| anyhow::anyhow!("the component failed to start: {e}"))
}

/// Awaits `compiling`, logging every [`COMPILE_PROGRESS_EVERY`] while it runs (when it
/// compiles rather than reads the cache): which model, how long so far.
async fn with_progress<T>(
    name: &str,
    size: usize,
    compiles: bool,
    compiling: tokio::task::JoinHandle<T>,
) -> Result<T, tokio::task::JoinError> {
    tokio::pin!(compiling);
    let started = std::time::Instant::now();
    let mut ticks = tokio::time::interval_at(
        tokio::time::Instant::now() + COMPILE_PROGRESS_EVERY,
        COMPILE_PROGRESS_EVERY,
    );
    loop {
        tokio::select! {
            done = &mut compiling => return done,
            _ = ticks.tick(), if compiles => tracing::info!(
                model = name,
                kib = size >> 10,
                elapsed_s = started.elapsed().as_secs(),
                "still compiling"
            ),
        }
    }
}

/// The model name of a component file: its stem, when the file is a `.wasm` with a valid
/// name (see [`crate::identity::is_model_name`]).
pub fn model_name_of(path: &Path) -> Option<String> {
    if path.extension()? != "wasm" {
        return None;
    }
    let stem = path.file_stem()?.to_str()?;
    crate::identity::is_model_name(stem).then(|| stem.to_owned())
}

/// Every component file in `dir`, with its model name, sorted by name.
pub fn scan_models(dir: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if !path.is_file() {
            continue;
        }
        match model_name_of(&path) {
            Some(name) => found.push((name, path)),
            None if path.extension().is_some_and(|e| e == "wasm") => {
                tracing::warn!("ignoring {}: not a valid model name", path.display());
            }
            None => {}
        }
    }
    found.sort();
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_come_from_file_stems() {
        assert_eq!(
            model_name_of(Path::new("/m/ner.wasm")).as_deref(),
            Some("ner")
        );
        assert_eq!(
            model_name_of(Path::new("/m/ner.v2.wasm")).as_deref(),
            Some("ner.v2")
        );
        assert_eq!(model_name_of(Path::new("/m/ner.toml")), None);
        assert_eq!(model_name_of(Path::new("/m/.hidden.wasm")), None);
        assert_eq!(model_name_of(Path::new("/m/a b.wasm")), None);
    }
}

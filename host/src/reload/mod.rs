//! Hot reload: the models folder is watched (notify, debounced) and every change to a
//! `<name>.wasm` file becomes a load of that model, off the request path.
//!
//! Per model, one loader task at a time syncs the registry with the file: a file that is
//! gone unloads the model; a file whose content (SHA-256) already serves changes nothing; new
//! content is compiled (or taken from the compile cache), validated and swapped in
//! atomically. Changes arriving meanwhile mark the model dirty, and the loader syncs again
//! once it is done, so rapid writes end with the final content loaded and never race. A file
//! that fails to load (half-written, not a component, the wrong world, an invalid manifest)
//! keeps the previous version serving; its error shows in `GET /models`. A change to the
//! manifest `<name>.toml` reloads the model with the new limits and grants. A slow poll
//! ([`poll`]) covers what the watcher cannot see (symlink targets, network filesystems).

mod poll;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use notify::RecursiveMode;
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};

use crate::app::App;
use crate::manifest::Manifest;
use crate::registry::{self, model_name_of};
use crate::runtime::Ticket;

/// Quiet time after the last event on a file before it is loaded. Short, because a copy in
/// progress keeps producing events (each restarts the wait), and a load of a file caught
/// half-written only fails, keeping the old version, until the final write triggers the
/// next load.
const DEBOUNCE: Duration = Duration::from_millis(25);

/// The watcher; dropping it stops watching.
pub type Watcher = Debouncer<notify::RecommendedWatcher, RecommendedCache>;

#[derive(Default)]
struct LoaderState {
    /// A loader task is running for the model.
    running: bool,
    /// The file changed since the loader last looked at it.
    dirty: bool,
}

/// Keeps the registry in step with the models folder.
pub struct Reloader {
    app: Arc<App>,
    models_dir: PathBuf,
    loaders: Mutex<HashMap<String, LoaderState>>,
    /// Compile-queue tickets taken at start-up for every model at once (so the queue
    /// orders them by size), until each model's first load takes its own.
    tickets: Mutex<HashMap<String, Ticket>>,
}

impl Reloader {
    /// A reloader for `models_dir`, serving into `app`'s registry.
    pub fn new(app: Arc<App>, models_dir: &Path) -> Arc<Self> {
        Arc::new(Self {
            app,
            models_dir: models_dir.to_owned(),
            loaders: Mutex::new(HashMap::new()),
            tickets: Mutex::new(HashMap::new()),
        })
    }

    fn loaders(&self) -> MutexGuard<'_, HashMap<String, LoaderState>> {
        self.loaders.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Loads every component in the folder, in parallel; models answer 503 until ready.
    /// Returns the models found.
    pub fn load_all(self: &Arc<Self>) -> std::io::Result<Vec<String>> {
        let found = registry::scan_models(&self.models_dir)?;
        {
            let queue = &self.app.runtime.compile_queue;
            let mut tickets = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
            for (name, path) in &found {
                let size = std::fs::metadata(path).map_or(0, |m| m.len());
                let size = usize::try_from(size).unwrap_or(usize::MAX);
                tickets.insert(name.clone(), queue.ticket(size));
            }
        }
        for (name, path) in &found {
            // Registered before loading starts, so requests get 503 rather than 404.
            self.app.registry.begin_load(name, path);
            self.request(name);
        }
        Ok(found.into_iter().map(|(name, _)| name).collect())
    }

    /// Syncs model `name` with its file, now or as soon as its current load ends.
    pub fn request(self: &Arc<Self>, name: &str) {
        let mut loaders = self.loaders();
        let state = loaders.entry(name.to_owned()).or_default();
        state.dirty = true;
        if !state.running {
            state.running = true;
            let me = self.clone();
            let name = name.to_owned();
            tokio::spawn(async move { me.drive(name).await });
        }
    }

    async fn drive(self: Arc<Self>, name: String) {
        loop {
            {
                let mut loaders = self.loaders();
                let Some(state) = loaders.get_mut(&name) else {
                    return;
                };
                if !state.dirty {
                    loaders.remove(&name);
                    return;
                }
                state.dirty = false;
            }
            self.sync(&name).await;
        }
    }

    /// One look at the file of `name`.
    async fn sync(&self, name: &str) {
        // Taken on every path: a start-up ticket left behind would hold back every larger
        // model's compile.
        let startup_ticket = self
            .tickets
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(name);
        let path = self.models_dir.join(format!("{name}.wasm"));
        let is_file = tokio::fs::metadata(&path).await.is_ok_and(|m| m.is_file());
        if !is_file {
            if let Some(entry) = self.app.registry.remove(name) {
                let version = entry.current.map(|m| m.version(0));
                tracing::info!(model = name, version, "model unloaded: its file is gone");
            }
            return;
        }
        let registry = &self.app.registry;
        let (bytes, hash) = match registry::read_component(&path).await {
            Ok(read) => read,
            Err(err) => return self.refuse(name, &path, &err),
        };
        let settings = Manifest::load(&self.models_dir, name).and_then(|manifest| {
            let manifest = manifest.unwrap_or_default();
            Ok((
                manifest.limits(&self.app.limits)?,
                manifest.grants(&self.models_dir)?,
            ))
        });
        let (limits, grants) = match settings {
            Ok(settings) => settings,
            Err(err) => return self.refuse(name, &path, &err),
        };
        let current = registry.get(name).and_then(|e| e.current);
        if current
            .as_ref()
            .is_some_and(|m| m.component_hash == hash && m.limits == limits && m.grants == grants)
        {
            // Touched, rewritten with the same bytes, or a broken manifest fixed back to what
            // serves: nothing to load, and an earlier error no longer applies.
            tracing::debug!(model = name, "model file unchanged: nothing to reload");
            registry.settle(name);
            return;
        }
        registry.begin_load(name, &path);
        let started = Instant::now();
        let queue = &self.app.runtime.compile_queue;
        let ticket = startup_ticket.unwrap_or_else(|| queue.ticket(bytes.len()));
        let component = registry::ComponentFile {
            bytes,
            hash,
            ticket,
        };
        let loaded = registry::load_component(
            &self.app.runtime,
            self.app.store.clone(),
            name,
            component,
            limits,
            grants,
        )
        .await;
        let load_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        match loaded {
            Ok(model) => {
                let version = model.version(0);
                let from_cache = model.from_cache;
                crate::metrics::global().record_load(name, from_cache, started.elapsed());
                match registry.install(name, Arc::new(model), load_ms) {
                    Some(old) => tracing::info!(
                        model = name, old = %old.version(0), new = %version, ms = load_ms,
                        from_cache, "model reloaded"
                    ),
                    None => tracing::info!(
                        model = name, %version, ms = load_ms, from_cache, "model loaded"
                    ),
                }
            }
            Err(err) => {
                let serving = current.map(|m| m.version(0));
                let error = one_line(&err);
                tracing::error!(
                    model = name,
                    serving,
                    "model failed to load, the previous version keeps serving: {error}"
                );
                registry.fail(name, error);
            }
        }
    }

    /// Records that `name`'s files could not even be read (the file, or its manifest):
    /// a version that serves keeps serving.
    fn refuse(&self, name: &str, path: &Path, err: &anyhow::Error) {
        let registry = &self.app.registry;
        registry.begin_load(name, path);
        let error = one_line(err);
        tracing::error!(model = name, "model not (re)loaded: {error}");
        registry.fail(name, error);
    }

    /// Watches the folder until the returned watcher is dropped.
    pub fn watch(self: &Arc<Self>) -> anyhow::Result<Watcher> {
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<Option<PathBuf>>();
        let mut debouncer = new_debouncer(DEBOUNCE, None, move |result: DebounceEventResult| {
            match result {
                Ok(events) => {
                    for event in events {
                        if !changes_content(&event.kind) {
                            continue;
                        }
                        if event.need_rescan() {
                            // The OS dropped events: look at every file again.
                            let _ = tx.send(None);
                        }
                        for path in &event.paths {
                            let _ = tx.send(Some(path.clone()));
                        }
                    }
                }
                Err(errors) => {
                    for error in errors {
                        tracing::warn!("watching the models folder: {error}");
                    }
                }
            }
        })?;
        debouncer.watch(&self.models_dir, RecursiveMode::NonRecursive)?;
        let me = self.clone();
        tokio::spawn(async move {
            while let Some(change) = rx.recv().await {
                match change {
                    Some(path) => {
                        // `<name>.wasm` or its manifest `<name>.toml`.
                        let name = model_name_of(&path).or_else(|| {
                            model_name_of(&path.with_extension("wasm"))
                                .filter(|_| path.extension().is_some_and(|e| e == "toml"))
                        });
                        if let Some(name) = name {
                            me.request(&name);
                        }
                    }
                    None => me.rescan(),
                }
            }
        });
        Ok(debouncer)
    }

    /// Syncs every model with a file or a registry entry.
    fn rescan(self: &Arc<Self>) {
        for name in model_names(&self.models_dir, self.app.registry.names()) {
            self.request(&name);
        }
    }
}

/// Every model with a file in `dir` or in `known` (the registry's, whose files may be gone),
/// each once.
fn model_names(dir: &Path, known: Vec<String>) -> Vec<String> {
    let mut names = known;
    match registry::scan_models(dir) {
        Ok(found) => names.extend(found.into_iter().map(|(name, _)| name)),
        Err(err) => tracing::warn!("reading the models folder {}: {err}", dir.display()),
    }
    names.sort();
    names.dedup();
    names
}

/// Whether an event may mean a file's content or presence changed. Opening or reading a
/// file is an event too (inotify's `IN_OPEN`), and the loader reads the files it watches:
/// acting on those would make every load trigger the next, forever.
fn changes_content(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode};
    match kind {
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        notify::EventKind::Access(_) => false,
        _ => true,
    }
}

/// A load error's whole chain on one line, for the log and `GET /models`: parser errors
/// print arrays and TOML snippets over many lines, which would split a log record and push
/// its `model` field far below the message.
fn one_line(err: &anyhow::Error) -> String {
    format!("{err:#}")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

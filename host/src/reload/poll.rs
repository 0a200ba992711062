//! A slow second look at the models' files, for the changes inotify cannot see: a symlinked
//! model whose target is rebuilt in another folder, and files changed by another machine on
//! a network filesystem (NFS, a shared volume) where no local event is raised.
//!
//! Every tick it takes each model file's fingerprint (size and modification time, through
//! symlinks; the same for its manifest and for the `wasi:nn` graph files the serving version
//! loaded, which inotify on the models folder does not see in their subfolders) and asks for a sync of every model whose fingerprint
//! changed, appeared or vanished. Only `stat` calls: files are read by the loader, and only
//! when something changed. A sync that finds the content already serving does nothing.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use super::{Reloader, model_names};

/// Size and modification time of a file, `None` when it is missing.
type FileStamp = Option<(u64, SystemTime)>;

/// What a model's files look like without reading them.
#[derive(Debug, PartialEq, Eq)]
struct Fingerprint {
    component: FileStamp,
    manifest: FileStamp,
    graphs: Vec<FileStamp>,
}

impl Reloader {
    /// Checks the models' files every `every` until the host stops.
    pub fn poll(self: &Arc<Self>, every: Duration) {
        let me = self.clone();
        tokio::spawn(async move {
            let mut ticker = tokio::time::interval(every);
            ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            let mut seen: Option<HashMap<String, Fingerprint>> = None;
            loop {
                ticker.tick().await;
                let dir = me.models_dir.clone();
                let known = me.app.registry.names();
                let graphs = me.graph_files(&known);
                let Ok(now) =
                    tokio::task::spawn_blocking(move || fingerprints(&dir, known, &graphs)).await
                else {
                    continue;
                };
                // The first look only records: the start-up load has just read every file.
                if let Some(before) = &seen {
                    for (name, print) in &now {
                        if before.get(name) != Some(print) {
                            me.request(name);
                        }
                    }
                }
                seen = Some(now);
            }
        });
    }
}

impl Reloader {
    /// The graph files each serving model loaded.
    fn graph_files(&self, names: &[String]) -> HashMap<String, Vec<PathBuf>> {
        names
            .iter()
            .filter_map(|name| {
                let model = self.app.registry.get(name)?.current?;
                let files = model.graphs.plan.graphs.iter().map(|g| g.path.clone());
                Some((name.clone(), files.collect()))
            })
            .collect()
    }
}

/// Fingerprints of every model in `dir` and of every model the registry knows (whose file
/// may be gone), with the graph files in `graphs`.
fn fingerprints(
    dir: &Path,
    known: Vec<String>,
    graphs: &HashMap<String, Vec<PathBuf>>,
) -> HashMap<String, Fingerprint> {
    model_names(dir, known)
        .into_iter()
        .map(|name| {
            let print = Fingerprint {
                component: stamp(&dir.join(format!("{name}.wasm"))),
                manifest: stamp(&dir.join(format!("{name}.toml"))),
                graphs: graphs
                    .get(&name)
                    .map(|files| files.iter().map(|f| stamp(f)).collect())
                    .unwrap_or_default(),
            };
            (name, print)
        })
        .collect()
}

/// `path`'s size and modification time, following symlinks.
fn stamp(path: &Path) -> FileStamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.len(), meta.modified().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[test]
    fn fingerprints_follow_symlinks_see_missing_files_and_graphs() {
        let dir = tempfile::tempdir().expect("dir");
        let elsewhere = tempfile::tempdir().expect("dir");
        let target = elsewhere.path().join("build.wasm");
        std::fs::write(&target, b"one").expect("write");
        std::os::unix::fs::symlink(&target, dir.path().join("linked.wasm")).expect("link");
        let graph = elsewhere.path().join("det.onnx");
        std::fs::write(&graph, b"graph").expect("write");
        let graphs = HashMap::from([("linked".to_owned(), vec![graph.clone()])]);
        let before = fingerprints(dir.path(), vec!["gone".into()], &graphs);
        assert_eq!(before["linked"].component.map(|(len, _)| len), Some(3));
        assert_eq!(before["linked"].manifest, None);
        assert_eq!(before["gone"].component, None);
        std::fs::write(&target, b"three").expect("rewrite the target");
        let after = fingerprints(dir.path(), Vec::new(), &graphs);
        assert_ne!(after["linked"], before["linked"]);
        assert!(!after.contains_key("gone"));
        std::fs::write(&graph, b"a rebuilt graph").expect("rebuild the graph");
        let rebuilt = fingerprints(dir.path(), Vec::new(), &graphs);
        assert_ne!(rebuilt["linked"], after["linked"], "a graph file changed");
        assert_eq!(rebuilt["linked"].graphs.len(), 1);
    }
}

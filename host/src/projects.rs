//! What the host remembers per (model, project): the label config and extra params from
//! `/setup`, and how many trainings have been committed (part of the model version).
//!
//! Kept in the store's `projects` table so it survives restarts, and cached in memory because
//! every call reads it. All changes go through one writer lock, so the cache and the store
//! never disagree and a version bump commits in the same transaction as the trained state.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::store::{Batch, HostTable, ModelStore, StoreFailure};

/// One project's settings for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectSettings {
    /// The label config from the last `/setup` (or request) that carried one.
    #[serde(default)]
    pub label_config: Option<String>,
    /// The `extra_params` from the last `/setup`.
    #[serde(default)]
    pub extra_params: Option<String>,
    /// Committed trainings; 0 until `fit` reports trained state.
    #[serde(default)]
    pub generation: u64,
}

type Key = (String, String);

/// Settings of every (model, project) pair.
pub struct Projects {
    store: Arc<dyn ModelStore>,
    cache: Mutex<HashMap<Key, ProjectSettings>>,
    /// Serialises changes: read-modify-commit-cache happens as one step.
    writer: tokio::sync::Mutex<()>,
}

/// The record key of (model, project). Model names cannot contain `/`, so the first `/`
/// separates them unambiguously.
fn record_key(model: &str, project: &str) -> String {
    format!("{model}/{project}")
}

impl Projects {
    /// Loads every project's settings from `store`. Unreadable records are logged and
    /// skipped: they only hold defaults the next `/setup` restores.
    pub async fn load(store: Arc<dyn ModelStore>) -> Result<Self, StoreFailure> {
        let mut cache = HashMap::new();
        for (key, value) in store.host_records(HostTable::Projects).await? {
            let Some((model, project)) = key.split_once('/') else {
                tracing::warn!(key, "skipping a project record with a malformed key");
                continue;
            };
            match serde_json::from_slice::<ProjectSettings>(&value) {
                Ok(settings) => {
                    cache.insert((model.to_owned(), project.to_owned()), settings);
                }
                Err(err) => tracing::warn!(key, "skipping an unreadable project record: {err}"),
            }
        }
        Ok(Self {
            store,
            cache: Mutex::new(cache),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<Key, ProjectSettings>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings of `project` for `model` (defaults when never set up).
    pub fn get(&self, model: &str, project: &str) -> ProjectSettings {
        self.cache()
            .get(&(model.to_owned(), project.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Changes the settings of `project` for `model` and commits them together with the
    /// batch `with` builds from the new settings (e.g. the trained state of a `fit` and its
    /// job record naming the new version), atomically. Returns the new settings.
    pub async fn commit(
        &self,
        model: &str,
        project: &str,
        change: impl FnOnce(&mut ProjectSettings),
        with: impl FnOnce(&ProjectSettings) -> Batch,
    ) -> Result<ProjectSettings, StoreFailure> {
        let _writer = self.writer.lock().await;
        let mut settings = self.get(model, project);
        change(&mut settings);
        let batch = with(&settings);
        let record = serde_json::to_vec(&settings)
            .map_err(|e| StoreFailure::Unavailable(format!("cannot encode settings: {e}")))?;
        let batch = batch.with_host(
            HostTable::Projects,
            record_key(model, project),
            Some(record),
        );
        self.store.commit(batch).await?;
        self.cache()
            .insert((model.to_owned(), project.to_owned()), settings.clone());
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::RedbStore;

    #[tokio::test]
    async fn settings_survive_a_reload() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn ModelStore> =
            Arc::new(RedbStore::open(&dir.path().join("s.redb")).expect("open"));
        let projects = Projects::load(store.clone()).await.expect("load");
        assert_eq!(projects.get("m", "1"), ProjectSettings::default());
        projects
            .commit("m", "1", |s| s.generation += 1, |_| Batch::default())
            .await
            .expect("commit");
        projects
            .commit(
                "m",
                "1/x",
                |s| s.label_config = Some("<View/>".into()),
                |_| Batch::default(),
            )
            .await
            .expect("commit");
        let reloaded = Projects::load(store).await.expect("reload");
        assert_eq!(reloaded.get("m", "1").generation, 1);
        assert_eq!(
            reloaded.get("m", "1/x").label_config.as_deref(),
            Some("<View/>")
        );
        assert_eq!(reloaded.get("other", "1"), ProjectSettings::default());
    }
}

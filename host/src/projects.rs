//! What the host remembers per (model, project): the label config and extra params from
//! `/setup`, and how many trainings have been committed (part of the model version).
//!
//! Kept in the store so it survives restarts: the label config and extra params in the
//! `projects` table, the generation in `generations`. The two are separate records because
//! different writers change them (`/setup` one, training the other); with a store shared by
//! several hosts, neither can then overwrite the other's change with a stale copy.
//!
//! A host that owns its store caches every record in memory (every call reads them); with a
//! shared store (Redis) other hosts change them, so every read goes to the store.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use serde::{Deserialize, Serialize};

use crate::identity::ProjectKey;
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
    /// Label Studio's URL and token from the last `/setup` that sent them: how task data is
    /// fetched for the project (unless the host is given its own).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_studio: Option<crate::taskdata::SetupCredentials>,
    /// Committed trainings; 0 until `fit` reports trained state. Stored in its own record;
    /// read from this one only for data written before the split.
    #[serde(default)]
    pub generation: u64,
}

/// Settings of every (model, project) pair.
pub struct Projects {
    store: Arc<dyn ModelStore>,
    /// Every record, when this host owns the store; empty and unused when it is shared.
    cache: Mutex<HashMap<ProjectKey, Arc<ProjectSettings>>>,
    /// Serialises this host's changes: read-modify-commit-cache happens as one step.
    writer: tokio::sync::Mutex<()>,
}

/// Decodes a generation record (a decimal number).
fn decode_generation(bytes: &[u8]) -> Option<u64> {
    std::str::from_utf8(bytes).ok()?.parse().ok()
}

impl Projects {
    /// Loads every project's settings from `store` (or nothing, when the store is shared and
    /// read afresh each time). Unreadable records are logged and skipped: they only hold
    /// defaults the next `/setup` restores.
    pub async fn load(store: Arc<dyn ModelStore>) -> Result<Self, StoreFailure> {
        let mut cache = HashMap::new();
        if !store.shared() {
            for (key, value) in store.host_records(HostTable::Projects).await? {
                let Some(owner) = ProjectKey::from_record_key(&key) else {
                    tracing::warn!(key, "skipping a project record with a malformed key");
                    continue;
                };
                match serde_json::from_slice::<ProjectSettings>(&value) {
                    Ok(settings) => {
                        cache.insert(owner, Arc::new(settings));
                    }
                    Err(err) => {
                        tracing::warn!(key, "skipping an unreadable project record: {err}");
                    }
                }
            }
            for (key, value) in store.host_records(HostTable::Generations).await? {
                let (Some(owner), Some(generation)) =
                    (ProjectKey::from_record_key(&key), decode_generation(&value))
                else {
                    tracing::warn!(key, "skipping an unreadable generation record");
                    continue;
                };
                Arc::make_mut(cache.entry(owner).or_default()).generation = generation;
            }
        }
        Ok(Self {
            store,
            cache: Mutex::new(cache),
            writer: tokio::sync::Mutex::new(()),
        })
    }

    fn cache(&self) -> MutexGuard<'_, HashMap<ProjectKey, Arc<ProjectSettings>>> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings of `owner` (defaults when never set up). Shared, not copied: every
    /// request reads them, and the label config in them may be megabytes.
    pub async fn get(&self, owner: &ProjectKey) -> Result<Arc<ProjectSettings>, StoreFailure> {
        if !self.store.shared() {
            return Ok(self.cache().get(owner).cloned().unwrap_or_default());
        }
        let key = owner.record_key();
        let mut settings = match self.store.host_record(HostTable::Projects, &key).await? {
            Some(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|err| {
                tracing::warn!(key, "ignoring an unreadable project record: {err}");
                ProjectSettings::default()
            }),
            None => ProjectSettings::default(),
        };
        if let Some(generation) = self
            .store
            .host_record(HostTable::Generations, &key)
            .await?
            .as_deref()
            .and_then(decode_generation)
        {
            settings.generation = generation;
        }
        Ok(Arc::new(settings))
    }

    /// The committed-training count of every project of `model` that has trained at least
    /// once, read from the store (another host may have trained it).
    pub async fn generations(&self, model: &str) -> Result<Vec<(String, u64)>, StoreFailure> {
        if !self.store.shared() {
            return Ok(self
                .cache()
                .iter()
                .filter(|(key, settings)| key.model == model && settings.generation > 0)
                .map(|(key, settings)| (key.project.clone(), settings.generation))
                .collect());
        }
        let records = self.store.host_records(HostTable::Generations).await?;
        Ok(records
            .iter()
            .filter_map(|(key, value)| {
                let owner = ProjectKey::from_record_key(key)?;
                let generation = decode_generation(value)?;
                (owner.model == model && generation > 0).then_some((owner.project, generation))
            })
            .collect())
    }

    /// Changes the settings of `owner` and commits them together with the
    /// batch `with` builds from the new settings (e.g. the trained state of a `fit` and its
    /// job record naming the new version), atomically. Only the records that changed are
    /// written. Returns the new settings.
    ///
    /// With a shared store, generation changes must be serialised across hosts by the
    /// caller (training holds the (model, project) lock).
    pub async fn commit(
        &self,
        owner: &ProjectKey,
        change: impl FnOnce(&mut ProjectSettings),
        with: impl FnOnce(&ProjectSettings) -> Batch,
    ) -> Result<ProjectSettings, StoreFailure> {
        let _writer = self.writer.lock().await;
        let before = self.get(owner).await?;
        let mut settings = ProjectSettings::clone(&before);
        change(&mut settings);
        let mut batch = with(&settings);
        let key = owner.record_key();
        if settings.label_config != before.label_config
            || settings.extra_params != before.extra_params
            || settings.label_studio != before.label_studio
        {
            let record = serde_json::to_vec(&settings)
                .map_err(|e| StoreFailure::Unavailable(format!("cannot encode settings: {e}")))?;
            batch = batch.with_host(HostTable::Projects, key.clone(), Some(record));
        }
        if settings.generation != before.generation {
            let record = settings.generation.to_string().into_bytes();
            batch = batch.with_host(HostTable::Generations, key, Some(record));
        }
        self.store.commit(batch).await?;
        if !self.store.shared() {
            self.cache()
                .insert(owner.clone(), Arc::new(settings.clone()));
        }
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
        assert_eq!(
            *projects.get(&ProjectKey::new("m", "1")).await.expect("get"),
            ProjectSettings::default()
        );
        projects
            .commit(
                &ProjectKey::new("m", "1"),
                |s| s.generation += 1,
                |_| Batch::default(),
            )
            .await
            .expect("commit");
        projects
            .commit(
                &ProjectKey::new("m", "1/x"),
                |s| s.label_config = Some("<View/>".into()),
                |_| Batch::default(),
            )
            .await
            .expect("commit");
        let reloaded = Projects::load(store).await.expect("reload");
        assert_eq!(
            reloaded
                .get(&ProjectKey::new("m", "1"))
                .await
                .expect("get")
                .generation,
            1
        );
        assert_eq!(
            reloaded
                .get(&ProjectKey::new("m", "1/x"))
                .await
                .expect("get")
                .label_config
                .as_deref(),
            Some("<View/>")
        );
        assert_eq!(
            *reloaded
                .get(&ProjectKey::new("other", "1"))
                .await
                .expect("get"),
            ProjectSettings::default()
        );
    }

    #[tokio::test]
    async fn a_generation_written_before_the_split_still_counts() {
        let dir = tempfile::tempdir().expect("temp dir");
        let store: Arc<dyn ModelStore> =
            Arc::new(RedbStore::open(&dir.path().join("s.redb")).expect("open"));
        let legacy = br#"{"label_config": "<View/>", "extra_params": null, "generation": 4}"#;
        store
            .commit(Batch::host(
                HostTable::Projects,
                "m/1".into(),
                Some(legacy.to_vec()),
            ))
            .await
            .expect("commit");
        let projects = Projects::load(store.clone()).await.expect("load");
        assert_eq!(
            projects
                .get(&ProjectKey::new("m", "1"))
                .await
                .expect("get")
                .generation,
            4
        );
        projects
            .commit(
                &ProjectKey::new("m", "1"),
                |s| s.generation += 1,
                |_| Batch::default(),
            )
            .await
            .expect("commit");
        let reloaded = Projects::load(store).await.expect("reload");
        let settings = reloaded.get(&ProjectKey::new("m", "1")).await.expect("get");
        assert_eq!(settings.generation, 5);
        assert_eq!(settings.label_config.as_deref(), Some("<View/>"));
    }
}

//! What the host remembers per (model, project): the label config and extra params from
//! `/setup`, and how many trainings have been committed (part of the model version).

use std::collections::HashMap;
use std::sync::Mutex;

/// One project's settings for one model.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProjectSettings {
    /// The label config from the last `/setup` (or request) that carried one.
    pub label_config: Option<String>,
    /// The `extra_params` from the last `/setup`.
    pub extra_params: Option<String>,
    /// Committed trainings; 0 until `fit` reports trained state.
    pub generation: u64,
}

/// Settings of every (model, project) pair.
#[derive(Default)]
pub struct Projects {
    settings: Mutex<HashMap<(String, String), ProjectSettings>>,
}

impl Projects {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), ProjectSettings>> {
        self.settings.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The settings of `project` for `model` (defaults when never set up).
    pub fn get(&self, model: &str, project: &str) -> ProjectSettings {
        self.lock()
            .get(&(model.to_owned(), project.to_owned()))
            .cloned()
            .unwrap_or_default()
    }

    /// Changes the settings of `project` for `model` and returns the new settings.
    pub fn update(
        &self,
        model: &str,
        project: &str,
        change: impl FnOnce(&mut ProjectSettings),
    ) -> ProjectSettings {
        let mut settings = self.lock();
        let entry = settings
            .entry((model.to_owned(), project.to_owned()))
            .or_default();
        change(entry);
        entry.clone()
    }
}

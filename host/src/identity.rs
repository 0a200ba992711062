//! Whose state is whose: the rules for model names, in one place, and [`ProjectKey`], the
//! (model, project) pair that owns a model's keys in the store, its project settings, its
//! training jobs and their lock across hosts.

use std::fmt;

/// Longest model name accepted.
pub const MAX_MODEL_NAME: usize = 128;

/// True when `name` can name a model: the file stem of a component, so letters, digits,
/// `-`, `_`, `.`, at most [`MAX_MODEL_NAME`] bytes, not starting with `.` (no `..`, no
/// hidden files, no separators or control characters). Because a model name never holds a
/// `/`, `"<model>/<project>"` splits back unambiguously.
pub fn is_model_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_MODEL_NAME
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// One model in one Label Studio project: the unit of a store scope, of project settings,
/// of a training queue (one `fit` at a time) and of the training lock across hosts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProjectKey {
    /// The model's name (see [`is_model_name`]).
    pub model: String,
    /// The Label Studio project id; empty when the request named no project.
    pub project: String,
}

impl ProjectKey {
    /// The key of `project` for `model`.
    pub fn new(model: impl Into<String>, project: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            project: project.into(),
        }
    }

    /// `"<model>/<project>"`: the key of the pair's host records and the suffix of its Redis
    /// keys.
    pub fn record_key(&self) -> String {
        format!("{}/{}", self.model, self.project)
    }

    /// The pair a [`ProjectKey::record_key`] names; `None` when it holds no valid model name.
    pub fn from_record_key(key: &str) -> Option<Self> {
        let (model, project) = key.split_once('/')?;
        is_model_name(model).then(|| Self::new(model, project))
    }

    /// The name of the lock that serialises this pair's training across hosts.
    pub fn training_lock(&self) -> String {
        format!("fit/{}", self.record_key())
    }
}

impl fmt::Display for ProjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.record_key())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names_follow_file_stem_rules() {
        for good in ["ner", "a.b-c_d", "v2", &"x".repeat(MAX_MODEL_NAME)] {
            assert!(is_model_name(good), "{good}");
        }
        for bad in [
            "",
            "..",
            ".hidden",
            "a/b",
            "a%2Fb",
            "a b",
            "a\u{7}b",
            "ü",
            &"x".repeat(MAX_MODEL_NAME + 1),
        ] {
            assert!(!is_model_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn record_keys_split_back_at_the_first_slash() {
        let key = ProjectKey::new("ner", "3/with/slashes");
        assert_eq!(key.record_key(), "ner/3/with/slashes");
        assert_eq!(
            ProjectKey::from_record_key(&key.record_key()),
            Some(key.clone())
        );
        assert_eq!(key.training_lock(), "fit/ner/3/with/slashes");
        assert_eq!(ProjectKey::from_record_key("no-slash"), None);
        assert_eq!(ProjectKey::from_record_key("../x/1"), None);
        assert_eq!(
            ProjectKey::from_record_key("m/"),
            Some(ProjectKey::new("m", ""))
        );
    }
}

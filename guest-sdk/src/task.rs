//! Label Studio tasks and the interactive context, as typed values.

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::{Error, Region};

/// One Label Studio task: `{"id": 1, "data": {"text": "..."}, ...}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// The task id; absent in some test requests.
    #[serde(default)]
    pub id: Option<i64>,
    /// The task data: keys are the `$variables` of the label config.
    #[serde(default)]
    pub data: Map<String, Value>,
    /// Existing annotations, when Label Studio sends them.
    #[serde(default)]
    pub annotations: Vec<Annotation>,
    /// Every other field Label Studio sent (`meta`, `project`, `drafts`...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Task {
    /// The task Label Studio would send as `json` (`{"id": 1, "data": {"text": "..."}}`);
    /// for tests.
    pub fn from_json(json: Value) -> Result<Self, Error> {
        decode("task", json)
    }

    /// The string at `data[key]`, if it is a string.
    pub fn text(&self, key: &str) -> Option<&str> {
        self.data.get(key).and_then(Value::as_str)
    }
}

/// An annotation: a user's result for a task.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Annotation {
    /// The annotation id.
    #[serde(default)]
    pub id: Option<i64>,
    /// The regions the user created.
    #[serde(default)]
    pub result: Vec<Region>,
    /// The task id (webhook payloads give the id; task objects embed annotations).
    #[serde(default)]
    pub task: Option<Value>,
    /// True when the user skipped the task.
    #[serde(default)]
    pub was_cancelled: bool,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The interactive context of a `/predict` call: what the user just drew or selected.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Context {
    /// The user's regions (`origin: "manual"`; keypoints carry `is_positive`).
    #[serde(default)]
    pub result: Vec<Region>,
    /// The user labeling.
    #[serde(default)]
    pub user_id: Option<i64>,
    /// The annotation being edited, if saved.
    #[serde(default)]
    pub annotation_id: Option<i64>,
    /// The draft being edited.
    #[serde(default)]
    pub draft_id: Option<i64>,
    /// Every other field.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Context {
    /// The interactive context Label Studio would send as `json`
    /// (`{"result": [...], "user_id": 1}`); for tests.
    pub fn from_json(json: Value) -> Result<Self, Error> {
        decode("context", json)
    }
}

/// `json` as a `T`, or an [`Error::InvalidInput`] naming `what` it should have been (the
/// error the host's call would give for the same JSON).
fn decode<T: DeserializeOwned>(what: &str, json: Value) -> Result<T, Error> {
    serde_json::from_value(json).map_err(|e| Error::invalid_input(format!("{what}: {e}")))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn tasks_and_contexts_from_json() {
        let task =
            Task::from_json(json!({"id": 1, "data": {"text": "hi"}, "meta": {}})).expect("task");
        assert_eq!((task.id, task.text("text")), (Some(1), Some("hi")));
        assert!(task.extra.contains_key("meta"));
        assert!(matches!(
            Task::from_json(json!({"data": []})),
            Err(Error::InvalidInput(m)) if m.starts_with("task: ")
        ));
        let context = Context::from_json(json!({"result": [], "user_id": 2})).expect("context");
        assert_eq!(context.user_id, Some(2));
        assert!(Context::from_json(json!([])).is_err());
    }
}

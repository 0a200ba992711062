//! Label Studio tasks and the interactive context, as typed values.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::Region;

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

//! Label Studio webhook events, as `fit` receives them.

use serde_json::Value;

use crate::Error;
use crate::task::{Annotation, Task};

/// The kind of a Label Studio webhook event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// One annotation was submitted.
    AnnotationCreated,
    /// One annotation was changed.
    AnnotationUpdated,
    /// Several annotations were created at once (import).
    AnnotationsCreated,
    /// Annotations were deleted; the payload lists their ids.
    AnnotationsDeleted,
    /// The user pressed "Start Training".
    StartTraining,
    /// Anything else, by its action name.
    Other(String),
}

/// A webhook event: its action and the whole payload.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// The action name, e.g. `ANNOTATION_CREATED`.
    pub action: String,
    /// The webhook body.
    pub payload: Value,
}

impl Event {
    /// The event `action` with webhook body `payload`: what the host passes to `fit`. For
    /// tests; `payload` is the whole body, which also holds the action for a real webhook.
    pub fn new(action: impl Into<String>, payload: Value) -> Self {
        Self {
            action: action.into(),
            payload,
        }
    }

    /// The event of a webhook body, its action read from `body["action"]` as the host reads it.
    pub fn from_webhook(body: Value) -> Result<Self, Error> {
        let action = body
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| Error::invalid_input("the webhook body has no string `action`"))?
            .to_owned();
        Ok(Self::new(action, body))
    }

    /// The event's kind.
    pub fn kind(&self) -> EventKind {
        match self.action.as_str() {
            "ANNOTATION_CREATED" => EventKind::AnnotationCreated,
            "ANNOTATION_UPDATED" => EventKind::AnnotationUpdated,
            "ANNOTATIONS_CREATED" => EventKind::AnnotationsCreated,
            // The reference spells the singular; Label Studio sends the plural.
            "ANNOTATIONS_DELETED" | "ANNOTATION_DELETED" => EventKind::AnnotationsDeleted,
            "START_TRAINING" => EventKind::StartTraining,
            other => EventKind::Other(other.to_owned()),
        }
    }

    /// The annotation of `ANNOTATION_CREATED` / `ANNOTATION_UPDATED`.
    pub fn annotation(&self) -> Option<Annotation> {
        serde_json::from_value(self.payload.get("annotation")?.clone()).ok()
    }

    /// The annotations of `ANNOTATIONS_CREATED` / `ANNOTATIONS_DELETED` (for deletes, only
    /// their ids are set); items that are not annotations are skipped.
    pub fn annotations(&self) -> Vec<Annotation> {
        self.annotation_list()
            .iter()
            .filter_map(|v| serde_json::from_value(v.clone()).ok())
            .collect()
    }

    /// The annotations of a bulk event as raw JSON. Label Studio 1.23 sends them as a list
    /// under `annotation` for `ANNOTATIONS_CREATED` and under `annotations` for
    /// `ANNOTATIONS_DELETED`: both are read.
    pub fn annotation_list(&self) -> &[Value] {
        bulk_list(&self.payload, "annotation", "annotations")
    }

    /// The tasks of a bulk event as raw JSON: a list under `task` (what Label Studio sends
    /// with `ANNOTATIONS_CREATED`) or `tasks`.
    pub fn task_list(&self) -> &[Value] {
        bulk_list(&self.payload, "task", "tasks")
    }

    /// The task of an annotation event, with its data.
    pub fn task(&self) -> Option<Task> {
        serde_json::from_value(self.payload.get("task")?.clone()).ok()
    }
}

/// The list under `singular` when it is a list, else the list under `plural`, else empty.
fn bulk_list<'a>(payload: &'a Value, singular: &str, plural: &str) -> &'a [Value] {
    [singular, plural]
        .iter()
        .find_map(|key| payload.get(*key).and_then(Value::as_array))
        .map(Vec::as_slice)
        .unwrap_or_default()
}

/// What `fit` returns: a JSON result for Label Studio, and whether trained state changed.
#[derive(Debug, Clone, PartialEq)]
pub struct Fit {
    /// Returned to Label Studio as the webhook's `result`.
    pub result: Value,
    /// True when new trained state was stored: the project gets a new model version.
    pub trained: bool,
}

impl Fit {
    /// New trained state was stored.
    pub fn trained(result: Value) -> Self {
        Self {
            result,
            trained: true,
        }
    }

    /// Nothing changed.
    pub fn unchanged(result: Value) -> Self {
        Self {
            result,
            trained: false,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn events_from_an_action_or_a_webhook_body() {
        let body = json!({"action": "ANNOTATION_CREATED", "annotation": {"id": 3, "result": []}});
        let event = Event::from_webhook(body.clone()).expect("event");
        assert_eq!(event, Event::new("ANNOTATION_CREATED", body));
        assert_eq!(event.kind(), EventKind::AnnotationCreated);
        assert_eq!(event.annotation().and_then(|a| a.id), Some(3));
        assert!(matches!(
            Event::from_webhook(json!({"action": 1})),
            Err(Error::InvalidInput(_))
        ));
    }
}

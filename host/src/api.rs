//! The JSON bodies of the Label Studio ML backend protocol (`spec/PROTOCOL.md`), decoded
//! with errors that name the offending field.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;
use serde_json::{Map, Value};

use crate::error::ApiError;

/// `POST /setup`.
#[derive(Debug, Deserialize)]
pub struct SetupRequest {
    /// `"<id>.<created-ts>"`, or a bare id.
    #[serde(default)]
    pub project: Option<Value>,
    /// The label config XML.
    #[serde(default)]
    pub schema: Option<String>,
    /// What the user typed as extra params: a string (usually JSON) or already an object.
    #[serde(default)]
    pub extra_params: Option<Value>,
    /// Label Studio's URL (its `HOSTNAME` setting), for fetching task data.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The project creator's token, for fetching task data.
    #[serde(default)]
    pub access_token: Option<String>,
}

/// `POST /predict`.
#[derive(Debug, Deserialize)]
pub struct PredictRequest {
    /// The tasks; each answer has one slot per task.
    pub tasks: Vec<RawTask>,
    /// `"<id>.<created-ts>"`; may be absent.
    #[serde(default)]
    pub project: Option<Value>,
    /// The label config XML; falls back to the one from `/setup`.
    #[serde(default)]
    pub label_config: Option<String>,
    /// Interactive parameters.
    #[serde(default)]
    pub params: Option<PredictParams>,
}

/// One task as sent: a JSON object, kept as its text so that it reaches the model without
/// being parsed into a tree and serialised again.
#[derive(Debug)]
pub struct RawTask(Box<RawValue>);

impl<'de> Deserialize<'de> for RawTask {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        // Valid JSON (the parser checked it) that opens with `{` is an object.
        if !raw.get().starts_with('{') {
            let got = match raw.get().as_bytes().first() {
                Some(b'[') => "a list",
                Some(b'"') => "a string",
                Some(b'n') => "null",
                Some(b't' | b'f') => "a boolean",
                _ => "a number",
            };
            return Err(serde::de::Error::custom(format!(
                "expected a task object, got {got}"
            )));
        }
        if nesting_depth(raw.get()) > MAX_TASK_DEPTH {
            return Err(serde::de::Error::custom(format!(
                "a task nested deeper than {MAX_TASK_DEPTH} levels"
            )));
        }
        Ok(Self(raw))
    }
}

/// The deepest nesting a task may have: serde_json's own recursion limit, which a task kept
/// as text does not go through, and which the models' JSON parsers are built with.
const MAX_TASK_DEPTH: usize = 128;

/// How deeply the arrays and objects of valid JSON `text` nest.
fn nesting_depth(text: &str) -> usize {
    let (mut depth, mut deepest, mut in_string, mut escaped) = (0usize, 0usize, false, false);
    for byte in text.bytes() {
        if in_string {
            match (escaped, byte) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The one field of a task the host reads without parsing the rest.
#[derive(Deserialize)]
struct TaskProject {
    #[serde(default)]
    project: Option<Value>,
}

impl RawTask {
    /// The task's JSON text, as sent.
    pub fn json(&self) -> &str {
        self.0.get()
    }

    /// The task's `project` field.
    pub fn project(&self) -> Option<Value> {
        serde_json::from_str::<TaskProject>(self.0.get())
            .ok()
            .and_then(|t| t.project)
    }

    /// The task's `id`, when it has a numeric one.
    pub fn id(&self) -> Option<u64> {
        #[derive(Deserialize)]
        struct TaskId {
            id: Option<u64>,
        }
        serde_json::from_str::<TaskId>(self.0.get()).ok()?.id
    }

    /// The task as an object, for the host to change (e.g. to preload texts behind URLs).
    pub fn to_object(&self) -> Result<Map<String, Value>, ApiError> {
        serde_json::from_str(self.0.get())
            .map_err(|e| ApiError::BadRequest(format!("invalid request at `tasks`: {e}")))
    }
}

/// `params` of `/predict`.
#[derive(Debug, Default, Deserialize)]
pub struct PredictParams {
    /// The interactive context, when labeling interactively.
    #[serde(default)]
    pub context: Option<Map<String, Value>>,
}

/// `POST /webhook`: only the fields the host routes on; the model gets the whole body.
#[derive(Debug, Deserialize)]
pub struct WebhookRequest {
    /// The event, e.g. `ANNOTATION_CREATED`.
    pub action: String,
    /// The project, with `id` and `label_config`.
    #[serde(default)]
    pub project: Option<WebhookProject>,
    /// The annotation of `ANNOTATION_CREATED` / `ANNOTATION_UPDATED`, as sent (its `id`
    /// decides which queued events describe the same annotation).
    #[serde(default)]
    pub annotation: Option<Value>,
}

/// `POST /job_status`, as Label Studio sends it for a training job it recorded: `{"job": id}`.
#[derive(Debug, Deserialize)]
pub struct JobStatusRequest {
    /// The job id from the Start Training answer: a number, or the same digits as a string
    /// (Label Studio stores it as text).
    pub job: Value,
}

impl JobStatusRequest {
    /// The job id as a number.
    pub fn job_id(&self) -> Result<u64, ApiError> {
        let id = match &self.job {
            Value::Number(n) => n.as_u64(),
            Value::String(s) => s.trim().parse().ok(),
            _ => None,
        };
        id.ok_or_else(|| {
            ApiError::BadRequest(format!(
                "invalid request at `job`: expected a job id (a whole number), got {}",
                self.job
            ))
        })
    }
}

/// `project` of a webhook.
#[derive(Debug, Deserialize)]
pub struct WebhookProject {
    /// The project id.
    #[serde(default)]
    pub id: Option<Value>,
    /// The project's label config.
    #[serde(default)]
    pub label_config: Option<String>,
}

/// Decodes a JSON body into `T`, naming the field that does not fit.
pub fn decode<T: DeserializeOwned>(body: &[u8]) -> Result<T, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::BadRequest(
            "empty request body; expected a JSON object".into(),
        ));
    }
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = err.path().to_string();
        let inner = err.into_inner();
        let what = if inner.is_syntax() || inner.is_eof() {
            "malformed JSON"
        } else {
            "invalid request"
        };
        if path == "." || path.is_empty() {
            ApiError::BadRequest(format!("{what}: {inner}"))
        } else {
            ApiError::BadRequest(format!("{what} at `{path}`: {inner}"))
        }
    })
}

/// The project id from Label Studio's `project` field: the part of `"<id>.<ts>"` before the
/// first `.`, or a bare number. `None` when absent.
pub fn project_id(project: Option<&Value>) -> Result<Option<String>, ApiError> {
    match project {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => {
            let id = s.split('.').next().unwrap_or_default().trim();
            Ok((!id.is_empty()).then(|| id.to_owned()))
        }
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(other) => Err(ApiError::BadRequest(format!(
            "invalid request at `project`: expected a string or a number, got {}",
            json_type(other)
        ))),
    }
}

/// `extra_params` as text for the model: strings verbatim, anything else as JSON.
pub fn extra_params_text(extra: Option<&Value>) -> Option<String> {
    match extra {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tasks_are_kept_as_sent_and_checked() {
        let request: PredictRequest =
            decode(br#"{"tasks": [ {"id": 1, "data": {"t": "a \"[[[\" b"}, "project": 7} ]}"#)
                .expect("valid");
        assert_eq!(
            request.tasks[0].json(),
            r#"{"id": 1, "data": {"t": "a \"[[[\" b"}, "project": 7}"#
        );
        assert_eq!(request.tasks[0].project(), Some(serde_json::json!(7)));
        for (body, needle) in [
            (r#"{"tasks": [1]}"#, "expected a task object, got a number"),
            (r#"{"tasks": [[]]}"#, "got a list"),
            (r#"{"tasks": [{"a": }]}"#, "malformed JSON"),
        ] {
            let err = decode::<PredictRequest>(body.as_bytes()).expect_err(body);
            assert!(err.to_string().contains(needle), "{body}: {err}");
        }
        let deep = format!(
            r#"{{"tasks": [{{"d": {}1{}}}]}}"#,
            "[".repeat(200),
            "]".repeat(200)
        );
        let err = decode::<PredictRequest>(deep.as_bytes()).expect_err("too deep");
        assert!(err.to_string().contains("deeper than 128"), "{err}");
        assert_eq!(nesting_depth(r#"{"a": [{"b": "]]]]"}], "c": {}}"#), 3);
    }

    #[test]
    fn project_ids() {
        let id = |v: Value| project_id(Some(&v)).expect("valid");
        assert_eq!(id(Value::from("62053.1712586036")), Some("62053".into()));
        assert_eq!(id(Value::from("42")), Some("42".into()));
        assert_eq!(id(Value::from(7)), Some("7".into()));
        assert_eq!(id(Value::from("")), None);
        assert!(project_id(Some(&Value::Array(vec![]))).is_err());
    }

    #[test]
    fn errors_name_the_field() {
        let err = decode::<PredictRequest>(br#"{"tasks": "nope"}"#).expect_err("type");
        assert!(err.to_string().contains("`tasks`"), "{err}");
        let err = decode::<PredictRequest>(br#"{"tasks": [1]}"#).expect_err("type");
        assert!(err.to_string().contains("tasks[0]"), "{err}");
        let err = decode::<PredictRequest>(br#"{}"#).expect_err("missing");
        assert!(err.to_string().contains("missing field `tasks`"), "{err}");
        let err = decode::<PredictRequest>(br#"{"tasks": [}"#).expect_err("syntax");
        assert!(err.to_string().starts_with("malformed JSON"), "{err}");
        let deep = "[".repeat(10_000);
        assert!(decode::<Value>(deep.as_bytes()).is_err());
    }
}

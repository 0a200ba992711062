//! One training job: a webhook event waiting for, running in, or done with a model's `fit`.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::error::ErrorBody;
use crate::identity::ProjectKey;

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Waiting for the (model, project)'s previous job to finish.
    Queued,
    /// `fit` is running.
    Running,
    /// `fit` returned; its writes are committed.
    Done,
    /// `fit` failed; nothing it wrote was kept.
    Failed,
}

impl JobState {
    /// True once the job will not change any more.
    pub fn is_finished(self) -> bool {
        matches!(self, Self::Done | Self::Failed)
    }
}

/// A job as stored in the `jobs` table and reported by `GET /models/<name>/jobs/<id>`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JobRecord {
    /// Unique, increasing.
    pub id: u64,
    /// The model's name.
    pub model: String,
    /// The Label Studio project id.
    pub project: String,
    /// The webhook action, e.g. `ANNOTATION_CREATED`.
    pub event: String,
    /// The webhook body; dropped once the job has finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// The label config the webhook carried, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label_config: Option<String>,
    /// Current state.
    pub state: JobState,
    /// How many later events were merged into this one while it waited.
    #[serde(default)]
    pub coalesced_events: u32,
    /// Unix seconds.
    pub created_at: f64,
    /// Unix seconds, once started.
    #[serde(default)]
    pub started_at: Option<f64>,
    /// Unix seconds, once finished.
    #[serde(default)]
    pub finished_at: Option<f64>,
    /// What `fit` returned, once done.
    #[serde(default)]
    pub result: Option<Value>,
    /// True when `fit` committed new trained state.
    #[serde(default)]
    pub trained: bool,
    /// The project's model version after the job.
    #[serde(default)]
    pub model_version: Option<String>,
    /// The error body (`status`, `error`, `detail`) when failed.
    #[serde(default)]
    pub error: Option<ErrorBody>,
}

/// Unix time now, in seconds.
pub fn now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or_default()
}

impl JobRecord {
    /// A new job for `event` on (model, project) `key`, waiting in its queue.
    pub fn queued(
        id: u64,
        key: &ProjectKey,
        event: &str,
        payload: String,
        label_config: Option<String>,
    ) -> Self {
        Self {
            id,
            model: key.model.clone(),
            project: key.project.clone(),
            event: event.to_owned(),
            payload: Some(payload),
            label_config,
            state: JobState::Queued,
            coalesced_events: 0,
            created_at: now(),
            started_at: None,
            finished_at: None,
            result: None,
            trained: false,
            model_version: None,
            error: None,
        }
    }

    /// The (model, project) whose queue the job is in.
    pub fn project_key(&self) -> ProjectKey {
        ProjectKey::new(&self.model, &self.project)
    }

    /// The key in the `jobs` table: zero-padded so key order is id order.
    pub fn key(id: u64) -> String {
        format!("{id:020}")
    }

    /// The job's URL.
    pub fn url(&self) -> String {
        format!("/models/{}/jobs/{}", self.model, self.id)
    }

    /// The public view: everything but the payload and the label config.
    pub fn to_json(&self) -> Value {
        json!({
            "id": self.id,
            "url": self.url(),
            "model": self.model,
            "project": self.project,
            "event": self.event,
            "state": self.state,
            "coalesced_events": self.coalesced_events,
            "created_at": self.created_at,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "result": self.result,
            "trained": self.trained,
            "model_version": self.model_version,
            "error": self.error,
        })
    }
}

/// How a job ended.
#[derive(Debug, Clone)]
pub enum JobOutcome {
    /// `fit` returned and its writes are committed.
    Done {
        /// The model's result.
        result: Value,
        /// Whether trained state changed.
        trained: bool,
        /// The project's model version afterwards.
        model_version: String,
    },
    /// Something failed; the error body to report.
    Failed(ErrorBody),
}

impl JobRecord {
    /// This job, finished with `outcome`: the payload is dropped, the outcome recorded.
    pub fn finished(&self, outcome: &JobOutcome) -> Self {
        let mut record = self.clone();
        record.payload = None;
        record.label_config = None;
        record.finished_at = Some(now());
        match outcome {
            JobOutcome::Done {
                result,
                trained,
                model_version,
            } => {
                record.state = JobState::Done;
                record.result = Some(result.clone());
                record.trained = *trained;
                record.model_version = Some(model_version.clone());
            }
            JobOutcome::Failed(error) => {
                record.state = JobState::Failed;
                record.error = Some(error.clone());
            }
        }
        record
    }

    /// How the job ended, once it has (`None` while queued or running).
    pub fn outcome(&self) -> Option<JobOutcome> {
        match self.state {
            JobState::Queued | JobState::Running => None,
            JobState::Done => Some(JobOutcome::Done {
                result: self.result.clone().unwrap_or(Value::Null),
                trained: self.trained,
                model_version: self.model_version.clone().unwrap_or_default(),
            }),
            JobState::Failed => Some(JobOutcome::Failed(self.error.clone().unwrap_or_else(
                || ErrorBody {
                    status: 500,
                    error: "internal error".into(),
                    detail: "the job failed without a recorded error".into(),
                    model: Some(self.model.clone()),
                    request_id: None,
                },
            ))),
        }
    }

    /// The record as stored.
    pub fn encode(&self) -> Vec<u8> {
        // A struct of strings, numbers and JSON values always serialises.
        serde_json::to_vec(self).unwrap_or_default()
    }
}

/// Which queued event a new one may replace: the same annotation (its latest state is what
/// matters), or a repeated "start training". Other events are always delivered.
pub fn coalesce_key(event: &str, annotation: Option<&Value>) -> Option<String> {
    match event {
        "START_TRAINING" => Some("start-training".into()),
        "ANNOTATION_CREATED" | "ANNOTATION_UPDATED" => {
            let id = annotation?.get("id")?;
            (id.is_number() || id.is_string()).then(|| format!("annotation:{id}"))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coalesce_keys() {
        let created = json!({"id": 5});
        assert_eq!(
            coalesce_key("ANNOTATION_CREATED", Some(&created)),
            coalesce_key("ANNOTATION_UPDATED", Some(&created))
        );
        assert_ne!(
            coalesce_key("ANNOTATION_UPDATED", Some(&json!({"id": 6}))),
            coalesce_key("ANNOTATION_UPDATED", Some(&created))
        );
        assert_eq!(coalesce_key("ANNOTATION_CREATED", Some(&json!({}))), None);
        assert_eq!(coalesce_key("ANNOTATION_CREATED", None), None);
        assert_eq!(coalesce_key("ANNOTATIONS_DELETED", Some(&created)), None);
        assert!(coalesce_key("START_TRAINING", None).is_some());
    }

    #[test]
    fn records_round_trip_and_drop_payloads_when_finished() {
        let key = ProjectKey::new("m", "1");
        let mut record = JobRecord::queued(3, &key, "START_TRAINING", "{}".into(), None);
        // A time that survives the JSON round trip exactly.
        record.created_at = 1_700_000_000.25;
        let decoded: JobRecord = serde_json::from_slice(&record.encode()).expect("decode");
        assert_eq!(decoded, record);
        let error = ErrorBody {
            status: 500,
            error: "trap".into(),
            detail: "the model trapped".into(),
            model: Some("m".into()),
            request_id: None,
        };
        let done = record.finished(&JobOutcome::Failed(error.clone()));
        assert_eq!(done.error, Some(error));
        assert_eq!(done.state, JobState::Failed);
        assert_eq!(done.payload, None);
        assert!(JobRecord::key(2) < JobRecord::key(10));
    }
}

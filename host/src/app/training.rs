//! `POST /webhook` and the training jobs behind it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{App, Reply};
use crate::api::{self, WebhookRequest};
use crate::error::{ApiError, ErrorBody, error_reference};
use crate::identity::ProjectKey;
use crate::jobs::{Finished, FitRunner, FitSlots, JobOutcome, JobRecord, JobState};
use crate::registry::ModelState;
use crate::runtime::{CallOutcome, LoadedModel};
use crate::store::{HostTable, StoreFailure};

/// Webhook actions that reach a model's `fit`. `ANNOTATION_DELETED` is the reference's
/// spelling; Label Studio sends `ANNOTATIONS_DELETED`.
pub const TRAINING_EVENTS: [&str; 6] = [
    "ANNOTATION_CREATED",
    "ANNOTATION_UPDATED",
    "ANNOTATIONS_CREATED",
    "ANNOTATIONS_DELETED",
    "ANNOTATION_DELETED",
    "START_TRAINING",
];

/// How long a queued job waits for its model to finish loading (e.g. after a restart)
/// before it fails.
const MODEL_LOAD_WAIT: Duration = Duration::from_secs(600);

/// Attempts of a job whose commit keeps finding its training lock lost.
const LOCK_LOST_RETRIES: u32 = 3;

/// Newest jobs listed by `GET /models/<name>/jobs`.
const JOBS_LISTED: usize = 100;

impl App {
    /// `POST /webhook`: a training event becomes a durable job; the answer carries `fit`'s
    /// result when it is first in line and finishes within `fit_wait` (like the reference),
    /// else the job to poll.
    /// Other events are acknowledged without calling the model.
    pub(super) async fn webhook(
        self: &Arc<Self>,
        name: &str,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let request: WebhookRequest = api::decode(body)?;
        if !TRAINING_EVENTS.contains(&request.action.as_str()) {
            return Ok(Reply::ok(json!({"status": "Unknown event"})));
        }
        let project_field = request.project.as_ref();
        let project =
            api::project_id(project_field.and_then(|p| p.id.as_ref()))?.unwrap_or_default();
        super::record_project(&project);
        let label_config = project_field.and_then(|p| p.label_config.clone());
        if let Some(raw) = &label_config {
            self.configs.get(raw.clone())?;
        }
        self.accepts_jobs(name)?;
        let payload = std::str::from_utf8(body)
            .map_err(|_| ApiError::BadRequest("request body is not UTF-8".into()))?;
        let key = ProjectKey::new(name, project);
        let submitted = self
            .jobs
            .submit(
                &key,
                &request.action,
                payload.to_owned(),
                request.annotation.as_ref(),
                label_config,
            )
            .await?;
        if submitted.start_worker {
            self.jobs.spawn_worker(key, self.clone());
        }
        // Behind another job, this one cannot be expected to finish soon: answer at once.
        let wait = if submitted.first_in_line {
            self.fit_wait
        } else {
            Duration::ZERO
        };
        let job = self
            .jobs
            .wait(submitted.id, wait)
            .await
            .ok_or_else(|| ApiError::Internal("the job vanished".into()))?;
        Ok(webhook_reply(&job, submitted.coalesced))
    }

    /// Events are accepted while a model loads (they wait in the queue), not for unknown
    /// models or models that failed to load.
    fn accepts_jobs(&self, name: &str) -> Result<(), ApiError> {
        match self.registry.get(name) {
            Some(entry) if entry.current.is_some() || entry.state == ModelState::Loading => Ok(()),
            _ => self.ready(name).map(|_| ()),
        }
    }

    /// `GET /models/<name>/jobs`: the newest jobs, newest first.
    pub(super) async fn list_jobs(&self, name: &str) -> Reply {
        let jobs: Vec<Value> = self
            .jobs
            .list(name, JOBS_LISTED)
            .await
            .iter()
            .map(JobRecord::to_json)
            .collect();
        Reply::ok(json!({"jobs": jobs}))
    }

    /// `GET /models/<name>/jobs/<id>`.
    pub(super) async fn job(&self, name: &str, id: u64) -> Result<Reply, ApiError> {
        Ok(Reply::ok(self.job_record(name, id).await?.to_json()))
    }

    /// `POST /job_status` (`{"job": id}`): the job in the shape Label Studio polls for the
    /// job a Start Training answer named (`job_status`: `queued`, `started`, `finished` or
    /// `failed`, the statuses of the reference's job queue), with the job's record. A job not
    /// kept (pruned from the history, or another model's) answers 410 Gone, which Label
    /// Studio records as removed.
    pub(super) async fn job_status(&self, name: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let request: api::JobStatusRequest = api::decode(body)?;
        let job = match self.job_record(name, request.job_id()?).await {
            Err(ApiError::NotFound(message)) => return Err(ApiError::JobGone(message)),
            other => other?,
        };
        let status = match job.state {
            JobState::Queued => "queued",
            JobState::Running => "started",
            JobState::Done => "finished",
            JobState::Failed => "failed",
        };
        let mut body = job.to_json();
        if let Some(obj) = body.as_object_mut() {
            obj.insert("job_status".into(), json!(status));
        }
        Ok(Reply::ok(body))
    }

    /// Job `id` when it belongs to model `name`.
    async fn job_record(&self, name: &str, id: u64) -> Result<JobRecord, ApiError> {
        match self.jobs.get(id).await {
            Some(job) if job.model == name => Ok(job),
            _ => Err(ApiError::NotFound(format!(
                "/models/{name}/jobs/{id}: no such job (finished jobs are kept for the last {} jobs)",
                crate::jobs::MAX_FINISHED_JOBS
            ))),
        }
    }

    /// The model `name` once it has loaded; fails when it is unknown or failed to load.
    async fn when_ready(&self, name: &str) -> Result<Arc<LoadedModel>, ApiError> {
        let started = Instant::now();
        loop {
            match self.ready(name) {
                Ok(model) => return Ok(model),
                Err(ApiError::ModelUnavailable { .. })
                    if started.elapsed() < MODEL_LOAD_WAIT
                        && self
                            .registry
                            .get(name)
                            .is_some_and(|e| e.state == ModelState::Loading) =>
                {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => return Err(err),
            }
        }
    }

    /// Runs one job: once its model has loaded and its lock across hosts is held, in one of
    /// `slots`. A commit refused because the lock was lost meanwhile (its lease expired and
    /// another host may have trained) runs the job again from the state then stored, so
    /// the event is neither lost nor trained into a stale version.
    async fn run_job(&self, job: &JobRecord, slots: &FitSlots) -> Result<Finished, ApiError> {
        let model = self.when_ready(&job.model).await?;
        let mut attempt = 1;
        loop {
            match self.run_job_locked(&model, job, slots).await {
                Err(ApiError::Store(StoreFailure::LockLost(lock)))
                    if attempt < LOCK_LOST_RETRIES =>
                {
                    tracing::warn!(
                        model = %job.model, project = %job.project, job = job.id, attempt,
                        "lost the training lock {lock} before committing; running the job again"
                    );
                    attempt += 1;
                }
                other => return other,
            }
        }
    }

    /// One attempt of a job under the (model, project) lock: `fit`, then a commit, fenced by
    /// the lock, of what it wrote, the project's new version when it trained, and the
    /// finished job record, in one transaction.
    async fn run_job_locked(
        &self,
        model: &LoadedModel,
        job: &JobRecord,
        slots: &FitSlots,
    ) -> Result<Finished, ApiError> {
        // Hosts sharing a store train one (model, project) at a time between them.
        let lock = self.store.lock(&job.project_key().training_lock()).await?;
        let latest;
        let job = match self.jobs.shared_record(job.id).await? {
            // Another host ran it (e.g. after this host restarted and queued it again).
            Some(record) if record.state.is_finished() => {
                let outcome = record.outcome().ok_or_else(|| {
                    ApiError::Internal("a finished job without an outcome".into())
                })?;
                return Ok(Finished {
                    outcome,
                    persisted: true,
                });
            }
            // The stored record may carry a payload another host merged into it.
            Some(record) => {
                latest = record;
                &latest
            }
            None => job,
        };
        // Only now can the job run: waiting for the model or the lock held no slot.
        let _slot = slots
            .take()
            .await
            .ok_or_else(|| ApiError::Internal("the host is shutting down".into()))?;
        let call = self
            .prepare(model, job.project.clone(), job.label_config.clone())
            .await?;
        let mut env = call.env(self, model, model.limits.fit_timeout);
        let mut payload = job.payload.clone().unwrap_or_else(|| "{}".into());
        let url_keys = super::preload::url_content_keys(call.config.parsed());
        if let (false, Some(fetch)) = (url_keys.is_empty(), env.task_data.as_mut()) {
            payload =
                super::preload::preload_payload(&job.model, &payload, &url_keys, fetch).await?;
        }
        let outcome = model.fit(env, &call.input(), &job.event, &payload).await;
        let CallOutcome {
            value: fit, store, ..
        } = outcome.map_err(|error| ApiError::Model {
            model: job.model.clone(),
            error,
        })?;
        let mut finished = None;
        self.projects
            .commit(
                &job.project_key(),
                |settings| {
                    if fit.trained {
                        settings.generation += 1;
                    }
                },
                |settings| {
                    let outcome = JobOutcome::Done {
                        result: fit.result.clone(),
                        trained: fit.trained,
                        model_version: model.version(settings.generation),
                    };
                    let record = job.finished(&outcome);
                    finished = Some(outcome);
                    store
                        .into_batch()
                        .with_host(
                            HostTable::Jobs,
                            JobRecord::key(job.id),
                            Some(record.encode()),
                        )
                        .fenced_by(&lock)
                },
            )
            .await?;
        let outcome = finished.ok_or_else(|| ApiError::Internal("no outcome".into()))?;
        Ok(Finished {
            outcome,
            persisted: true,
        })
    }
}

#[async_trait::async_trait]
impl FitRunner for App {
    async fn run(&self, job: JobRecord, slots: FitSlots) -> Finished {
        match self.run_job(&job, &slots).await {
            Ok(finished) => finished,
            Err(err) => {
                let reference = err.status().is_server_error().then(error_reference);
                if let Some(reference) = &reference {
                    tracing::error!(
                        model = %job.model, project = %job.project, job = job.id, reference,
                        "training job failed: {}", err.cause()
                    );
                } else {
                    tracing::warn!(model = %job.model, project = %job.project, job = job.id, "training job failed: {err}");
                }
                Finished {
                    outcome: JobOutcome::Failed(err.body(reference.as_deref())),
                    persisted: false,
                }
            }
        }
    }
}

/// The webhook's answer for `job` after waiting: its result, its error, or where to poll.
fn webhook_reply(job: &JobRecord, coalesced: bool) -> Reply {
    let mut body = match job.state {
        JobState::Done => json!({
            "result": job.result,
            "status": "ok",
            "model_version": job.model_version,
        }),
        JobState::Failed => serde_json::to_value(&job.error).unwrap_or_default(),
        JobState::Queued | JobState::Running => json!({
            "status": job.state,
            "detail": "training continues in the background; poll job_url for its outcome",
        }),
    };
    if let Some(obj) = body.as_object_mut() {
        obj.insert("job_id".into(), json!(job.id));
        // Label Studio records `job` from a Start Training answer to poll `/job_status`.
        obj.insert("job".into(), json!(job.id.to_string()));
        obj.insert("job_url".into(), json!(job.url()));
        if coalesced {
            obj.insert("coalesced".into(), json!(true));
        }
    }
    let status = match job.state {
        JobState::Done => hyper::StatusCode::CREATED,
        JobState::Queued | JobState::Running => hyper::StatusCode::ACCEPTED,
        JobState::Failed => job.error.as_ref().map_or(
            hyper::StatusCode::INTERNAL_SERVER_ERROR,
            ErrorBody::status_code,
        ),
    };
    Reply {
        status,
        body,
        encoded: None,
        content_type: None,
    }
}

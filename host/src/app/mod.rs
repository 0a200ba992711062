//! The application: the protocol endpoints, on top of the registry, runtime and store.

mod answers;
mod checks;
mod configs;
mod exposition;
mod preload;
mod training;
mod versions;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::api::{self, PredictRequest, SetupRequest};
use crate::error::ApiError;
use crate::jobs::Jobs;
use crate::limits::CallLimits;
use crate::projects::Projects;
use crate::registry::{ModelState, Registry};
use crate::routes::{Endpoint, ModelRef};
use crate::runtime::{CallConfig, CallEnv, CallInput, LoadedModel, Runtime};
use crate::store::{CallStore, ModelStore, ProjectKey};
use crate::taskdata::{LabelStudio, SetupCredentials, TaskData, TaskDataCall};

use answers::{model_summary, stamp_slots};
pub use checks::PredictionChecks;
pub use configs::{CONFIG_IDLE, ConfigCache};
pub use exposition::ServerGauges;
pub use training::TRAINING_EVENTS;

/// How long a client should wait before retrying a model that is still loading.
const RETRY_AFTER_LOADING_SECS: u64 = 2;

/// Everything the endpoints share.
pub struct App {
    /// Loaded models by name.
    pub registry: Registry,
    /// The WebAssembly runtime.
    pub runtime: Runtime,
    /// The key/value store behind the WIT `store` interface.
    pub store: Arc<dyn ModelStore>,
    /// Per-project settings, persisted in `store`.
    pub projects: Projects,
    /// Training jobs, persisted in `store`.
    pub jobs: Arc<Jobs>,
    /// How long a webhook waits for its `fit` before answering "queued".
    pub fit_wait: Duration,
    /// Parsed label configs by content.
    pub configs: ConfigCache,
    /// Budgets for each guest call.
    pub limits: CallLimits,
    /// The model root paths serve when several are loaded.
    pub default_model: Option<String>,
    /// What models fetch their tasks' data through.
    pub task_data: Arc<TaskData>,
    /// Predictions that did not fit their label config, per model.
    pub prediction_checks: PredictionChecks,
}

/// A JSON answer with its status.
pub struct Reply {
    /// HTTP status.
    pub status: hyper::StatusCode,
    /// JSON body.
    pub body: Value,
    /// The body already encoded, sent instead of `body`: answers assembled from the
    /// guest's own JSON text.
    pub encoded: Option<String>,
    /// The `Content-Type` of `encoded` when it is not JSON (the metrics' text).
    pub content_type: Option<&'static str>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: hyper::StatusCode::OK,
            body,
            encoded: None,
            content_type: None,
        }
    }

    fn ok_encoded(json: String) -> Self {
        Self {
            status: hyper::StatusCode::OK,
            body: Value::Null,
            encoded: Some(json),
            content_type: None,
        }
    }
}

impl App {
    /// Answers one protocol endpoint for the model `name` ([`App::resolve`]). `query` is
    /// the request URI's query string, read by the endpoints that take parameters there
    /// (`/versions`).
    pub async fn model_endpoint(
        self: &Arc<Self>,
        name: &str,
        endpoint: Endpoint,
        query: Option<&str>,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        tracing::Span::current().record("model", tracing::field::display(name));
        match endpoint {
            Endpoint::Health => self.health(name),
            Endpoint::Setup => self.setup(name, body).await,
            Endpoint::Predict => self.predict(name, body).await,
            Endpoint::Webhook => self.webhook(name, body).await,
            Endpoint::Metrics => Ok(Reply::ok(self.model_metrics(name))),
            Endpoint::Jobs => Ok(self.list_jobs(name).await),
            Endpoint::Job(id) => self.job(name, id).await,
            Endpoint::JobStatus => self.job_status(name, body).await,
            Endpoint::Versions => self.versions(name, query).await,
        }
    }

    /// `GET /models`.
    pub fn list_models(&self) -> Reply {
        let models: Vec<Value> = self
            .registry
            .entries()
            .into_iter()
            .map(|(name, entry)| {
                let mut summary = model_summary(&name, &entry);
                if let Some(object) = summary.as_object_mut() {
                    let last = self.prediction_checks.last(&name);
                    object.insert("last_invalid_prediction".into(), json!(last));
                }
                summary
            })
            .collect();
        Reply::ok(json!({
            "models": models,
            "default_model": self.default_model_name(),
            "pooling_allocator": self.runtime.pooling,
            "store": self.store.describe(),
            "task_data": self.task_data.describe(),
            "nn": self.runtime.nn.describe(),
        }))
    }

    /// A model's counters, with its graphs' inferences when it has graphs.
    fn model_metrics(&self, name: &str) -> Value {
        let mut snapshot = crate::metrics::global().model_json(name);
        let graphs = self
            .registry
            .get(name)
            .and_then(|entry| entry.current)
            .map(|model| model.graphs.reports())
            .unwrap_or_default();
        if let (false, Some(object)) = (graphs.is_empty(), snapshot.as_object_mut()) {
            let inferences: u64 = graphs.iter().map(|g| g.inferences).sum();
            let failed: u64 = graphs.iter().map(|g| g.failed_inferences).sum();
            let ms: f64 = graphs.iter().map(|g| g.inference_ms).sum();
            object.insert("inferences".into(), json!(inferences));
            object.insert("failed_inferences".into(), json!(failed));
            object.insert("inference_seconds_total".into(), json!(ms / 1000.0));
        }
        snapshot
    }

    /// The model a route refers to. Root paths use `--default-model`, else the only model.
    pub fn resolve(&self, model: &ModelRef) -> Result<String, ApiError> {
        match model {
            ModelRef::Named(name) => {
                if self.registry.get(name).is_some() {
                    Ok(name.clone())
                } else {
                    Err(ApiError::UnknownModel {
                        name: name.clone(),
                        available: self.model_urls(),
                    })
                }
            }
            ModelRef::Default => match self.default_model_name() {
                Some(name) => Ok(name),
                None => Err(ApiError::NoDefaultModel {
                    count: self.registry.names().len(),
                    available: self.model_urls(),
                }),
            },
        }
    }

    fn default_model_name(&self) -> Option<String> {
        if let Some(name) = &self.default_model {
            return Some(name.clone());
        }
        let names = self.registry.names();
        match names.as_slice() {
            [only] => Some(only.clone()),
            _ => None,
        }
    }

    fn model_urls(&self) -> String {
        let urls: Vec<String> = self
            .registry
            .names()
            .iter()
            .map(|n| format!("/models/{n}"))
            .collect();
        if urls.is_empty() {
            "none".into()
        } else {
            urls.join(", ")
        }
    }

    /// The model serving `name`, or 503 while it loads / after it failed.
    fn ready(&self, name: &str) -> Result<Arc<LoadedModel>, ApiError> {
        let entry = self
            .registry
            .get(name)
            .ok_or_else(|| ApiError::UnknownModel {
                name: name.to_owned(),
                available: self.model_urls(),
            })?;
        match (&entry.current, entry.state) {
            (Some(model), _) => Ok(model.clone()),
            (None, ModelState::Failed) => Err(ApiError::ModelUnavailable {
                model: name.to_owned(),
                state: format!(
                    "not loaded: {}",
                    entry.last_error.as_deref().unwrap_or("unknown error")
                ),
                retry_after: RETRY_AFTER_LOADING_SECS,
            }),
            (None, _) => Err(ApiError::ModelUnavailable {
                model: name.to_owned(),
                state: "still loading".into(),
                retry_after: RETRY_AFTER_LOADING_SECS,
            }),
        }
    }

    /// `GET /health`: answers from the registry only, never compiles.
    fn health(&self, name: &str) -> Result<Reply, ApiError> {
        let model = self.ready(name)?;
        Ok(Reply::ok(json!({
            "status": "UP",
            "model_class": name,
            "model": {"name": model.info.name, "version": model.info.version},
        })))
    }

    /// `POST /setup`: remembers the project's label config and extra params, answers the
    /// version predictions will carry. Never compiles or calls the model.
    async fn setup(&self, name: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let request: SetupRequest = api::decode(body)?;
        let project = api::project_id(request.project.as_ref())?.unwrap_or_default();
        record_project(&project);
        let owner = ProjectKey::new(name, project);
        if let Some(schema) = &request.schema {
            self.configs.get(schema.clone())?;
        }
        let model = self.ready(name)?;
        let extra_params = api::extra_params_text(request.extra_params.as_ref());
        let label_studio =
            (request.hostname.is_some() || request.access_token.is_some()).then(|| {
                SetupCredentials {
                    hostname: request.hostname.clone(),
                    access_token: request.access_token.clone(),
                }
            });
        let mut settings = self.projects.get(&owner).await?;
        let changed = (request.schema.is_some() && request.schema != settings.label_config)
            || extra_params != settings.extra_params
            || (label_studio.is_some() && label_studio != settings.label_studio);
        // Label Studio calls /setup often (every project page load); write only on change.
        if changed {
            settings = Arc::new(
                self.projects
                    .commit(
                        &owner,
                        |settings| {
                            if request.schema.is_some() {
                                settings.label_config = request.schema.clone();
                            }
                            settings.extra_params = extra_params;
                            if label_studio.is_some() {
                                settings.label_studio = label_studio;
                            }
                        },
                        |_| Default::default(),
                    )
                    .await?,
            );
        }
        Ok(Reply::ok(
            json!({"model_version": model.version(settings.generation)}),
        ))
    }

    /// `POST /predict`: one slot per task, in order, each stamped with the model version.
    async fn predict(&self, name: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let request: PredictRequest = api::decode(body)?;
        let project = match api::project_id(request.project.as_ref())? {
            Some(id) => id,
            // Label Studio omits `project` in some calls; every task carries it.
            None => api::project_id(request.tasks.first().and_then(|t| t.project()).as_ref())?
                .unwrap_or_default(),
        };
        record_project(&project);
        let model = self.ready(name)?;
        let call = self.prepare(&model, project, request.label_config).await?;
        let mut env = call.env(self, &model, model.limits.predict_timeout);
        let url_keys = preload::url_content_keys(call.config.parsed());
        let tasks: Vec<String> = match (url_keys.is_empty(), env.task_data.as_mut()) {
            (false, Some(fetch)) => {
                let mut tasks = Vec::with_capacity(request.tasks.len());
                for task in &request.tasks {
                    let mut task = task.to_object()?;
                    preload::preload_task(name, &mut task, &url_keys, fetch).await?;
                    tasks.push(Value::Object(task).to_string());
                }
                tasks
            }
            // Tasks reach the model as they were sent.
            _ => request.tasks.iter().map(|t| t.json().to_owned()).collect(),
        };
        let context = request
            .params
            .and_then(|p| p.context)
            .map(|c| Value::Object(c).to_string());
        let started = std::time::Instant::now();
        let outcome = model
            .predict(env, &call.input(), &tasks, context.as_deref())
            .await
            .and_then(|answer| {
                self.check_predictions(&model, &call, &request.tasks, &answer.value)?;
                let results = stamp_slots(&answer.value, tasks.len(), &call.version)?;
                Ok((results, answer.store))
            });
        let answered = if outcome.is_ok() { tasks.len() } else { 0 };
        crate::metrics::global().record_predict(name, answered, started.elapsed());
        let (results, store) = outcome.map_err(|error| ApiError::Model {
            model: name.to_owned(),
            error,
        })?;
        // Predictions may cache things; what they wrote is kept only when they succeed.
        if !store.is_unchanged() {
            self.store.commit(store.into_batch()).await?;
        }
        let version = Value::String(call.version).to_string();
        Ok(Reply::ok_encoded(format!(
            r#"{{"results":{results},"model_version":{version}}}"#
        )))
    }

    /// Checks each slot of a `/predict` answer against the label config (see [`checks`]):
    /// violations are recorded, and fail the call when the model is strict.
    fn check_predictions(
        &self,
        model: &LoadedModel,
        call: &PreparedCall,
        tasks: &[api::RawTask],
        slots: &[String],
    ) -> Result<(), crate::runtime::CallError> {
        for (index, slot) in slots.iter().enumerate() {
            let Some(violation) = checks::check_slot(call.config.parsed(), slot) else {
                continue;
            };
            let task = tasks.get(index).and_then(api::RawTask::id);
            let failure = model.limits.strict_predictions.then(|| {
                crate::runtime::CallError::InvalidOutput(format!(
                    "the prediction for task {} does not fit the label config ({}): {}",
                    task.map_or_else(|| format!("#{index}"), |id| id.to_string()),
                    violation.problem,
                    violation.detail
                ))
            });
            self.prediction_checks.record(
                &model.name,
                checks::InvalidPrediction {
                    model_version: call.version.clone(),
                    task,
                    problem: violation.problem,
                    detail: violation.detail,
                    at: crate::jobs::now(),
                },
            );
            if let Some(failure) = failure {
                return Err(failure);
            }
        }
        Ok(())
    }

    /// Everything a guest call needs for `project`: the label config from the request, else
    /// from `/setup` (a broken one is the client's error, 400), the project's extra params,
    /// its model version and its slice of the store.
    async fn prepare(
        &self,
        model: &LoadedModel,
        project: String,
        label_config: Option<String>,
    ) -> Result<PreparedCall, ApiError> {
        let owner = ProjectKey::new(&model.name, project);
        let settings = self.projects.get(&owner).await?;
        let raw_config = label_config
            .or_else(|| settings.label_config.clone())
            .unwrap_or_default();
        let config = self.configs.get(raw_config)?;
        let label_studio = self.task_data.label_studio(settings.label_studio.as_ref());
        Ok(PreparedCall {
            version: model.version(settings.generation),
            label_studio,
            owner,
            config,
            extra_params: settings.extra_params.clone(),
        })
    }
}

/// The owned inputs of one guest call; see [`App::prepare`].
struct PreparedCall {
    owner: ProjectKey,
    label_studio: Option<Arc<LabelStudio>>,
    config: Arc<CallConfig>,
    version: String,
    extra_params: Option<String>,
}

impl PreparedCall {
    /// A fresh transaction on the call's (model, project) slice of `backend`.
    fn store(&self, backend: &Arc<dyn ModelStore>) -> CallStore {
        CallStore::new(backend.clone(), self.owner.clone())
    }

    /// The call's store transaction and task-data view, within `model`'s limits; fetches
    /// before the call (preloading texts behind URLs) end within `budget`, and the runtime
    /// sets the call's own deadline when it starts.
    fn env(&self, app: &App, model: &LoadedModel, budget: std::time::Duration) -> CallEnv {
        CallEnv {
            store: self.store(&app.store),
            task_data: Some(TaskDataCall::new(
                app.task_data.clone(),
                self.label_studio.clone(),
                model.grants.egress.clone(),
                &self.owner,
                model.limits.fetch_bytes,
                model.limits.fetch_timeout,
                std::time::Instant::now() + budget,
            )),
        }
    }

    fn input(&self) -> CallInput<'_> {
        CallInput {
            project: &self.owner.project,
            config: &self.config,
            model_version: &self.version,
            extra_params: self.extra_params.as_deref(),
        }
    }
}

/// Names the project in the request's span (see `crate::server`), for every line logged after.
fn record_project(project: &str) {
    if !project.is_empty() {
        tracing::Span::current().record("project", tracing::field::display(project));
    }
}

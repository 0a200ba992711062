//! The application: the protocol endpoints, on top of the registry, runtime and store.

use std::sync::Arc;

use serde_json::{Map, Value, json};

use crate::api::{self, PredictRequest, SetupRequest, WebhookRequest};
use crate::error::ApiError;
use crate::labelconfig::LabelConfig;
use crate::metrics::Metrics;
use crate::projects::Projects;
use crate::registry::{ModelEntry, ModelState, Registry};
use crate::routes::{Endpoint, ModelRef};
use crate::runtime::{CallError, CallInput, CallLimits, LoadedModel, Runtime};
use crate::store::{ModelStore, ScopedStore, StoreScope};
use crate::version::model_version;

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
    /// Per-project settings.
    pub projects: Projects,
    /// Request counters per model.
    pub metrics: Metrics,
    /// Budgets for each guest call.
    pub limits: CallLimits,
    /// The model root paths serve when several are loaded.
    pub default_model: Option<String>,
}

/// A JSON answer with its status.
pub struct Reply {
    /// HTTP status.
    pub status: hyper::StatusCode,
    /// JSON body.
    pub body: Value,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Self {
            status: hyper::StatusCode::OK,
            body,
        }
    }
}

impl App {
    /// Answers one protocol endpoint for one model.
    pub async fn model_endpoint(
        &self,
        model: &ModelRef,
        endpoint: Endpoint,
        body: &[u8],
    ) -> Result<Reply, ApiError> {
        let name = self.resolve(model)?;
        match endpoint {
            Endpoint::Health => self.health(&name),
            Endpoint::Setup => self.setup(&name, body),
            Endpoint::Predict => self.predict(&name, body).await,
            Endpoint::Webhook => self.webhook(&name, body).await,
            Endpoint::Metrics => Ok(Reply::ok(self.metrics.snapshot(&name))),
            Endpoint::Versions => Err(ApiError::NotFound(format!(
                "/models/{name}/versions: versions are not listed; each project's model \
                 version is reported by /setup"
            ))),
        }
    }

    /// `GET /models`.
    pub fn list_models(&self) -> Reply {
        let models: Vec<Value> = self
            .registry
            .entries()
            .into_iter()
            .map(|(name, entry)| model_summary(&name, &entry))
            .collect();
        Reply::ok(json!({
            "models": models,
            "default_model": self.default_model_name(),
            "pooling_allocator": self.runtime.pooling,
        }))
    }

    /// The model a route refers to. Root paths use `--default-model`, else the only model.
    fn resolve(&self, model: &ModelRef) -> Result<String, ApiError> {
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

    fn version_for(&self, model: &LoadedModel, project: &str) -> String {
        let generation = self.projects.get(&model.name, project).generation;
        model_version(&model.info.version, &model.component_hash, generation)
    }

    /// `POST /setup`: remembers the project's label config and extra params, answers the
    /// version predictions will carry. Never compiles or calls the model.
    fn setup(&self, name: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let request: SetupRequest = api::decode(body)?;
        let project = api::project_id(request.project.as_ref())?.unwrap_or_default();
        if let Some(schema) = &request.schema {
            LabelConfig::parse(schema).map_err(|e| ApiError::InvalidLabelConfig(e.to_string()))?;
        }
        let model = self.ready(name)?;
        let extra_params = api::extra_params_text(request.extra_params.as_ref());
        self.projects.update(name, &project, |settings| {
            if request.schema.is_some() {
                settings.label_config = request.schema.clone();
            }
            settings.extra_params = extra_params;
        });
        Ok(Reply::ok(
            json!({"model_version": self.version_for(&model, &project)}),
        ))
    }

    /// `POST /predict`: one slot per task, in order, each stamped with the model version.
    async fn predict(&self, name: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let request: PredictRequest = api::decode(body)?;
        let project = match api::project_id(request.project.as_ref())? {
            Some(id) => id,
            // Label Studio omits `project` in some calls; every task carries it.
            None => api::project_id(request.tasks.first().and_then(|t| t.get("project")))?
                .unwrap_or_default(),
        };
        let model = self.ready(name)?;
        let call = self.prepare(&model, project, request.label_config)?;
        let tasks: Vec<String> = request
            .tasks
            .iter()
            .map(|task| Value::Object(task.clone()).to_string())
            .collect();
        let context = request
            .params
            .and_then(|p| p.context)
            .map(|c| Value::Object(c).to_string());
        let started = std::time::Instant::now();
        let outcome = model
            .predict(
                call.store.clone(),
                &call.input(),
                &tasks,
                context.as_deref(),
            )
            .await
            .and_then(|slots| stamp_slots(&slots, tasks.len(), &call.version));
        self.metrics
            .record_predict(name, tasks.len(), started.elapsed(), outcome.is_ok());
        let results = outcome.map_err(|error| ApiError::Model {
            model: name.to_owned(),
            error,
        })?;
        Ok(Reply::ok(
            json!({"results": results, "model_version": call.version}),
        ))
    }

    /// `POST /webhook`: training events call `fit`; others are acknowledged and ignored.
    async fn webhook(&self, name: &str, body: &[u8]) -> Result<Reply, ApiError> {
        let request: WebhookRequest = api::decode(body)?;
        if !TRAINING_EVENTS.contains(&request.action.as_str()) {
            return Ok(Reply::ok(json!({"status": "Unknown event"})));
        }
        let project_field = request.project.as_ref();
        let project =
            api::project_id(project_field.and_then(|p| p.id.as_ref()))?.unwrap_or_default();
        let model = self.ready(name)?;
        let label_config = project_field.and_then(|p| p.label_config.clone());
        let call = self.prepare(&model, project, label_config)?;
        let payload = std::str::from_utf8(body)
            .map_err(|_| ApiError::BadRequest("request body is not UTF-8".into()))?;
        let outcome = model
            .fit(call.store.clone(), &call.input(), &request.action, payload)
            .await;
        self.metrics.record_fit(name, outcome.is_ok());
        let fit = outcome.map_err(|error| ApiError::Model {
            model: name.to_owned(),
            error,
        })?;
        if fit.trained {
            self.projects
                .update(name, &call.project, |settings| settings.generation += 1);
        }
        Ok(Reply {
            status: hyper::StatusCode::CREATED,
            body: json!({"result": fit.result, "status": "ok"}),
        })
    }

    /// Everything a guest call needs for `project`: the label config from the request, else
    /// from `/setup` (a broken one is the client's error, 400), the project's extra params,
    /// its model version and its slice of the store.
    fn prepare(
        &self,
        model: &LoadedModel,
        project: String,
        label_config: Option<String>,
    ) -> Result<PreparedCall, ApiError> {
        let settings = self.projects.get(&model.name, &project);
        let raw_config = label_config.or(settings.label_config).unwrap_or_default();
        let config = LabelConfig::parse(&raw_config)
            .map_err(|e| ApiError::InvalidLabelConfig(e.to_string()))?;
        let store = ScopedStore::new(
            self.store.clone(),
            StoreScope {
                model: model.name.clone(),
                project: project.clone(),
            },
        );
        Ok(PreparedCall {
            version: self.version_for(model, &project),
            project,
            raw_config,
            config,
            extra_params: settings.extra_params,
            store,
        })
    }
}

/// The owned inputs of one guest call; see [`App::prepare`].
struct PreparedCall {
    project: String,
    raw_config: String,
    config: LabelConfig,
    version: String,
    extra_params: Option<String>,
    store: ScopedStore,
}

impl PreparedCall {
    fn input(&self) -> CallInput<'_> {
        CallInput {
            project: &self.project,
            label_config_raw: &self.raw_config,
            label_config: &self.config,
            model_version: &self.version,
            extra_params: self.extra_params.as_deref(),
        }
    }
}

/// Checks the guest's slots (one per task, each a prediction object with a `result` list or
/// a list of such objects) and stamps `model_version` on every prediction, so predictions
/// always agree with `/setup`.
fn stamp_slots(slots: &[String], tasks: usize, version: &str) -> Result<Vec<Value>, CallError> {
    if slots.len() != tasks {
        return Err(CallError::InvalidOutput(format!(
            "{} predictions for {tasks} tasks",
            slots.len()
        )));
    }
    slots
        .iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut slot: Value = serde_json::from_str(raw).map_err(|e| {
                CallError::InvalidOutput(format!("prediction {i} is not JSON: {e}"))
            })?;
            match &mut slot {
                Value::Object(prediction) => stamp_prediction(prediction, version, i)?,
                Value::Array(predictions) => {
                    for prediction in predictions {
                        let Value::Object(prediction) = prediction else {
                            return Err(CallError::InvalidOutput(format!(
                                "prediction {i} holds a non-object"
                            )));
                        };
                        stamp_prediction(prediction, version, i)?;
                    }
                }
                _ => {
                    return Err(CallError::InvalidOutput(format!(
                        "prediction {i} is neither an object nor a list"
                    )));
                }
            }
            Ok(slot)
        })
        .collect()
}

fn stamp_prediction(
    prediction: &mut Map<String, Value>,
    version: &str,
    index: usize,
) -> Result<(), CallError> {
    if !prediction.get("result").is_some_and(Value::is_array) {
        return Err(CallError::InvalidOutput(format!(
            "prediction {index} has no `result` list"
        )));
    }
    prediction.insert("model_version".into(), json!(version));
    Ok(())
}

fn model_summary(name: &str, entry: &ModelEntry) -> Value {
    let loaded_at = entry.loaded_at.and_then(|t| {
        t.duration_since(std::time::UNIX_EPOCH)
            .ok()
            .map(|d| d.as_secs_f64())
    });
    let mut summary = json!({
        "name": name,
        "url": format!("/models/{name}"),
        "state": entry.state,
        "file": entry.path.display().to_string(),
        "loaded_at": loaded_at,
        "last_error": entry.last_error,
    });
    if let (Some(model), Some(obj)) = (&entry.current, summary.as_object_mut()) {
        obj.insert(
            "version".into(),
            json!(model_version(&model.info.version, &model.component_hash, 0)),
        );
        obj.insert("component_sha256".into(), json!(model.component_hash));
        obj.insert(
            "info".into(),
            json!({
                "name": model.info.name,
                "version": model.info.version,
                "description": model.info.description,
                "interactive": model.info.interactive,
            }),
        );
    }
    summary
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_checked_and_stamped() {
        let slots = vec![
            r#"{"result": []}"#.to_owned(),
            r#"[{"result": [], "score": 1}]"#.to_owned(),
        ];
        let stamped = stamp_slots(&slots, 2, "v1").expect("valid");
        assert_eq!(stamped[0]["model_version"], "v1");
        assert_eq!(stamped[1][0]["model_version"], "v1");
        assert!(stamp_slots(&slots, 3, "v1").is_err());
        for bad in [
            "nope",
            "42",
            r#"{"score": 1}"#,
            r#"[1]"#,
            r#"{"result": {}}"#,
        ] {
            assert!(stamp_slots(&[bad.to_owned()], 1, "v").is_err(), "{bad}");
        }
    }
}

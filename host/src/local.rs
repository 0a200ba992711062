//! `wasml predict` and `wasml fit`: one call of a model, without a server or a Label Studio.
//!
//! The model is loaded and called through the same [`App`] `serve` uses (compile, validate,
//! sandbox, manifest limits and grants, store, task-data rules), with a request built from
//! the files given: what it prints is what `/predict` or `/webhook` would have answered.
//! The exit code says whose fault a failure is ([`Exit`]).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Args;
use serde_json::{Value, json};

use crate::app::App;
use crate::error::ApiError;
use crate::jobs::Jobs;
use crate::limits::CallLimits;
use crate::manifest::Manifest;
use crate::projects::Projects;
use crate::registry::{self, ComponentFile, Registry};
use crate::routes::Endpoint;
use crate::runtime::Runtime;
use crate::store::{MemoryStore, ModelStore, RedbStore};
use crate::taskdata::{TaskData, TaskDataSettings};

/// How a local run ended, as the process's exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// The model answered (0).
    Answered = 0,
    /// The host failed: its store, I/O (1).
    HostFailure = 1,
    /// The input was unusable: a file, the JSON, the label config, the component (2).
    BadInput = 2,
    /// The model failed on the input: its error, a trap, a budget, invalid output (3).
    ModelFailed = 3,
}

/// What `predict` and `fit` share: the model and where it runs.
#[derive(Debug, Args)]
pub struct ModelArgs {
    /// The model component (`.wasm`).
    #[arg(long)]
    pub model: PathBuf,
    /// The label config XML.
    #[arg(long)]
    pub config: PathBuf,
    /// The model's manifest (limits, grants); paths in it are relative to its folder.
    #[arg(long)]
    pub manifest: Option<PathBuf>,
    /// A folder for the model's store (`store.redb`), kept between runs: what `fit`
    /// trains, `predict` reads. Without it the store lives in memory for this run.
    #[arg(long)]
    pub store: Option<PathBuf>,
    /// The Label Studio project id the call is for (its store scope).
    #[arg(long, default_value = "")]
    pub project: String,
    /// Wall-clock budget of the call, in seconds.
    #[arg(long, default_value_t = 600)]
    pub timeout_secs: u64,
    /// Label Studio's URL, for task data (as `serve`).
    #[arg(long, env = "LABEL_STUDIO_URL")]
    pub label_studio_url: Option<String>,
    /// The token for it (as `serve`).
    #[arg(long, env = "LABEL_STUDIO_API_KEY", hide_env_values = true)]
    pub label_studio_api_key: Option<String>,
    /// Label Studio's local files document root (as `serve`).
    #[arg(long, env = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")]
    pub local_files_root: Option<PathBuf>,
    /// ONNX Runtime's shared library, for models with `wasi:nn` graphs (as `serve`).
    #[arg(long, env = "WASML_ONNXRUNTIME")]
    pub onnxruntime: Option<PathBuf>,
}

/// Options of `wasml predict`.
#[derive(Debug, Args)]
pub struct PredictArgs {
    /// The model and where it runs.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The tasks: a JSON list of tasks (or one task, or `{"tasks": [...]}`).
    #[arg(long)]
    pub tasks: PathBuf,
    /// The interactive context (`params.context` of Label Studio's request), JSON.
    #[arg(long)]
    pub context: Option<PathBuf>,
}

/// Options of `wasml fit`.
#[derive(Debug, Args)]
pub struct FitArgs {
    /// The model and where it runs.
    #[command(flatten)]
    pub model: ModelArgs,
    /// The webhook body Label Studio sends (`{"action": ..., "annotation": ..., ...}`).
    #[arg(long)]
    pub payload: PathBuf,
    /// The event, when the payload names none.
    #[arg(long, default_value = "ANNOTATION_CREATED")]
    pub event: String,
}

/// A failure with the exit code it maps to.
struct Failure {
    exit: Exit,
    error: anyhow::Error,
}

fn bad_input(error: anyhow::Error) -> Failure {
    Failure {
        exit: Exit::BadInput,
        error,
    }
}

/// Runs `wasml predict`; prints the answer and returns the exit code.
pub async fn predict(args: PredictArgs) -> Exit {
    let run = async {
        let tasks = match read_json(&args.tasks)? {
            Value::Object(mut object) if object.contains_key("tasks") => {
                object.remove("tasks").unwrap_or_default()
            }
            Value::Array(tasks) => Value::Array(tasks),
            task @ Value::Object(_) => Value::Array(vec![task]),
            other => {
                return Err(bad_input(anyhow::anyhow!(
                    "{}: expected a list of tasks, a task or {{\"tasks\": [...]}}, got {other}",
                    args.tasks.display()
                )));
            }
        };
        let context = args.context.as_deref().map(read_json).transpose()?;
        let config = read_text(&args.model.config)?;
        let body = json!({
            "tasks": tasks,
            "project": args.model.project,
            "label_config": config,
            "params": {"context": context},
        });
        call(&args.model, Endpoint::Predict, &body).await
    };
    finish(run.await)
}

/// Runs `wasml fit`; prints the job's outcome and returns the exit code.
pub async fn fit(args: FitArgs) -> Exit {
    let run = async {
        let mut payload = read_json(&args.payload)?;
        let Value::Object(object) = &mut payload else {
            return Err(bad_input(anyhow::anyhow!(
                "{}: expected a webhook body (a JSON object)",
                args.payload.display()
            )));
        };
        object
            .entry("action")
            .or_insert_with(|| Value::String(args.event.clone()));
        // The project and its label config, as Label Studio's webhook carries them.
        let config = read_text(&args.model.config)?;
        let project = object.entry("project").or_insert_with(|| json!({}));
        if let Value::Object(project) = project {
            project
                .entry("id")
                .or_insert_with(|| Value::String(args.model.project.clone()));
            project
                .entry("label_config")
                .or_insert(Value::String(config));
        }
        call(&args.model, Endpoint::Webhook, &payload).await
    };
    finish(run.await)
}

/// Prints the answer (stdout) or the failure (stderr), and says how it ended.
fn finish(outcome: Result<Value, Failure>) -> Exit {
    match outcome {
        Ok(answer) => {
            use std::io::Write as _;
            let text = serde_json::to_string_pretty(&answer).unwrap_or_default();
            match writeln!(std::io::stdout(), "{text}") {
                Ok(()) => Exit::Answered,
                // A closed pipe (`| head`): the answer was made, but not delivered.
                Err(_) => Exit::HostFailure,
            }
        }
        Err(Failure { exit, error }) => {
            // The log is on stderr too; the failure is its last line, for people and scripts.
            tracing::error!("{error:#}");
            exit
        }
    }
}

/// Loads the model into a one-model [`App`] and answers `body` at `endpoint`.
async fn call(args: &ModelArgs, endpoint: Endpoint, body: &Value) -> Result<Value, Failure> {
    let app = one_model_app(args).await?;
    let name = app
        .resolve(&crate::routes::ModelRef::Default)
        .map_err(|e| Failure {
            exit: Exit::HostFailure,
            error: e.into(),
        })?;
    let answer = app
        .model_endpoint(&name, endpoint, None, body.to_string().as_bytes())
        .await
        .map_err(|err| Failure {
            exit: exit_of(&err),
            error: anyhow::anyhow!(
                "{}",
                serde_json::to_string(&err.body(None)).unwrap_or_default()
            ),
        })?;
    let status = answer.status;
    let value = match answer.encoded {
        Some(text) => serde_json::from_str(&text).unwrap_or(Value::String(text)),
        None => answer.body,
    };
    match endpoint {
        // A webhook answers 201 with a finished training, 200 for events that train nothing.
        Endpoint::Webhook if status == hyper::StatusCode::OK => {
            Err(bad_input(anyhow::anyhow!("not a training event: {value}")))
        }
        // A failed training answers its job's error with that error's status.
        _ if status.is_client_error() => Err(bad_input(anyhow::anyhow!("{value}"))),
        _ if !status.is_success() => Err(Failure {
            exit: Exit::ModelFailed,
            error: anyhow::anyhow!("{value}"),
        }),
        _ => Ok(value),
    }
}

/// Whose fault an error answer is.
fn exit_of(err: &ApiError) -> Exit {
    match err {
        ApiError::Model { .. } => Exit::ModelFailed,
        _ if err.status().is_client_error() => Exit::BadInput,
        _ => Exit::HostFailure,
    }
}

/// An [`App`] serving the one model of `args`, loaded (or the reason it cannot be).
async fn one_model_app(args: &ModelArgs) -> Result<Arc<App>, Failure> {
    let host_failure = |error: anyhow::Error| Failure {
        exit: Exit::HostFailure,
        error,
    };
    let name = registry::model_name_of(&args.model).unwrap_or_else(|| "model".into());
    let limits = CallLimits {
        predict_timeout: Duration::from_secs(args.timeout_secs),
        fit_timeout: Duration::from_secs(args.timeout_secs),
        ..CallLimits::default()
    };
    let (limits, grants) = match &args.manifest {
        Some(path) => {
            let dir = path.parent().unwrap_or(Path::new("."));
            let stem = path
                .file_stem()
                .and_then(|s| s.to_str())
                .unwrap_or_default();
            let manifest = Manifest::load(dir, stem)
                .and_then(|m| m.with_context(|| format!("{} does not exist", path.display())))
                .map_err(bad_input)?;
            (
                manifest.limits(&limits).map_err(bad_input)?,
                manifest.grants(dir).map_err(bad_input)?,
            )
        }
        None => (limits, Default::default()),
    };
    let runtime = Runtime::new()
        .map_err(host_failure)?
        .with_nn(&crate::nn::NnSettings {
            library: args.onnxruntime.clone(),
            max_concurrent: 0,
        });
    let store: Arc<dyn ModelStore> = match &args.store {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))
                .map_err(host_failure)?;
            Arc::new(RedbStore::open(&dir.join("store.redb")).map_err(|e| host_failure(e.into()))?)
        }
        None => Arc::new(MemoryStore::default()),
    };
    let (jobs, _) = Jobs::load(store.clone(), 1)
        .await
        .map_err(|e| host_failure(e.into()))?;
    let task_data = TaskData::new(&TaskDataSettings {
        label_studio_url: args.label_studio_url.clone(),
        label_studio_api_key: args.label_studio_api_key.clone(),
        local_files_root: args.local_files_root.clone(),
        cache: None,
        max_concurrent: 4,
    })
    .map_err(host_failure)?;
    let app = Arc::new(App {
        registry: Registry::default(),
        runtime,
        projects: Projects::load(store.clone())
            .await
            .map_err(|e| host_failure(e.into()))?,
        jobs: Arc::new(jobs),
        // The webhook answers when `fit` is done: nothing else waits for this host.
        fit_wait: limits.fit_timeout + Duration::from_secs(5),
        store,
        configs: Default::default(),
        limits: limits.clone(),
        default_model: Some(name.clone()),
        task_data: Arc::new(task_data),
        prediction_checks: Default::default(),
    });
    let (bytes, hash) = registry::read_component(&args.model)
        .await
        .map_err(bad_input)?;
    app.registry.begin_load(&name, &args.model);
    let ticket = app.runtime.compile_queue.ticket(bytes.len());
    let component = ComponentFile {
        bytes,
        hash,
        ticket,
    };
    let model = registry::load_component(
        &app.runtime,
        app.store.clone(),
        &name,
        component,
        limits,
        grants,
    )
    .await
    .with_context(|| format!("{} cannot serve", args.model.display()))
    .map_err(bad_input)?;
    app.registry.install(&name, Arc::new(model), 0);
    Ok(app)
}

fn read_text(path: &Path) -> Result<String, Failure> {
    std::fs::read_to_string(path)
        .with_context(|| format!("cannot read {}", path.display()))
        .map_err(bad_input)
}

fn read_json(path: &Path) -> Result<Value, Failure> {
    let text = read_text(path)?;
    serde_json::from_str(&text)
        .with_context(|| format!("{} is not JSON", path.display()))
        .map_err(bad_input)
}

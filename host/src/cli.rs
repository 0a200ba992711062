//! The `wasml` command line: `serve` and `parse-config`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Args, Parser, Subcommand};

use crate::app::App;
use crate::auth::{BasicAuth, WebhookToken};
use crate::jobs::{FitRunner, Jobs};
use crate::labelconfig::LabelConfig;
use crate::limits::CallLimits;
use crate::projects::Projects;
use crate::registry::Registry;
use crate::reload::Reloader;
use crate::runtime::Runtime;
use crate::server::{self, HttpSettings};
use crate::store::{MemoryStore, ModelStore, RedbStore, RedisStore};
use crate::taskdata::{TaskData, TaskDataSettings};

/// Serve WebAssembly models to Label Studio over its ML backend protocol.
#[derive(Debug, Parser)]
#[command(name = "wasml", version, about)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to stderr: `text` for people, `json` (one object per
    /// line, with the request's or job's span fields) for log collectors.
    #[arg(long, global = true, env = "WASML_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// The format of the host's log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines, spans as `request{id=...}:` prefixes.
    Text,
    /// One JSON object per line: `timestamp`, `level`, `fields`, `target`, `span`, `spans`.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve every component in the models folder, each at /models/<name>.
    Serve(Box<ServeArgs>),
    /// Print a label config parsed the way Label Studio's SDK parses it, as JSON.
    ParseConfig {
        /// The label config XML file.
        file: PathBuf,
    },
    /// Run a model's `predict` once on tasks from a file, without a server or Label Studio,
    /// and print what `/predict` would answer. Exit codes: 0 answered, 2 bad input (a file,
    /// the JSON, the label config, the component), 3 the model failed, 1 the host failed.
    Predict(Box<crate::local::PredictArgs>),
    /// Run a model's `fit` once on a webhook body from a file and print the training's
    /// outcome (exit codes as `predict`). `--store` keeps what it trained for `predict`.
    Fit(Box<crate::local::FitArgs>),
}

/// Largest request body accepted by default: Label Studio sends all selected tasks of a
/// "Retrieve Predictions" in one request, so thousands of tasks must fit.
const DEFAULT_MAX_BODY_BYTES: usize = 64 << 20;
/// Default for `--max-buffered-bytes`: sixteen of the largest bodies at once.
const DEFAULT_MAX_BUFFERED_BYTES: usize = 1 << 30;
/// Default for `--max-connections`: far more than Label Studio opens, and under the usual
/// limit of open files once the host's own are counted.
const DEFAULT_MAX_CONNECTIONS: usize = 1000;

/// Options of `wasml serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Folder of model components (`<name>.wasm`).
    #[arg(long, env = "WASML_MODELS", default_value = "./models")]
    pub models: PathBuf,
    /// Folder for everything the host writes.
    #[arg(long, env = "WASML_DATA_DIR", default_value = "./data")]
    pub data_dir: PathBuf,
    /// Folder of compiled components, keyed by content hash (default: `<data-dir>/cache`).
    /// Several hosts may share one: entries are written under unique names and renamed
    /// into place.
    #[arg(long, env = "WASML_CACHE_DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Address to listen on: an IPv4 or IPv6 address (`0.0.0.0`, `::`, `[::1]`) or a host
    /// name (`localhost`), resolved; the first resolved address that can be bound is used.
    #[arg(long, env = "WASML_HOST", default_value = "0.0.0.0")]
    pub host: String,
    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "WASML_PORT", default_value_t = 9090)]
    pub port: u16,
    /// The model the root paths (`/predict`, `/setup`...) serve when several are loaded.
    #[arg(long, env = "WASML_DEFAULT_MODEL")]
    pub default_model: Option<String>,
    /// Largest accepted request body, in bytes.
    #[arg(long, env = "WASML_MAX_BODY_BYTES", default_value_t = DEFAULT_MAX_BODY_BYTES)]
    pub max_body_bytes: usize,
    /// Request body bytes held in memory at once across all connections; requests past it
    /// get 503 with Retry-After (at least `--max-body-bytes`).
    #[arg(long, env = "WASML_MAX_BUFFERED_BYTES", default_value_t = DEFAULT_MAX_BUFFERED_BYTES)]
    pub max_buffered_bytes: usize,
    /// Connections open at once; past it new clients wait (in the kernel's backlog) until
    /// one closes. Keep it under the process's open-file limit (`ulimit -n`).
    #[arg(long, env = "WASML_MAX_CONNECTIONS", default_value_t = DEFAULT_MAX_CONNECTIONS)]
    pub max_connections: usize,
    /// Basic auth user required on every request (with `BASIC_AUTH_PASS`).
    #[arg(long, env = "BASIC_AUTH_USER")]
    pub basic_auth_user: Option<String>,
    /// Basic auth password.
    #[arg(long, env = "BASIC_AUTH_PASS", hide_env_values = true)]
    pub basic_auth_pass: Option<String>,
    /// A secret that authenticates webhooks, sent by Label Studio in the
    /// `X-Wasml-Webhook-Token` header (or `Authorization: Bearer <token>`). When set,
    /// webhooks need it (or basic auth); Label Studio's webhooks cannot send basic auth.
    #[arg(long, env = "WASML_WEBHOOK_TOKEN", hide_env_values = true)]
    pub webhook_token: Option<String>,
    /// Where models' keys, project settings and training jobs live: `redb` (a file in the
    /// data dir, survives restarts), `memory` (lost on exit; for experiments) or a Redis URL
    /// (`redis://host:port/db`, shared by several hosts).
    #[arg(long, env = "WASML_STORE", default_value = "redb")]
    pub store: StoreKind,
    /// PEM file of the CA certificate(s) that signed the Redis server's certificate, for a
    /// `rediss://` store behind a private CA. Replaces the system's roots for that
    /// connection; needs a `rediss://` URL.
    #[arg(long, env = "WASML_REDIS_CA_FILE")]
    pub redis_ca_file: Option<PathBuf>,
    /// How long a webhook waits for `fit` before answering 202 with a job to poll, in
    /// milliseconds. Label Studio gives up on a webhook after 1 s.
    #[arg(long, env = "WASML_FIT_WAIT_MS", default_value_t = 500)]
    pub fit_wait_ms: u64,
    /// Wall-clock budget of one `predict` call, in seconds.
    #[arg(long, env = "WASML_PREDICT_TIMEOUT_SECS", default_value_t = 60)]
    pub predict_timeout_secs: u64,
    /// Wall-clock budget of one `fit` call, in seconds.
    #[arg(long, env = "WASML_FIT_TIMEOUT_SECS", default_value_t = 600)]
    pub fit_timeout_secs: u64,
    /// Log one line per request at INFO (method, path, status, time). Off by default: at
    /// thousands of requests a second the log costs more than the answers; the same line is
    /// always logged at DEBUG (`RUST_LOG=wasml::server=debug`).
    #[arg(long, env = "WASML_ACCESS_LOG")]
    pub access_log: bool,
    /// Also serve `GET /metrics` on this address (`host:port`), for scrapers on a network
    /// the protocol port is not on. The protocol port keeps serving `/metrics` too.
    #[arg(long, env = "WASML_METRICS_LISTEN")]
    pub metrics_listen: Option<String>,
    /// Do not watch the models folder: models load at start-up only.
    #[arg(long, env = "WASML_NO_WATCH")]
    pub no_watch: bool,
    /// Also check the models' files for changes every this many milliseconds (0: never),
    /// for what the folder watcher cannot see: a symlinked model whose target is rebuilt
    /// elsewhere, or a network filesystem changed from another machine. Only `stat` calls.
    #[arg(long, env = "WASML_POLL_MS", default_value_t = 2000)]
    pub poll_ms: u64,
    /// Label Studio's URL, for fetching task data (`/data/upload/...`, cloud URIs). When set,
    /// every project uses it and a `/setup` cannot point a project at another host; else
    /// each project's `/setup` says (`hostname`).
    #[arg(long, env = "LABEL_STUDIO_URL")]
    pub label_studio_url: Option<String>,
    /// The token for it: a legacy token, or a personal access token (exchanged for access
    /// tokens as needed). Else each project's `/setup` token (`access_token`).
    #[arg(long, env = "LABEL_STUDIO_API_KEY", hide_env_values = true)]
    pub label_studio_api_key: Option<String>,
    /// Label Studio's local files document root: `/data/local-files/?d=<path>` is read from
    /// here (paths leaving it are refused) instead of downloaded from Label Studio.
    #[arg(long, env = "LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT")]
    pub local_files_root: Option<PathBuf>,
    /// Size of the on-disk cache of fetched task data (`<data-dir>/fetch-cache`), in MiB;
    /// least recently used entries go first; 0: no cache.
    #[arg(long, env = "WASML_FETCH_CACHE_MIB", default_value_t = 1024)]
    pub fetch_cache_mib: u64,
    /// Task-data fetches running at once across the host.
    #[arg(long, env = "WASML_MAX_CONCURRENT_FETCHES", default_value_t = 16)]
    pub max_concurrent_fetches: usize,
    /// ONNX Runtime's shared library, for models with `wasi:nn` graphs (default:
    /// `~/.cache/wasml/onnxruntime/libonnxruntime.so`, where scripts/install-toolchains puts it).
    #[arg(long, env = "WASML_ONNXRUNTIME")]
    pub onnxruntime: Option<PathBuf>,
    /// Neural-network inferences running at once across the host (default: one per core).
    #[arg(long, env = "WASML_MAX_CONCURRENT_INFERENCES", default_value_t = 0)]
    pub max_concurrent_inferences: usize,
    /// Most `fit` calls running at once across all models and projects (default: one per
    /// CPU core).
    #[arg(long, env = "WASML_MAX_CONCURRENT_FITS")]
    pub max_concurrent_fits: Option<usize>,
}

/// A store backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreKind {
    /// `<data-dir>/store.redb`.
    Redb,
    /// In memory.
    Memory,
    /// A Redis server at this URL (`redis://`, `rediss://` or `redis+unix://`).
    Redis(String),
}

impl std::str::FromStr for StoreKind {
    type Err = String;

    fn from_str(value: &str) -> Result<Self, Self::Err> {
        match value {
            "redb" => Ok(Self::Redb),
            "memory" => Ok(Self::Memory),
            url if ["redis://", "rediss://", "redis+unix://"]
                .iter()
                .any(|scheme| url.starts_with(scheme)) =>
            {
                Ok(Self::Redis(url.to_owned()))
            }
            other => Err(format!(
                "unknown store {other:?}: use redb, memory or a redis:// URL"
            )),
        }
    }
}

/// Drops label configs no request has used for a while, and returns their memory.
fn sweep_configs(app: &Arc<App>) {
    let weak = Arc::downgrade(app);
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(crate::app::CONFIG_IDLE / 6);
        loop {
            ticks.tick().await;
            let Some(app) = weak.upgrade() else { break };
            if app.configs.sweep(crate::app::CONFIG_IDLE) {
                crate::alloc::collect();
            }
        }
    });
}

/// Runs the command line; the binary's `main` is this.
pub fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    init_logging(cli.log_format);
    match cli.command {
        Command::ParseConfig { file } => exit_code(parse_config(&file)),
        Command::Serve(args) => exit_code(async_runtime().and_then(|rt| rt.block_on(serve(*args)))),
        Command::Predict(args) => run_local(crate::local::predict(*args)),
        Command::Fit(args) => run_local(crate::local::fit(*args)),
    }
}

fn async_runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

/// Runs `wasml predict` or `wasml fit`; the exit code is the run's [`crate::local::Exit`].
fn run_local(run: impl std::future::Future<Output = crate::local::Exit>) -> std::process::ExitCode {
    let exit = match async_runtime() {
        Ok(rt) => rt.block_on(run),
        Err(err) => {
            tracing::error!("{err:#}");
            crate::local::Exit::HostFailure
        }
    };
    std::process::ExitCode::from(exit as u8)
}

fn exit_code(outcome: anyhow::Result<()>) -> std::process::ExitCode {
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// `LOG_LEVEL` (the reference's name: `DEBUG`, `INFO`...) or `RUST_LOG` filters the log.
fn init_logging(format: LogFormat) {
    let filter = std::env::var("RUST_LOG")
        .or_else(|_| std::env::var("LOG_LEVEL").map(|l| l.to_ascii_lowercase()))
        .unwrap_or_else(|_| "info".into());
    let filter = tracing_subscriber::EnvFilter::try_new(&filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .init(),
        LogFormat::Json => builder
            .json()
            .with_current_span(true)
            .with_span_list(true)
            .init(),
    }
}

fn parse_config(file: &Path) -> anyhow::Result<()> {
    let xml =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let config = LabelConfig::parse(&xml)?;
    let json = serde_json::to_string_pretty(&config.to_label_studio_json())?;
    use std::io::Write as _;
    writeln!(std::io::stdout(), "{json}")?;
    Ok(())
}

/// `wasml serve`: binds, starts loading every model, serves until Ctrl-C or SIGTERM.
pub async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    let basic_auth = match (&args.basic_auth_user, &args.basic_auth_pass) {
        (Some(user), Some(pass)) => Some(BasicAuth::new(user, pass)),
        (None, None) => None,
        _ => anyhow::bail!("set both BASIC_AUTH_USER and BASIC_AUTH_PASS, or neither"),
    };
    if args
        .webhook_token
        .as_deref()
        .is_some_and(|t| t.trim().is_empty())
    {
        anyhow::bail!("--webhook-token must not be empty");
    }
    std::fs::create_dir_all(&args.data_dir)
        .with_context(|| format!("cannot create the data dir {}", args.data_dir.display()))?;
    let cache_dir = args
        .cache_dir
        .clone()
        .unwrap_or_else(|| args.data_dir.join("cache"));
    let runtime = Runtime::new()?
        .with_cache(&cache_dir)?
        .with_nn(&crate::nn::NnSettings {
            library: args.onnxruntime.clone(),
            max_concurrent: args.max_concurrent_inferences,
        });
    if let (Some(ca), StoreKind::Redb | StoreKind::Memory) = (&args.redis_ca_file, &args.store) {
        anyhow::bail!(
            "--redis-ca-file {} needs a rediss:// store URL (--store)",
            ca.display()
        );
    }
    let store: Arc<dyn ModelStore> = match &args.store {
        StoreKind::Redb => Arc::new(RedbStore::open(&args.data_dir.join("store.redb"))?),
        StoreKind::Memory => Arc::new(MemoryStore::default()),
        StoreKind::Redis(url) => {
            Arc::new(RedisStore::connect_with_ca(url, args.redis_ca_file.as_deref()).await?)
        }
    };
    tracing::info!("store: {}", store.describe());
    let max_fits = args.max_concurrent_fits.unwrap_or_else(|| {
        std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get)
    });
    let (jobs, resume) = Jobs::load(store.clone(), max_fits).await?;
    let task_data = TaskData::new(&TaskDataSettings {
        label_studio_url: args.label_studio_url.clone(),
        label_studio_api_key: args.label_studio_api_key.clone(),
        local_files_root: args.local_files_root.clone(),
        cache: Some((
            args.data_dir.join("fetch-cache"),
            args.fetch_cache_mib.saturating_mul(1 << 20),
        )),
        max_concurrent: args.max_concurrent_fetches,
    })?;
    let app = Arc::new(App {
        registry: Registry::default(),
        runtime,
        projects: Projects::load(store.clone()).await?,
        jobs: Arc::new(jobs),
        fit_wait: std::time::Duration::from_millis(args.fit_wait_ms),
        store,
        configs: Default::default(),
        limits: CallLimits {
            predict_timeout: std::time::Duration::from_secs(args.predict_timeout_secs),
            fit_timeout: std::time::Duration::from_secs(args.fit_timeout_secs),
            ..CallLimits::default()
        },
        default_model: args.default_model.clone(),
        task_data: Arc::new(task_data),
        prediction_checks: Default::default(),
    });
    let reloader = Reloader::new(app.clone(), &args.models);
    let found = reloader
        .load_all()
        .with_context(|| format!("cannot read the models folder {}", args.models.display()))?;
    if let Some(default) = &args.default_model
        && !found.contains(default)
    {
        tracing::warn!(
            "--default-model {default} is not in {}",
            args.models.display()
        );
    }
    if !args.no_watch && args.poll_ms > 0 {
        reloader.poll(std::time::Duration::from_millis(args.poll_ms));
    }
    // Kept alive while serving: dropping the watcher stops hot reload.
    let _watcher = if args.no_watch {
        None
    } else {
        match reloader.watch() {
            Ok(watcher) => Some(watcher),
            Err(err) => {
                tracing::warn!(
                    "cannot watch {} ({err:#}); models load at start-up only",
                    args.models.display()
                );
                None
            }
        }
    };
    sweep_configs(&app);
    // Jobs acknowledged before a restart run now (they wait for their model to load).
    for key in resume {
        let runner: Arc<dyn FitRunner> = app.clone();
        app.jobs.spawn_worker(key, runner);
    }
    let listener = bind(&args.host, args.port).await?;
    let local = listener.local_addr()?;
    tracing::info!("listening on http://{local}");
    let http = HttpSettings {
        max_body_bytes: args.max_body_bytes,
        basic_auth,
        webhook_token: args.webhook_token.as_deref().map(WebhookToken::new),
        body_budget: server::BodyBudget::new(args.max_buffered_bytes, args.max_body_bytes),
        connections: server::ConnectionLimit::new(args.max_connections),
        access_log: args.access_log,
    };
    if let Some(address) = &args.metrics_listen {
        let (host, port) = split_host_port(address)?;
        let metrics = bind(host, port).await?;
        tracing::info!("metrics on http://{}/metrics", metrics.local_addr()?);
        let http = Arc::new(http.clone());
        tokio::spawn(server::serve_metrics(metrics, app.clone(), http));
    }
    server::serve(listener, app, http, shutdown_signal()).await;
    Ok(())
}

/// `host:port` (`[v6]:port` for IPv6) as its two parts.
fn split_host_port(address: &str) -> anyhow::Result<(&str, u16)> {
    let (host, port) = address
        .rsplit_once(':')
        .with_context(|| format!("--metrics-listen {address:?}: expected host:port"))?;
    let port = port
        .parse()
        .with_context(|| format!("--metrics-listen {address:?}: {port:?} is not a port"))?;
    Ok((host, port))
}

/// A listener on `host` (an IP address, bracketed or not, or a name to resolve) and `port`.
async fn bind(host: &str, port: u16) -> anyhow::Result<tokio::net::TcpListener> {
    let addrs = listen_addrs(host, port).await?;
    let mut failures = Vec::new();
    for addr in &addrs {
        match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => return Ok(listener),
            Err(err) => failures.push(format!("{addr}: {err}")),
        }
    }
    anyhow::bail!(
        "cannot listen on {host} port {port}: {}",
        failures.join("; ")
    )
}

/// The addresses `host` stands for: itself when it is an IP address (`::`, `[::1]`,
/// `0.0.0.0`), else what the resolver answers for the name.
async fn listen_addrs(host: &str, port: u16) -> anyhow::Result<Vec<SocketAddr>> {
    let unbracketed = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if let Ok(ip) = unbracketed.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    anyhow::ensure!(
        !unbracketed.is_empty() && !unbracketed.contains(['/', ' ']),
        "invalid listen address {host:?}: use an IP address or a host name"
    );
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((unbracketed, port))
        .await
        .with_context(|| format!("cannot resolve the listen address {host:?}"))?
        .collect();
    anyhow::ensure!(!addrs.is_empty(), "{host:?} resolves to no address");
    Ok(addrs)
}

/// Resolves on Ctrl-C or SIGTERM: the host then stops accepting and lets in-flight requests
/// finish.
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::warn!("cannot listen for Ctrl-C: {err}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::warn!("cannot listen for SIGTERM: {err}");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}

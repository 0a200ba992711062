//! The host's metrics: Prometheus families (`prometheus-client`) recorded where things happen,
//! served as OpenMetrics text by `GET /metrics` (or on `--metrics-listen`), and the per-model
//! JSON of `GET /models/<name>/metrics` read from the same families.
//!
//! One registry per process ([`global`]): the runtime, the job queue and task data record
//! into it without a handle threaded through every call, the way the `metrics` ecosystem's
//! global recorder works. Recording is an atomic add on a series looked up under a read
//! lock; nothing allocates once a series exists, so it does not show in the predict
//! benchmark. Values that live elsewhere (open connections, queue depths, ONNX Runtime's
//! inference counts) are read when scraped ([`scrape`]).

pub mod scrape;

use std::sync::LazyLock;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use serde_json::{Value, json};

use scrape::ScrapeCollector;

/// The `Content-Type` of the exposition text.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Labels of one request: which model (empty when none was resolved), endpoint and status
/// class (`2xx`...).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    /// The model's name, or empty.
    pub model: String,
    /// The endpoint ([`crate::routes::Route::label`]).
    pub endpoint: &'static str,
    /// `1xx` to `5xx`.
    pub status: &'static str,
}

/// Labels of a model's endpoint.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EndpointLabels {
    model: String,
    endpoint: &'static str,
}

/// Labels naming one model.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: String,
}

/// Labels of a guest call's phase: `instantiate` (a new instance) or `run` (the export).
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct PhaseLabels {
    model: String,
    phase: &'static str,
}

/// Labels of a finished training job.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct JobLabels {
    model: String,
    outcome: &'static str,
}

/// Labels of a model load: whether its compiled code came from the cache.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct LoadLabels {
    model: String,
    cache: &'static str,
}

/// Labels of a task-data fetch by outcome: `fetched`, `cached` or a failure kind.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FetchLabels {
    result: &'static str,
}

/// Labels of an invalid prediction by what was wrong.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct InvalidLabels {
    model: String,
    problem: &'static str,
}

type Histograms<L> = Family<L, Histogram, fn() -> Histogram>;
type Seconds<L> = Family<L, Counter<f64, AtomicU64>>;

/// Latency buckets from 50 us to about 100 s: a warm predict is tens of microseconds, a
/// training or a cold compile minutes.
fn seconds_buckets() -> Histogram {
    Histogram::new(exponential_buckets(0.000_05, 2.5, 17))
}

fn histograms<L: Clone + std::hash::Hash + Eq>() -> Histograms<L> {
    Family::new_with_constructor(seconds_buckets)
}

/// Every family the host records.
pub struct HostMetrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    request_seconds: Histograms<EndpointLabels>,
    tasks_predicted: Family<ModelLabels, Counter>,
    predict_seconds: Seconds<ModelLabels>,
    guest_seconds: Histograms<PhaseLabels>,
    instances_reused: Family<ModelLabels, Counter>,
    fit_jobs: Family<JobLabels, Counter>,
    fit_seconds: Histograms<ModelLabels>,
    loads: Family<LoadLabels, Counter>,
    load_seconds: Histograms<LoadLabels>,
    fetches: Family<FetchLabels, Counter>,
    fetched_bytes: Family<FetchLabels, Counter>,
    invalid_predictions: Family<InvalidLabels, Counter>,
    /// What is read at scrape time.
    pub scrape: std::sync::Arc<ScrapeCollector>,
}

/// The process's metrics.
pub fn global() -> &'static HostMetrics {
    static METRICS: LazyLock<HostMetrics> = LazyLock::new(HostMetrics::new);
    &METRICS
}

/// `2xx`... for a status code.
pub fn status_class(status: u16) -> &'static str {
    match status / 100 {
        1 => "1xx",
        2 => "2xx",
        3 => "3xx",
        4 => "4xx",
        _ => "5xx",
    }
}

impl HostMetrics {
    fn new() -> Self {
        let mut metrics = Self {
            registry: Registry::with_prefix("wasml"),
            requests: Family::default(),
            request_seconds: histograms(),
            tasks_predicted: Family::default(),
            predict_seconds: Family::default(),
            guest_seconds: histograms(),
            instances_reused: Family::default(),
            fit_jobs: Family::default(),
            fit_seconds: histograms(),
            loads: Family::default(),
            load_seconds: histograms(),
            fetches: Family::default(),
            fetched_bytes: Family::default(),
            invalid_predictions: Family::default(),
            scrape: Default::default(),
        };
        let r = &mut metrics.registry;
        r.register(
            "http_requests",
            "HTTP requests answered, by model, endpoint and status class",
            metrics.requests.clone(),
        );
        r.register(
            "http_request_duration_seconds",
            "Time to answer a request, from its head to its answer",
            metrics.request_seconds.clone(),
        );
        r.register(
            "tasks_predicted",
            "Tasks answered by successful /predict requests",
            metrics.tasks_predicted.clone(),
        );
        r.register(
            "predict_seconds",
            "Time spent answering /predict requests",
            metrics.predict_seconds.clone(),
        );
        r.register(
            "guest_call_seconds",
            "Guest time per call: instantiate (a new instance) and run (the export)",
            metrics.guest_seconds.clone(),
        );
        r.register(
            "instances_reused",
            "Calls served by a warm instance instead of a new one",
            metrics.instances_reused.clone(),
        );
        r.register(
            "fit_jobs",
            "Training jobs finished, by outcome (trained, unchanged, failed)",
            metrics.fit_jobs.clone(),
        );
        r.register(
            "fit_job_duration_seconds",
            "Time a training job ran, from start to its committed outcome",
            metrics.fit_seconds.clone(),
        );
        r.register(
            "model_loads",
            "Model loads (start-up and reloads), by whether the compiled code was cached",
            metrics.loads.clone(),
        );
        r.register(
            "model_load_duration_seconds",
            "Time to compile (or read from the cache) and link a model",
            metrics.load_seconds.clone(),
        );
        r.register(
            "task_data_fetches",
            "Task data references resolved, by result (fetched, cached, or a failure)",
            metrics.fetches.clone(),
        );
        r.register(
            "task_data_bytes",
            "Task data bytes handed to guests, by where they came from (fetched, cached)",
            metrics.fetched_bytes.clone(),
        );
        r.register(
            "invalid_predictions",
            "Predictions that do not fit the project's label config, by problem",
            metrics.invalid_predictions.clone(),
        );
        r.register_collector(Box::new(metrics.scrape.clone()));
        metrics
    }

    /// Records one answered request.
    pub fn record_request(&self, labels: RequestLabels, took: Duration) {
        self.request_seconds
            .get_or_create(&EndpointLabels {
                model: labels.model.clone(),
                endpoint: labels.endpoint,
            })
            .observe(took.as_secs_f64());
        self.requests.get_or_create(&labels).inc();
    }

    /// Records one `/predict` that answered `tasks` tasks (0 when it failed).
    pub fn record_predict(&self, model: &str, tasks: usize, took: Duration) {
        let labels = model_labels(model);
        self.tasks_predicted
            .get_or_create(&labels)
            .inc_by(tasks as u64);
        self.predict_seconds
            .get_or_create(&labels)
            .inc_by(took.as_secs_f64());
    }

    /// Records a guest call's phases: `instantiate` is `None` for a warm instance.
    pub fn record_guest_call(&self, model: &str, instantiate: Option<Duration>, run: Duration) {
        let phase = |phase| PhaseLabels {
            model: model.to_owned(),
            phase,
        };
        match instantiate {
            Some(took) => self
                .guest_seconds
                .get_or_create(&phase("instantiate"))
                .observe(took.as_secs_f64()),
            None => {
                self.instances_reused
                    .get_or_create(&model_labels(model))
                    .inc();
            }
        }
        self.guest_seconds
            .get_or_create(&phase("run"))
            .observe(run.as_secs_f64());
    }

    /// Records a finished training job.
    pub fn record_fit_job(&self, model: &str, outcome: &'static str, took: Option<Duration>) {
        self.fit_jobs
            .get_or_create(&JobLabels {
                model: model.to_owned(),
                outcome,
            })
            .inc();
        if let Some(took) = took {
            self.fit_seconds
                .get_or_create(&model_labels(model))
                .observe(took.as_secs_f64());
        }
    }

    /// Records a model load.
    pub fn record_load(&self, model: &str, from_cache: bool, took: Duration) {
        let labels = LoadLabels {
            model: model.to_owned(),
            cache: if from_cache { "hit" } else { "miss" },
        };
        self.load_seconds
            .get_or_create(&labels)
            .observe(took.as_secs_f64());
        self.loads.get_or_create(&labels).inc();
    }

    /// Records a task-data lookup: `result` is `fetched`, `cached` or a failure kind.
    pub fn record_fetch(&self, result: &'static str, bytes: usize) {
        let labels = FetchLabels { result };
        self.fetches.get_or_create(&labels).inc();
        if bytes > 0 {
            self.fetched_bytes
                .get_or_create(&labels)
                .inc_by(bytes as u64);
        }
    }

    /// Records an invalid prediction of `model`.
    pub fn record_invalid_prediction(&self, model: &str, problem: &'static str) {
        self.invalid_predictions
            .get_or_create(&InvalidLabels {
                model: model.to_owned(),
                problem,
            })
            .inc();
    }

    /// The exposition text of every family.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail; a collector's error would only cut the text.
        if let Err(err) = prometheus_client::encoding::text::encode(&mut text, &self.registry) {
            tracing::warn!("metrics encoding stopped early: {err}");
        }
        text
    }

    /// The JSON counters of `model` that `GET /models/<name>/metrics` has always answered.
    pub fn model_json(&self, model: &str) -> Value {
        let count = |endpoint, status| {
            self.requests
                .get_or_create(&RequestLabels {
                    model: model.to_owned(),
                    endpoint,
                    status,
                })
                .get()
        };
        let statuses = ["2xx", "4xx", "5xx"];
        let predict_errors: u64 = statuses[1..].iter().map(|s| count("predict", s)).sum();
        let labels = model_labels(model);
        let fits = |outcome| {
            self.fit_jobs
                .get_or_create(&JobLabels {
                    model: model.to_owned(),
                    outcome,
                })
                .get()
        };
        let fit_errors = fits("failed");
        json!({
            "model": model,
            "predict_requests": count("predict", "2xx") + predict_errors,
            "predict_errors": predict_errors,
            "tasks_predicted": self.tasks_predicted.get_or_create(&labels).get(),
            "predict_seconds_total": self.predict_seconds.get_or_create(&labels).get(),
            "fit_calls": fits("trained") + fits("unchanged") + fit_errors,
            "fit_errors": fit_errors,
        })
    }
}

fn model_labels(model: &str) -> ModelLabels {
    ModelLabels {
        model: model.to_owned(),
    }
}

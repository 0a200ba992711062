//! Values read when `/metrics` is scraped rather than recorded as they change: they live in
//! the parts that own them (the connection limit, the body budget, the job queues, the
//! ONNX Runtime sessions, the warm pools). The scrape handler fills a [`ScrapeValues`] and
//! the collector writes it out with the registry's families.

use std::sync::Mutex;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;

/// One `wasi:nn` graph's counts.
#[derive(Debug, Clone, Default)]
pub struct GraphValues {
    /// The model that loads it.
    pub model: String,
    /// The graph's name.
    pub graph: String,
    /// Inferences completed.
    pub inferences: u64,
    /// Inferences failed.
    pub failed: u64,
    /// Time in ONNX Runtime, in seconds.
    pub seconds: f64,
}

/// Per-model values read at scrape time.
#[derive(Debug, Clone, Default)]
pub struct ModelValues {
    /// The model's name.
    pub model: String,
    /// Training jobs waiting in its queues.
    pub queued_jobs: u64,
    /// Training jobs running.
    pub running_jobs: u64,
    /// Warm instances kept.
    pub warm_instances: u64,
}

/// Everything a scrape reads from elsewhere.
#[derive(Debug, Clone, Default)]
pub struct ScrapeValues {
    /// Connections open, and the limit.
    pub connections: (u64, u64),
    /// Request body bytes held in memory, and the limit.
    pub body_bytes: (u64, u64),
    /// Task-data cache bytes held, when there is a cache.
    pub task_data_cache_bytes: Option<u64>,
    /// Per model.
    pub models: Vec<ModelValues>,
    /// Per `wasi:nn` graph.
    pub graphs: Vec<GraphValues>,
}

/// Writes the [`ScrapeValues`] of the scrape in progress; registered in the host's registry.
#[derive(Debug, Default)]
pub struct ScrapeCollector {
    /// One scrape at a time sets its values and encodes.
    scrape: Mutex<()>,
    values: Mutex<ScrapeValues>,
}

impl ScrapeCollector {
    /// Runs `encode` (the registry's encoding) with `values` as what this collector writes.
    pub fn with_values<R>(&self, values: ScrapeValues, encode: impl FnOnce() -> R) -> R {
        let _one_scrape = self.scrape.lock().unwrap_or_else(|e| e.into_inner());
        *self.values.lock().unwrap_or_else(|e| e.into_inner()) = values;
        encode()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabel {
    model: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct GraphLabels {
    model: String,
    graph: String,
}

/// A per-model gauge: name, help, and how to read it.
type PerModel = (&'static str, &'static str, fn(&ModelValues) -> u64);
/// A per-graph counter: name, help, and how to read it.
type PerGraph = (&'static str, &'static str, fn(&GraphValues) -> f64);

/// One gauge without labels.
fn gauge(encoder: &mut DescriptorEncoder, name: &str, help: &str, value: u64) -> std::fmt::Result {
    let metric = ConstGauge::new(i64::try_from(value).unwrap_or(i64::MAX));
    metric.encode(encoder.encode_descriptor(name, help, None, metric.metric_type())?)
}

impl Collector for ScrapeCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> std::fmt::Result {
        let values = self
            .values
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let e = &mut encoder;
        gauge(
            e,
            "connections_open",
            "HTTP connections open",
            values.connections.0,
        )?;
        gauge(
            e,
            "connections_limit",
            "HTTP connections allowed at once",
            values.connections.1,
        )?;
        gauge(
            e,
            "request_body_bytes_held",
            "Request body bytes held in memory across connections",
            values.body_bytes.0,
        )?;
        gauge(
            e,
            "request_body_bytes_limit",
            "Request body bytes allowed in memory at once",
            values.body_bytes.1,
        )?;
        if let Some(bytes) = values.task_data_cache_bytes {
            gauge(
                e,
                "task_data_cache_bytes",
                "Bytes held by the task-data cache",
                bytes,
            )?;
        }
        let per_model: [PerModel; 3] = [
            ("fit_queue_depth", "Training jobs waiting", |m| {
                m.queued_jobs
            }),
            ("fit_jobs_running", "Training jobs running", |m| {
                m.running_jobs
            }),
            ("warm_instances", "Warm instances kept for reuse", |m| {
                m.warm_instances
            }),
        ];
        for (name, help, value) in per_model {
            let mut family = e.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Gauge,
            )?;
            for model in &values.models {
                let gauge = ConstGauge::new(i64::try_from(value(model)).unwrap_or(i64::MAX));
                let labels = ModelLabel {
                    model: model.model.clone(),
                };
                gauge.encode(family.encode_family(&labels)?)?;
            }
        }
        if values.graphs.is_empty() {
            return Ok(());
        }
        let per_graph: [PerGraph; 3] = [
            ("nn_inferences", "wasi:nn inferences completed", |g| {
                g.inferences as f64
            }),
            ("nn_failed_inferences", "wasi:nn inferences failed", |g| {
                g.failed as f64
            }),
            (
                "nn_inference_seconds",
                "Time in ONNX Runtime inferences",
                |g| g.seconds,
            ),
        ];
        for (name, help, value) in per_graph {
            let mut family = e.encode_descriptor(
                name,
                help,
                None,
                prometheus_client::metrics::MetricType::Counter,
            )?;
            for graph in &values.graphs {
                let labels = GraphLabels {
                    model: graph.model.clone(),
                    graph: graph.graph.clone(),
                };
                ConstCounter::new(value(graph)).encode(family.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

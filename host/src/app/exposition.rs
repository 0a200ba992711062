//! `GET /metrics` on the host: the Prometheus families, with the values read at scrape
//! time (see [`crate::metrics::scrape`]) refreshed first.

use super::{App, Reply};
use crate::metrics::scrape::{GraphValues, ModelValues, ScrapeValues};

/// What the HTTP server knows at scrape time: `(in use, limit)` of its connections and of
/// the request-body budget.
pub struct ServerGauges {
    /// Open connections and their limit.
    pub connections: (u64, u64),
    /// Request body bytes held and their limit.
    pub body_bytes: (u64, u64),
}

impl App {
    /// The exposition text, as an answer.
    pub async fn metrics_exposition(&self, server: ServerGauges) -> Reply {
        let depths = self.jobs.depths().await;
        let mut values = ScrapeValues {
            connections: server.connections,
            body_bytes: server.body_bytes,
            task_data_cache_bytes: self.task_data.cache_stats().map(|stats| stats.bytes),
            ..ScrapeValues::default()
        };
        for (name, entry) in self.registry.entries() {
            let (queued_jobs, running_jobs) = depths.get(&name).copied().unwrap_or_default();
            let model = entry.current.as_ref();
            values.models.push(ModelValues {
                model: name.clone(),
                queued_jobs,
                running_jobs,
                warm_instances: model.map_or(0, |m| m.warm_instances() as u64),
            });
            for graph in model.map(|m| m.graphs.reports()).unwrap_or_default() {
                values.graphs.push(GraphValues {
                    model: name.clone(),
                    graph: graph.name,
                    inferences: graph.inferences,
                    failed: graph.failed_inferences,
                    seconds: graph.inference_ms / 1000.0,
                });
            }
        }
        let metrics = crate::metrics::global();
        // Set and written under one lock, so two scrapes at once each write their own.
        let text = metrics.scrape.with_values(values, || metrics.encode());
        Reply {
            status: hyper::StatusCode::OK,
            body: serde_json::Value::Null,
            encoded: Some(text),
            content_type: Some(crate::metrics::CONTENT_TYPE),
        }
    }
}

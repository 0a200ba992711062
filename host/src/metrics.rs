//! Request counters per model, served by `GET /models/<name>/metrics`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use serde_json::{Value, json};

/// Counters of one model.
#[derive(Debug, Default, Clone)]
struct ModelCounters {
    predict_requests: u64,
    predict_errors: u64,
    tasks_predicted: u64,
    predict_seconds: f64,
    fit_calls: u64,
    fit_errors: u64,
}

/// Counters of every model.
#[derive(Default)]
pub struct Metrics {
    counters: Mutex<HashMap<String, ModelCounters>>,
}

impl Metrics {
    fn with(&self, model: &str, change: impl FnOnce(&mut ModelCounters)) {
        let mut counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        change(counters.entry(model.to_owned()).or_default());
    }

    /// Records one `/predict` call.
    pub fn record_predict(&self, model: &str, tasks: usize, took: Duration, ok: bool) {
        self.with(model, |c| {
            c.predict_requests += 1;
            c.predict_seconds += took.as_secs_f64();
            if ok {
                c.tasks_predicted += tasks as u64;
            } else {
                c.predict_errors += 1;
            }
        });
    }

    /// Records one `fit` call.
    pub fn record_fit(&self, model: &str, ok: bool) {
        self.with(model, |c| {
            c.fit_calls += 1;
            if !ok {
                c.fit_errors += 1;
            }
        });
    }

    /// The counters of `model` as JSON.
    pub fn snapshot(&self, model: &str) -> Value {
        let counters = self.counters.lock().unwrap_or_else(|e| e.into_inner());
        let c = counters.get(model).cloned().unwrap_or_default();
        json!({
            "model": model,
            "predict_requests": c.predict_requests,
            "predict_errors": c.predict_errors,
            "tasks_predicted": c.tasks_predicted,
            "predict_seconds_total": c.predict_seconds,
            "fit_calls": c.fit_calls,
            "fit_errors": c.fit_errors,
        })
    }
}

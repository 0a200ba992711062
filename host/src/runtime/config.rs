//! A label config as guest calls use it: the raw XML, its parse, and the WIT requests made
//! from it, so that a config is parsed and converted once per distinct content rather than
//! on every call (a 200,000-choice config takes a third of a second to parse and convert).

use std::sync::{Arc, Mutex};

use super::bindings as wit;
use crate::labelconfig::{LabelConfig, LabelConfigError};

/// WIT requests kept per config: one per (project, model version, extra params) in use;
/// a config rarely serves more than a few at once.
const REQUESTS_KEPT: usize = 8;

/// A parsed label config, ready to be handed to guests.
pub struct CallConfig {
    raw: String,
    parsed: LabelConfig,
    /// Heap bytes of one parse or one guest request of it, estimated.
    parsed_bytes: usize,
    /// Requests built from this config, most recently used last.
    requests: Mutex<Vec<Arc<wit::Request>>>,
}

impl CallConfig {
    /// Parses `raw` (an empty string is an empty config, as in Label Studio).
    pub fn parse(raw: String) -> Result<Self, LabelConfigError> {
        let parsed = LabelConfig::parse(&raw)?;
        let parsed_bytes = estimate_bytes(&parsed);
        Ok(Self {
            raw,
            parsed,
            parsed_bytes,
            requests: Mutex::new(Vec::new()),
        })
    }

    /// The XML as given.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// The parse.
    pub fn parsed(&self) -> &LabelConfig {
        &self.parsed
    }

    /// The heap bytes this config holds, estimated: its text, its parse and the guest
    /// requests made from it (each with a copy of the text). A label costs a few hundred
    /// bytes of maps and strings in each form: a 200,000-choice config, 6 MB of text, holds
    /// about 100 MB once parsed and converted.
    pub fn approx_bytes(&self) -> usize {
        let requests = self.requests.lock().map_or(1, |r| r.len().max(1));
        self.raw.len() + self.parsed_bytes + requests * (self.raw.len() + self.parsed_bytes)
    }

    /// The WIT request of a call with this config, built on first use.
    pub(super) fn request(
        &self,
        project: &str,
        model_version: &str,
        extra_params: Option<&str>,
    ) -> Arc<wit::Request> {
        let same = |r: &wit::Request| {
            r.project == project
                && r.model_version == model_version
                && r.extra_params.as_deref() == extra_params
        };
        let mut requests = self.requests.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(at) = requests.iter().position(|r| same(r)) {
            let request = requests.remove(at);
            requests.push(request.clone());
            return request;
        }
        // Built under the lock: concurrent first calls of one project convert once.
        let request = Arc::new(wit::Request {
            project: project.to_owned(),
            label_config: super::convert::label_config(&self.raw, &self.parsed),
            model_version: model_version.to_owned(),
            extra_params: extra_params.map(str::to_owned),
        });
        if requests.len() >= REQUESTS_KEPT {
            requests.remove(0);
        }
        requests.push(request.clone());
        request
    }
}

/// Per label (or control, or input) beyond its strings: map entries, vectors, record headers.
const ITEM_OVERHEAD_BYTES: usize = 200;

/// The heap bytes of `parsed`, estimated from its strings and item counts.
fn estimate_bytes(parsed: &LabelConfig) -> usize {
    parsed
        .controls
        .iter()
        .map(|(name, control)| {
            let labels: usize = control
                .labels
                .iter()
                .map(|(value, attributes)| {
                    let attributes: usize = attributes
                        .iter()
                        .map(|(k, v)| k.len() + v.len() + ITEM_OVERHEAD_BYTES / 2)
                        .sum();
                    value.len() + attributes + ITEM_OVERHEAD_BYTES
                })
                .sum();
            name.len() + labels + (control.inputs.len() + 1) * ITEM_OVERHEAD_BYTES
        })
        .sum()
}

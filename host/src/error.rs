//! One error type for every HTTP answer that is not a success, mapped to a status and a JSON
//! body in one place. Internal details (traps, backtraces) are logged, never sent.

use hyper::StatusCode;
use serde_json::json;

use crate::runtime::{CallError, GuestError};

/// Everything that can go wrong while answering a request.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not valid JSON, or not the expected shape.
    #[error("{0}")]
    BadRequest(String),
    /// The label config in the request is not valid XML.
    #[error("{0}")]
    InvalidLabelConfig(String),
    /// The body is larger than the limit.
    #[error("request body larger than {0} bytes")]
    PayloadTooLarge(usize),
    /// The host already holds as many request bodies in memory as it allows.
    #[error("the host is receiving {0} bytes of request bodies, its limit; retry shortly")]
    BodiesOverBudget(usize),
    /// The content type is not JSON.
    #[error("expected Content-Type: application/json, got {0}")]
    UnsupportedMediaType(String),
    /// The body is compressed (`Content-Encoding` other than `identity`).
    #[error("Content-Encoding {0} is not supported: send the body uncompressed")]
    UnsupportedEncoding(String),
    /// No route for the path.
    #[error("no such endpoint: {0}")]
    NotFound(String),
    /// A training job Label Studio polls is not (or no longer) kept: `410 Gone`, which Label
    /// Studio records as a removed job rather than an error.
    #[error("{0}")]
    JobGone(String),
    /// The path exists but not for this method.
    #[error("method {method} not allowed for {path}; use {allowed}")]
    MethodNotAllowed {
        /// The method used.
        method: String,
        /// The path.
        path: String,
        /// The methods the path accepts.
        allowed: &'static str,
    },
    /// No model of that name is loaded.
    #[error("no model named \"{name}\"; loaded models: {available}")]
    UnknownModel {
        /// The name asked for.
        name: String,
        /// The loaded models' URLs.
        available: String,
    },
    /// A root path was used but there is no default model.
    #[error(
        "no default model: {count} models are loaded, use their own URLs ({available}) or start the host with --default-model"
    )]
    NoDefaultModel {
        /// How many models are loaded.
        count: usize,
        /// Their URLs.
        available: String,
    },
    /// The model exists but is not ready (still compiling, or every version failed).
    #[error("model \"{model}\" is {state}")]
    ModelUnavailable {
        /// The model's name.
        model: String,
        /// Why, for the client.
        state: String,
        /// Seconds after which to retry.
        retry_after: u64,
    },
    /// The guest call failed.
    #[error("model \"{model}\" failed: {error}")]
    Model {
        /// The model's name.
        model: String,
        /// What failed.
        error: CallError,
    },
    /// Missing or wrong credentials.
    #[error("authentication required")]
    Unauthorized,
    /// A host-side failure (the store, an I/O error).
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::BadRequest(_) | Self::InvalidLabelConfig(_) => StatusCode::BAD_REQUEST,
            Self::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType(_) | Self::UnsupportedEncoding(_) => {
                StatusCode::UNSUPPORTED_MEDIA_TYPE
            }
            Self::NotFound(_) | Self::UnknownModel { .. } | Self::NoDefaultModel { .. } => {
                StatusCode::NOT_FOUND
            }
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::JobGone(_) => StatusCode::GONE,
            Self::ModelUnavailable { .. } | Self::BodiesOverBudget(_) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Model { error, .. } => match error {
                CallError::Guest(GuestError::InvalidInput(_))
                | CallError::Guest(GuestError::UnsupportedConfig(_)) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                CallError::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                CallError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
                CallError::Guest(GuestError::Internal(_))
                | CallError::Trap(_)
                | CallError::MemoryLimit(_)
                | CallError::FuelExhausted(_)
                | CallError::InvalidOutput(_)
                | CallError::Sandbox(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// A short machine-readable name of the failure kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::BadRequest(_) => "bad request",
            Self::InvalidLabelConfig(_) => "invalid label config",
            Self::PayloadTooLarge(_) => "payload too large",
            Self::UnsupportedMediaType(_) => "unsupported media type",
            Self::UnsupportedEncoding(_) => "unsupported content encoding",
            Self::NotFound(_) => "not found",
            Self::JobGone(_) => "job gone",
            Self::MethodNotAllowed { .. } => "method not allowed",
            Self::UnknownModel { .. } => "unknown model",
            Self::NoDefaultModel { .. } => "no default model",
            Self::ModelUnavailable { .. } => "model unavailable",
            Self::BodiesOverBudget(_) => "busy",
            Self::Unauthorized => "unauthorized",
            Self::Internal(_) => "internal error",
            Self::Model { error, .. } => match error {
                CallError::Guest(GuestError::InvalidInput(_)) => "invalid input",
                CallError::Guest(GuestError::UnsupportedConfig(_)) => "unsupported label config",
                CallError::Guest(GuestError::Internal(_)) => "model error",
                CallError::Trap(_) => "trap",
                CallError::Timeout(_) => "timeout",
                CallError::MemoryLimit(_) => "memory limit",
                CallError::FuelExhausted(_) => "fuel exhausted",
                CallError::InvalidOutput(_) => "invalid model output",
                CallError::Busy(_) => "busy",
                CallError::Sandbox(_) => "sandbox error",
            },
        }
    }

    /// The JSON body: `{"status", "error", "detail"}`, plus `model` when one is involved.
    /// `status` and `detail` are the reference backend's keys.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({
            "status": self.status().as_u16(),
            "error": self.kind(),
            "detail": self.to_string(),
        });
        let model = match self {
            Self::Model { model, .. } | Self::ModelUnavailable { model, .. } => Some(model),
            Self::UnknownModel { name, .. } => Some(name),
            _ => None,
        };
        if let (Some(model), Some(obj)) = (model, body.as_object_mut()) {
            obj.insert("model".into(), json!(model));
        }
        body
    }
}

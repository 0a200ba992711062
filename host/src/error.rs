//! One error type for every HTTP answer that is not a success, mapped in one place to a
//! status, the headers that go with it and a typed JSON body ([`ErrorBody`]).
//!
//! What a client reads is meant for the person using Label Studio: the host's own failures
//! (the store, I/O) answer with what happened and a reference to the log line that holds the
//! cause, never with paths, addresses or backend messages; [`ApiError::cause`] is the full
//! story for the log. A guest's failure is the model author's to read, so its message is sent;
//! backtraces and wasm offsets only go to the log (see `runtime::model`).

use hyper::StatusCode;
use hyper::header::{ALLOW, HeaderName, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use serde::{Deserialize, Serialize};

use crate::labelconfig::LabelConfigError;
use crate::runtime::{CallError, GuestError};
use crate::store::StoreFailure;
use crate::taskdata::FetchFailure;

/// The JSON body of every error answer, and of a failed training job's record:
/// `{"status", "error", "detail"}` (the reference backend's `status` and `detail`), plus
/// `model` when one is involved.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ErrorBody {
    /// The HTTP status.
    pub status: u16,
    /// A short machine-readable name of the failure kind ([`ApiError::kind`]).
    pub error: String,
    /// What went wrong, for a person.
    pub detail: String,
    /// The model involved, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The id of the request that failed (also in its `X-Request-Id` header and log lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorBody {
    /// The status as an HTTP status code (500 for a stored number that is not one).
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

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
    /// A task's data behind a URL could not be fetched for the model (a `valueType="url"`
    /// text the host preloads).
    #[error("task {} data.{key} = {url}: {failure}", task.map_or_else(|| "(no id)".to_owned(), |t| t.to_string()))]
    TaskData {
        /// The model's name.
        model: String,
        /// The task's id, when it has one.
        task: Option<u64>,
        /// The data key.
        key: String,
        /// The reference as it appears in the task.
        url: String,
        /// Why it failed.
        failure: FetchFailure,
    },
    /// The store failed (the backend is unreachable, a value is over a limit, a lock was
    /// lost).
    #[error("{0}")]
    Store(#[from] StoreFailure),
    /// Any other host-side failure.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<LabelConfigError> for ApiError {
    fn from(err: LabelConfigError) -> Self {
        Self::InvalidLabelConfig(err.to_string())
    }
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
            Self::TaskData { failure, .. } => match failure {
                FetchFailure::Timeout(_) => StatusCode::GATEWAY_TIMEOUT,
                FetchFailure::Unavailable(_) | FetchFailure::Unauthorized(_) => {
                    StatusCode::BAD_GATEWAY
                }
                FetchFailure::NotAllowed(_)
                | FetchFailure::NotFound(_)
                | FetchFailure::TooLarge(_)
                | FetchFailure::InvalidUrl(_) => StatusCode::UNPROCESSABLE_ENTITY,
            },
            Self::Store(StoreFailure::Unavailable(_) | StoreFailure::LockLost(_)) => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            Self::Store(StoreFailure::TooLarge { .. } | StoreFailure::InvalidKey(_))
            | Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
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
                | CallError::MemoryLimitOf(_)
                | CallError::FuelExhausted(_)
                | CallError::InvalidOutput(_)
                | CallError::Sandbox(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// The headers this error's answer carries: `WWW-Authenticate` with a 401, `Allow`
    /// with a 405 (RFC 9110), `Retry-After` when waiting helps.
    pub fn headers(&self) -> Vec<(HeaderName, HeaderValue)> {
        match self {
            Self::Unauthorized => vec![(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wasml\""),
            )],
            Self::MethodNotAllowed { allowed, .. } => {
                vec![(ALLOW, HeaderValue::from_static(allowed))]
            }
            Self::ModelUnavailable { retry_after, .. } => {
                vec![(RETRY_AFTER, HeaderValue::from(*retry_after))]
            }
            Self::Store(StoreFailure::Unavailable(_) | StoreFailure::LockLost(_))
            | Self::BodiesOverBudget(_)
            | Self::Model {
                error: CallError::Busy(_),
                ..
            } => vec![(RETRY_AFTER, HeaderValue::from(1u64))],
            _ => Vec::new(),
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
            Self::TaskData { .. } => "task data",
            Self::Store(StoreFailure::Unavailable(_) | StoreFailure::LockLost(_)) => {
                "store unavailable"
            }
            Self::Store(_) | Self::Internal(_) => "internal error",
            Self::Model { error, .. } => match error {
                CallError::Guest(GuestError::InvalidInput(_)) => "invalid input",
                CallError::Guest(GuestError::UnsupportedConfig(_)) => "unsupported label config",
                CallError::Guest(GuestError::Internal(_)) => "model error",
                CallError::Trap(_) => "trap",
                CallError::Timeout(_) => "timeout",
                CallError::MemoryLimit(_) | CallError::MemoryLimitOf(_) => "memory limit",
                CallError::FuelExhausted(_) => "fuel exhausted",
                CallError::InvalidOutput(_) => "invalid model output",
                CallError::Busy(_) => "busy",
                CallError::Sandbox(_) => "sandbox error",
            },
        }
    }

    /// True for the host's own failures, whose cause stays in the log.
    fn is_internal(&self) -> bool {
        matches!(self, Self::Store(_) | Self::Internal(_))
    }

    /// The full cause, for the host's log.
    pub fn cause(&self) -> String {
        self.to_string()
    }

    /// The body sent to the client. `reference` names the log line of a host failure
    /// (see [`ApiError::cause`]), whose detail then says what failed without the internals.
    pub fn body(&self, reference: Option<&str>) -> ErrorBody {
        let detail = match (self.is_internal(), reference) {
            (true, Some(reference)) => format!(
                "{}; the host logged the cause as error {reference}",
                self.public_summary()
            ),
            (true, None) => self.public_summary().to_owned(),
            (false, _) => self.to_string(),
        };
        let model = match self {
            Self::Model { model, .. }
            | Self::ModelUnavailable { model, .. }
            | Self::TaskData { model, .. } => Some(model),
            Self::UnknownModel { name, .. } => Some(name),
            _ => None,
        };
        ErrorBody {
            status: self.status().as_u16(),
            error: self.kind().to_owned(),
            detail,
            model: model.cloned(),
            request_id: None,
        }
    }

    /// What a host failure was, in words fit for any client.
    fn public_summary(&self) -> &'static str {
        match self {
            Self::Store(StoreFailure::Unavailable(_)) => {
                "the host's store is unavailable; retry shortly"
            }
            Self::Store(StoreFailure::LockLost(_)) => {
                "another host took over this project's training; retry shortly"
            }
            Self::Store(StoreFailure::TooLarge { .. } | StoreFailure::InvalidKey(_)) => {
                "the host could not store its records"
            }
            _ => "the host failed to answer",
        }
    }
}

/// A short random reference tying an error answer to the log line with its cause.
pub fn error_reference() -> String {
    let mut bytes = [0u8; 4];
    // Without randomness the reference is only less unique; the log line still has the time.
    let _ = getrandom::fill(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_failures_keep_their_cause_out_of_the_body() {
        let err = ApiError::from(StoreFailure::Unavailable(
            "redis: connection refused at 10.0.0.7:6379".into(),
        ));
        let body = err.body(Some("abcd1234"));
        assert_eq!(body.status, 503);
        assert_eq!(body.error, "store unavailable");
        assert!(!body.detail.contains("10.0.0.7"), "{}", body.detail);
        assert!(body.detail.contains("abcd1234"), "{}", body.detail);
        assert!(err.cause().contains("10.0.0.7"));
        assert!(!err.headers().is_empty(), "a retry hint");
    }

    #[test]
    fn client_errors_say_exactly_what_is_wrong() {
        let err = ApiError::BadRequest("missing field `tasks`".into());
        assert_eq!(err.body(None).detail, "missing field `tasks`");
        let round_trip: ErrorBody =
            serde_json::from_value(serde_json::to_value(err.body(None)).expect("encode"))
                .expect("decode");
        assert_eq!(round_trip, err.body(None));
    }
}

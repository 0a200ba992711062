//! The error a model returns; the host maps each case to an HTTP status.

use crate::bindings::wasml::model::types::{ModelError, StoreError};

/// Why a `predict` or `fit` call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum Error {
    /// The tasks, context or payload cannot be used by this model (HTTP 422).
    InvalidInput(String),
    /// The label config lacks what this model needs (HTTP 422).
    UnsupportedConfig(String),
    /// Anything else (HTTP 500).
    Internal(String),
}

impl Error {
    /// Shorthand for [`Error::InvalidInput`].
    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::InvalidInput(message.into())
    }

    /// Shorthand for [`Error::UnsupportedConfig`].
    pub fn unsupported_config(message: impl Into<String>) -> Self {
        Self::UnsupportedConfig(message.into())
    }

    /// Shorthand for [`Error::Internal`].
    pub fn internal(message: impl Into<String>) -> Self {
        Self::Internal(message.into())
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::InvalidInput(m) => write!(f, "invalid input: {m}"),
            Self::UnsupportedConfig(m) => write!(f, "unsupported label config: {m}"),
            Self::Internal(m) => write!(f, "internal error: {m}"),
        }
    }
}

impl std::error::Error for Error {}

impl From<serde_json::Error> for Error {
    fn from(err: serde_json::Error) -> Self {
        Self::Internal(format!("JSON: {err}"))
    }
}

impl From<StoreError> for Error {
    fn from(err: StoreError) -> Self {
        Self::Internal(match err {
            StoreError::TooLarge(limit) => format!("store: value larger than {limit} bytes"),
            StoreError::InvalidKey(why) => format!("store: invalid key: {why}"),
            StoreError::Unavailable(why) => format!("store unavailable: {why}"),
        })
    }
}

impl From<Error> for ModelError {
    fn from(err: Error) -> Self {
        match err {
            Error::InvalidInput(m) => ModelError::InvalidInput(m),
            Error::UnsupportedConfig(m) => ModelError::UnsupportedConfig(m),
            Error::Internal(m) => ModelError::Internal(m),
        }
    }
}

//! Task data: the bytes a task's data points to (an uploaded image, an object in cloud
//! storage, a Label Studio local file, a granted URL), fetched by the host through the WIT
//! `task-data` import. The host resolves each form as Label Studio's SDK does, authenticates
//! to Label Studio, enforces the model's egress policy and budgets, and caches.
//!
//! [`fetch`] takes a reference as it appears in a task; [`crate::Task::fetch`] takes the data
//! key a control's input names (`<Image value="$image">` gives `image`).
//!
//! Off wasm (native unit tests) fetches are answered from what the test registered with
//! [`crate::testing::serve`]; anything else is `NotFound`.

#[cfg(target_arch = "wasm32")]
use crate::bindings::wasml::model::task_data as host;

/// What a fetch received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body.
    pub bytes: Vec<u8>,
    /// The `Content-Type` the server sent, if any.
    pub content_type: Option<String>,
}

/// Why a fetch failed; each message says what to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FetchError {
    /// The origin is not granted to this model (`[capabilities] fetch`), or a local path
    /// leaves the local files root.
    NotAllowed(String),
    /// Nothing there (404).
    NotFound(String),
    /// Label Studio refused the credentials.
    Unauthorized(String),
    /// Over what is left of the call's fetch budget (`fetch_mib`).
    TooLarge(String),
    /// Not received in time.
    Timeout(String),
    /// Unreachable or failing.
    Unavailable(String),
    /// Malformed, or a cloud URI without a task id.
    InvalidUrl(String),
}

impl std::fmt::Display for FetchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, message) = match self {
            Self::NotAllowed(m) => ("not allowed", m),
            Self::NotFound(m) => ("not found", m),
            Self::Unauthorized(m) => ("unauthorized", m),
            Self::TooLarge(m) => ("too large", m),
            Self::Timeout(m) => ("timeout", m),
            Self::Unavailable(m) => ("unavailable", m),
            Self::InvalidUrl(m) => ("invalid URL", m),
        };
        write!(f, "{kind}: {message}")
    }
}

impl std::error::Error for FetchError {}

/// A task's data cannot be used: the model reports it as invalid input for that task, so
/// the request answers 422 naming what to fix.
impl From<FetchError> for crate::Error {
    fn from(err: FetchError) -> Self {
        crate::Error::invalid_input(err.to_string())
    }
}

/// Fetches `reference` as it appears in a task's data; `task_id` (the task's `id`) is needed
/// for cloud storage URIs.
pub fn fetch(reference: &str, task_id: Option<u64>) -> Result<Fetched, FetchError> {
    #[cfg(target_arch = "wasm32")]
    {
        host::fetch(reference, task_id)
            .map(|f| Fetched {
                bytes: f.bytes,
                content_type: f.content_type,
            })
            .map_err(|e| match e {
                host::FetchError::NotAllowed(m) => FetchError::NotAllowed(m),
                host::FetchError::NotFound(m) => FetchError::NotFound(m),
                host::FetchError::Unauthorized(m) => FetchError::Unauthorized(m),
                host::FetchError::TooLarge(m) => FetchError::TooLarge(m),
                host::FetchError::Timeout(m) => FetchError::Timeout(m),
                host::FetchError::Unavailable(m) => FetchError::Unavailable(m),
                host::FetchError::InvalidUrl(m) => FetchError::InvalidUrl(m),
            })
    }
    #[cfg(not(target_arch = "wasm32"))]
    {
        let _ = task_id;
        crate::testing::served(reference)
            .ok_or_else(|| FetchError::NotFound(format!("{reference}: not served by this test")))
    }
}

impl crate::Task {
    /// Fetches what `data[key]` references (`key` is the `$variable` of a control's input,
    /// e.g. `image` for `<Image value="$image">`), with this task's id.
    pub fn fetch(&self, key: &str) -> Result<Fetched, FetchError> {
        let reference = self.text(key).ok_or_else(|| {
            FetchError::InvalidUrl(format!("the task has no text at data.{key} to fetch"))
        })?;
        let id = self.id.and_then(|id| u64::try_from(id).ok());
        fetch(reference, id)
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;

    #[test]
    fn a_task_fetches_what_its_data_key_references() {
        crate::testing::serve("/data/upload/1/cat.png", b"png", Some("image/png"));
        let task = crate::Task::from_json(serde_json::json!(
            {"id": 3, "data": {"image": "/data/upload/1/cat.png", "n": 1}}
        ))
        .expect("task");
        let fetched = task.fetch("image").expect("served");
        assert_eq!(fetched.bytes, b"png");
        assert_eq!(fetched.content_type.as_deref(), Some("image/png"));
        assert!(matches!(task.fetch("n"), Err(FetchError::InvalidUrl(_))));
        assert!(matches!(
            task.fetch("other"),
            Err(FetchError::InvalidUrl(_))
        ));
        let missing = fetch("/data/upload/1/dog.png", None).expect_err("not served");
        assert!(matches!(missing, FetchError::NotFound(_)));
        let error: crate::Error = missing.into();
        assert!(format!("{error:?}").contains("dog.png"));
    }
}

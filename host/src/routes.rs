//! Routing: (method, path) -> what to do. Pure functions, unit-tested without a socket.

use hyper::Method;

use crate::error::ApiError;
use crate::identity::{MAX_MODEL_NAME, is_model_name};

/// A model endpoint of the Label Studio ML backend protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    /// `GET /health` or `GET /`.
    Health,
    /// `POST /setup`.
    Setup,
    /// `POST /predict`.
    Predict,
    /// `POST /webhook`.
    Webhook,
    /// `GET /models/<name>/metrics`: the model's counters as JSON.
    Metrics,
    /// `GET /versions`.
    Versions,
    /// `GET /jobs`: the model's newest training jobs.
    Jobs,
    /// `GET /jobs/<id>`: one training job.
    Job(u64),
    /// `POST /job_status` with `{"job": id}`: the training status in the shape Label Studio
    /// reads for the job a Start Training answer named.
    JobStatus,
}

impl Endpoint {
    /// The endpoint's name in the metrics' `endpoint` label.
    pub fn label(self) -> &'static str {
        match self {
            Self::Health => "health",
            Self::Setup => "setup",
            Self::Predict => "predict",
            Self::Webhook => "webhook",
            Self::Metrics => "metrics",
            Self::Versions => "versions",
            Self::Jobs => "jobs",
            Self::Job(_) => "job",
            Self::JobStatus => "job_status",
        }
    }

    fn from_segment(segment: &str) -> Option<Self> {
        Some(match segment {
            "" | "health" => Self::Health,
            "setup" => Self::Setup,
            "predict" => Self::Predict,
            "webhook" => Self::Webhook,
            "metrics" => Self::Metrics,
            "versions" => Self::Versions,
            "jobs" => Self::Jobs,
            "job_status" => Self::JobStatus,
            _ => return None,
        })
    }

    /// The `Allow` header's value and the method the endpoint answers.
    fn method(self) -> (&'static str, Method) {
        match self {
            Self::Health | Self::Metrics | Self::Versions | Self::Jobs | Self::Job(_) => {
                ("GET, HEAD", Method::GET)
            }
            Self::Setup | Self::Predict | Self::Webhook | Self::JobStatus => ("POST", Method::POST),
        }
    }
}

/// Which model a request is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelRef {
    /// `/models/<name>/...`.
    Named(String),
    /// A root path (`/predict`, ...): the default model.
    Default,
}

/// What a request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// `GET /models`: every model with its version and state.
    ListModels,
    /// `GET /metrics`: the host's metrics in the Prometheus text format.
    HostMetrics,
    /// A protocol endpoint of one model.
    Model {
        /// Which model.
        model: ModelRef,
        /// Which endpoint.
        endpoint: Endpoint,
    },
}

impl Route {
    /// The route's name in the metrics' `endpoint` label.
    pub fn label(&self) -> &'static str {
        match self {
            Self::ListModels => "models",
            Self::HostMetrics => "host_metrics",
            Self::Model { endpoint, .. } => endpoint.label(),
        }
    }
}

/// Routes a request. Unknown paths are 404, known paths with the wrong method 405.
pub fn route(method: &Method, path: &str) -> Result<Route, ApiError> {
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    let segments: Vec<&str> = trimmed.split('/').skip(1).collect();
    let route = match segments.as_slice() {
        [] => model_route(ModelRef::Default, ""),
        ["models"] => Some(Route::ListModels),
        ["metrics"] => Some(Route::HostMetrics),
        ["models", name] => model_route(ModelRef::Named(model_name(name)?), ""),
        ["models", name, segment] => model_route(ModelRef::Named(model_name(name)?), segment),
        ["models", name, "jobs", id] => {
            let model = ModelRef::Named(model_name(name)?);
            id.parse().ok().map(|id| Route::Model {
                model,
                endpoint: Endpoint::Job(id),
            })
        }
        [segment] => model_route(ModelRef::Default, segment),
        _ => None,
    };
    let route = route.ok_or_else(|| ApiError::NotFound(path.to_owned()))?;
    let (allowed, expected) = match &route {
        Route::ListModels | Route::HostMetrics => ("GET, HEAD", Method::GET),
        Route::Model { endpoint, .. } => endpoint.method(),
    };
    // HEAD is GET without a body; hyper drops the body for HEAD responses.
    if *method == expected || (expected == Method::GET && *method == Method::HEAD) {
        Ok(route)
    } else {
        Err(ApiError::MethodNotAllowed {
            method: method.to_string(),
            path: path.to_owned(),
            allowed,
        })
    }
}

fn model_route(model: ModelRef, segment: &str) -> Option<Route> {
    Endpoint::from_segment(segment).map(|endpoint| Route::Model { model, endpoint })
}

/// A model name from a URL (the rules: [`crate::identity::is_model_name`]).
pub fn model_name(segment: &str) -> Result<String, ApiError> {
    if is_model_name(segment) {
        Ok(segment.to_owned())
    } else {
        let shown: String = segment.chars().take(MAX_MODEL_NAME).collect();
        Err(ApiError::NotFound(format!(
            "/models/{} (invalid model name: use letters, digits, '-', '_' and '.')",
            shown.escape_default()
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(method: Method, path: &str) -> Route {
        route(&method, path).unwrap_or_else(|e| panic!("{path}: {e}"))
    }

    fn named(name: &str, endpoint: Endpoint) -> Route {
        Route::Model {
            model: ModelRef::Named(name.into()),
            endpoint,
        }
    }

    #[test]
    fn model_paths() {
        assert_eq!(
            ok(Method::GET, "/models/ner/health"),
            named("ner", Endpoint::Health)
        );
        assert_eq!(
            ok(Method::GET, "/models/ner/"),
            named("ner", Endpoint::Health)
        );
        assert_eq!(
            ok(Method::GET, "/models/ner"),
            named("ner", Endpoint::Health)
        );
        assert_eq!(
            ok(Method::POST, "/models/ner/predict"),
            named("ner", Endpoint::Predict)
        );
        assert_eq!(
            ok(Method::POST, "/models/a.b-c_d/setup"),
            named("a.b-c_d", Endpoint::Setup)
        );
        assert_eq!(
            ok(Method::GET, "/models/ner/jobs"),
            named("ner", Endpoint::Jobs)
        );
        assert_eq!(
            ok(Method::GET, "/models/ner/jobs/42"),
            named("ner", Endpoint::Job(42))
        );
        assert!(route(&Method::GET, "/models/ner/jobs/x").is_err());
        assert!(route(&Method::POST, "/models/ner/jobs/1").is_err());
        assert_eq!(ok(Method::GET, "/models"), Route::ListModels);
        assert_eq!(ok(Method::GET, "/metrics"), Route::HostMetrics);
        assert_eq!(
            ok(Method::GET, "/models/ner/metrics"),
            named("ner", Endpoint::Metrics)
        );
        assert_eq!(ok(Method::GET, "/models/"), Route::ListModels);
        assert_eq!(
            ok(Method::HEAD, "/models/x/health"),
            named("x", Endpoint::Health)
        );
    }

    #[test]
    fn root_aliases_use_the_default_model() {
        for (path, endpoint) in [
            ("/", Endpoint::Health),
            ("/health", Endpoint::Health),
            ("/versions", Endpoint::Versions),
        ] {
            assert_eq!(
                ok(Method::GET, path),
                Route::Model {
                    model: ModelRef::Default,
                    endpoint
                }
            );
        }
        for (path, endpoint) in [
            ("/setup", Endpoint::Setup),
            ("/predict", Endpoint::Predict),
            ("/webhook", Endpoint::Webhook),
            ("/job_status", Endpoint::JobStatus),
        ] {
            assert_eq!(
                ok(Method::POST, path),
                Route::Model {
                    model: ModelRef::Default,
                    endpoint
                }
            );
        }
    }

    #[test]
    fn wrong_method_is_405_and_unknown_path_404() {
        let err = route(&Method::GET, "/models/x/predict").expect_err("405");
        assert_eq!(err.status(), hyper::StatusCode::METHOD_NOT_ALLOWED);
        for path in [
            "/nope",
            "/models/x/nope",
            "/models/x/predict/more",
            "//predict",
        ] {
            let err = route(&Method::POST, path).expect_err(path);
            assert_eq!(err.status(), hyper::StatusCode::NOT_FOUND, "{path}");
        }
    }

    #[test]
    fn hostile_model_names_are_rejected() {
        for name in ["..", ".hidden", "a%2Fb", "a\u{7}b", "ü", &"x".repeat(200)] {
            let path = format!("/models/{name}/predict");
            assert!(route(&Method::POST, &path).is_err(), "{name:?}");
        }
    }
}

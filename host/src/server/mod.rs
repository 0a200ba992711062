//! The HTTP server: hyper connections, body limits, authentication, then [`App`].

mod activity;
mod body;
mod connections;
mod metrics_listener;
mod request_id;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Body;
use hyper::header::{CONTENT_ENCODING, CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use tracing::Instrument;

pub use body::BodyBudget;
pub use connections::{ConnectionLimit, serve};
pub use metrics_listener::serve_metrics;
pub use request_id::REQUEST_ID_HEADER;

use crate::app::{App, Reply, ServerGauges};
use crate::auth::{BasicAuth, WEBHOOK_TOKEN_HEADER, WebhookToken};
use crate::error::ApiError;
use crate::metrics::RequestLabels;
use crate::routes::{Endpoint, Route, route};

/// HTTP-level settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// Largest accepted request body.
    pub max_body_bytes: usize,
    /// Credentials required on every request, if set.
    pub basic_auth: Option<BasicAuth>,
    /// Token that authenticates webhooks (instead of basic auth).
    pub webhook_token: Option<WebhookToken>,
    /// Request body bytes held in memory at once, across all connections.
    pub body_budget: BodyBudget,
    /// Connections open at once.
    pub connections: ConnectionLimit,
    /// Log every request at INFO (else at DEBUG).
    pub access_log: bool,
}

/// Requests from this size on are followed by returning freed heap memory to the kernel: a
/// burst of them would otherwise leave the host at its peak (see `crate::alloc`), and the
/// milliseconds it takes are small next to what such a request costs.
const LARGE_REQUEST_BYTES: usize = 1 << 20;

/// Answers one request. Never fails: every error becomes a JSON answer.
pub async fn handle<B>(
    app: &Arc<App>,
    http: &HttpSettings,
    req: Request<B>,
    peer: SocketAddr,
) -> Response<Full<Bytes>>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let started = std::time::Instant::now();
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let id = request_id::request_id(req.headers());
    // Everything logged while answering (the host's lines, the guest's log and stdout)
    // carries the request's id; the app records the model and project once it knows them.
    let span = tracing::info_span!(
        "request",
        id = %id,
        %method,
        path,
        model = tracing::field::Empty,
        project = tracing::field::Empty
    );
    let large = req
        .headers()
        .get(hyper::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<usize>().ok())
        .is_some_and(|len| len >= LARGE_REQUEST_BYTES);
    let mut labels = Labels {
        model: String::new(),
        endpoint: "unrouted",
    };
    let answer = answer(app, http, req, &mut labels)
        .instrument(span.clone())
        .await;
    if large {
        // The request's body and what was made from it are freed by now.
        crate::alloc::collect();
    }
    let _in_span = span.enter();
    let mut response = match answer {
        Ok(Reply {
            status,
            encoded: Some(text),
            content_type,
            ..
        }) => {
            let mut response = encoded_response(status, text);
            if let Some(content_type) = content_type {
                response
                    .headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
            }
            response
        }
        Ok(reply) => json_response(reply.status, &reply.body),
        Err(err) => {
            // Every 5xx is the host's to look into: its cause goes to the log, under the
            // request id the client's answer repeats.
            let server_error = err.status().is_server_error();
            if server_error {
                tracing::error!(
                    %peer, status = err.status().as_u16(), kind = err.kind(),
                    "request failed: {}", err.cause()
                );
            }
            error_response(&err, &id, server_error)
        }
    };
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(&REQUEST_ID_HEADER, value);
    }
    let status = response.status().as_u16();
    let took = started.elapsed();
    crate::metrics::global().record_request(
        RequestLabels {
            model: labels.model,
            endpoint: labels.endpoint,
            status: crate::metrics::status_class(status),
        },
        took,
    );
    let ms = took.as_secs_f64() * 1000.0;
    if http.access_log {
        tracing::info!(%peer, status, ms, "request");
    } else {
        tracing::debug!(%peer, status, ms, "request");
    }
    response
}

/// What the metrics label a request with, learned while answering it.
struct Labels {
    /// The model it was for, once resolved (never a name the client made up).
    model: String,
    /// The route's label, `unrouted` when none matched.
    endpoint: &'static str,
}

async fn answer<B>(
    app: &Arc<App>,
    http: &HttpSettings,
    req: Request<B>,
    labels: &mut Labels,
) -> Result<Reply, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    // Routing is a pure function of the request line; its answer (even a 404) is revealed
    // only after the credentials are checked.
    let routed = route(req.method(), req.uri().path());
    if !authorized(http, &req, routed.as_ref().ok()) {
        return Err(ApiError::Unauthorized);
    }
    let route = routed?;
    labels.endpoint = route.label();
    let query = req.uri().query().map(str::to_owned);
    // `_reserved` keeps the body's bytes counted against the budget until the answer is made.
    let (body, _reserved) = if req.method() == Method::POST {
        check_content_type(&req)?;
        check_content_encoding(&req)?;
        body::read_body(req.into_body(), http).await?
    } else {
        (Bytes::new(), None)
    };
    match route {
        Route::ListModels => {
            let mut reply = app.list_models();
            if let Some(obj) = reply.body.as_object_mut() {
                let budget = &http.body_budget;
                obj.insert(
                    "request_bodies".into(),
                    serde_json::json!({"held_bytes": budget.in_use(), "limit_bytes": budget.limit()}),
                );
                let connections = &http.connections;
                obj.insert(
                    "connections".into(),
                    serde_json::json!({"open": connections.open(), "limit": connections.limit()}),
                );
            }
            Ok(reply)
        }
        Route::HostMetrics => Ok(app.metrics_exposition(server_gauges(http)).await),
        Route::Model { model, endpoint } => {
            let name = app.resolve(&model)?;
            labels.model.clone_from(&name);
            app.model_endpoint(&name, endpoint, query.as_deref(), &body)
                .await
        }
    }
}

/// The server's own values the metrics show.
pub fn server_gauges(http: &HttpSettings) -> ServerGauges {
    ServerGauges {
        connections: (
            http.connections.open() as u64,
            http.connections.limit() as u64,
        ),
        body_bytes: (
            http.body_budget.in_use() as u64,
            http.body_budget.limit() as u64,
        ),
    }
}

/// Accepts JSON, or no content type at all (hand-written `curl` calls); refuses the rest.
fn check_content_type<B>(req: &Request<B>) -> Result<(), ApiError> {
    let Some(text) = header_text(req, &CONTENT_TYPE) else {
        return Ok(());
    };
    let mime = text
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    if mime == "application/json" || mime.ends_with("+json") {
        Ok(())
    } else {
        Err(ApiError::UnsupportedMediaType(text.to_owned()))
    }
}

/// Refuses compressed bodies (RFC 7694: 415): the host reads bodies as they are, so a gzip
/// body would otherwise surface as a confusing JSON syntax error. Label Studio never
/// compresses its requests.
fn check_content_encoding<B>(req: &Request<B>) -> Result<(), ApiError> {
    let Some(text) = header_text(req, &CONTENT_ENCODING) else {
        return Ok(());
    };
    let identity = text
        .split(',')
        .all(|coding| coding.trim().eq_ignore_ascii_case("identity"));
    if identity {
        Ok(())
    } else {
        Err(ApiError::UnsupportedEncoding(text.to_owned()))
    }
}

/// A header's value as text, if present; a value that is not visible ASCII reads as a
/// placeholder that no check accepts.
fn header_text<'a, B>(req: &'a Request<B>, name: &hyper::header::HeaderName) -> Option<&'a str> {
    let value = req.headers().get(name)?;
    Some(value.to_str().unwrap_or("(not text)"))
}

/// Basic auth (when configured) guards every request. A webhook may instead carry the
/// webhook token; when a token is configured, webhooks without it (or basic auth) are refused.
fn authorized<B>(http: &HttpSettings, req: &Request<B>, route: Option<&Route>) -> bool {
    let headers = req.headers();
    let authorization = headers
        .get(hyper::header::AUTHORIZATION)
        .map(HeaderValue::as_bytes);
    let basic_ok = http
        .basic_auth
        .as_ref()
        .map(|auth| auth.accepts(authorization));
    // `route` only answers the webhook endpoint for a POST.
    let is_webhook = matches!(
        route,
        Some(Route::Model {
            endpoint: Endpoint::Webhook,
            ..
        })
    );
    if !is_webhook {
        return basic_ok.unwrap_or(true);
    }
    let token_ok = http.webhook_token.as_ref().map(|token| {
        token.accepts(
            headers.get(WEBHOOK_TOKEN_HEADER).map(HeaderValue::as_bytes),
            authorization,
        )
    });
    match (basic_ok, token_ok) {
        (None, None) => true,
        (basic, token) => basic == Some(true) || token == Some(true),
    }
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response<Full<Bytes>> {
    encoded_response(status, body.to_string())
}

fn encoded_response(status: StatusCode, json: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(json)));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// The error answer for `err` of request `id`; a host failure's detail names the id its
/// cause was logged under.
fn error_response(err: &ApiError, id: &str, logged: bool) -> Response<Full<Bytes>> {
    let mut body = err.body(logged.then_some(id));
    body.request_id = Some(id.to_owned());
    let body = serde_json::to_value(body).unwrap_or_default();
    let mut response = json_response(err.status(), &body);
    let headers = response.headers_mut();
    for (name, value) in err.headers() {
        headers.insert(name, value);
    }
    response
}

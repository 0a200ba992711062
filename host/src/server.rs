//! The HTTP server: hyper connections, body limits, authentication, then [`App`].

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Body;
use hyper::header::{CONTENT_TYPE, HeaderValue, RETRY_AFTER, WWW_AUTHENTICATE};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

use crate::app::{App, Reply};
use crate::auth::{BasicAuth, WEBHOOK_TOKEN_HEADER, WebhookToken};
use crate::error::ApiError;
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
}

/// The bytes of request bodies all connections may hold at once: without it, many clients
/// each sending a body just under `max_body_bytes` could exhaust the host's memory.
#[derive(Debug, Clone)]
pub struct BodyBudget {
    bytes: Arc<tokio::sync::Semaphore>,
    limit: usize,
}

impl BodyBudget {
    /// A budget of `limit` bytes (at least `max_body_bytes`, so one largest body fits).
    pub fn new(limit: usize, max_body_bytes: usize) -> Self {
        let limit = limit
            .max(max_body_bytes)
            .min(tokio::sync::Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(tokio::sync::Semaphore::new(limit)),
            limit,
        }
    }

    /// Body bytes held now.
    pub fn in_use(&self) -> usize {
        self.limit - self.bytes.available_permits()
    }

    /// Reserves `n` more bytes into `held`, or fails at once when the budget is spent.
    fn reserve(
        &self,
        n: usize,
        held: &mut Option<tokio::sync::OwnedSemaphorePermit>,
    ) -> Result<(), ApiError> {
        let Ok(n) = u32::try_from(n) else {
            return Err(ApiError::BodiesOverBudget(self.limit));
        };
        let permit = self
            .bytes
            .clone()
            .try_acquire_many_owned(n)
            .map_err(|_| ApiError::BodiesOverBudget(self.limit))?;
        match held {
            Some(held) => held.merge(permit),
            None => *held = Some(permit),
        }
        Ok(())
    }
}

/// A slow client gets this long to send its request headers (slowloris defence).
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// A client gets this long to send its whole body; Label Studio sends at LAN speed.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// Bytes past the limit read and thrown away before answering 413: a client still sending
/// when the server closes the connection gets a reset instead of the answer. Beyond this, the
/// connection is closed anyway.
const OVERSIZE_DRAIN_BYTES: u64 = 16 << 20;

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (up to a grace period).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    http: HttpSettings,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let http = Arc::new(http);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(conn) => conn,
                Err(err) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let app = app.clone();
        let http = http.clone();
        let service = hyper::service::service_fn(move |req| {
            let app = app.clone();
            let http = http.clone();
            async move { Ok::<_, Infallible>(handle(&app, &http, req, peer).await) }
        });
        let conn = builder.serve_connection(TokioIo::new(stream), service);
        let conn = graceful.watch(conn.into_owned());
        tokio::spawn(async move {
            if let Err(err) = conn.await {
                tracing::debug!(%peer, "connection closed: {err}");
            }
        });
    }
    tracing::info!("shutting down, waiting for in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

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
    let answer = answer(app, http, req).await;
    let response = match answer {
        Ok(reply) => json_response(reply.status, &reply.body),
        Err(err) => error_response(&err),
    };
    tracing::info!(
        %peer, %method, path, status = response.status().as_u16(),
        ms = started.elapsed().as_secs_f64() * 1000.0, "request"
    );
    response
}

async fn answer<B>(app: &Arc<App>, http: &HttpSettings, req: Request<B>) -> Result<Reply, ApiError>
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
    // `_reserved` keeps the body's bytes counted against the budget until the answer is made.
    let (body, _reserved) = if req.method() == Method::POST {
        check_content_type(&req)?;
        read_body(req.into_body(), http).await?
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
                    serde_json::json!({"held_bytes": budget.in_use(), "limit_bytes": budget.limit}),
                );
            }
            Ok(reply)
        }
        Route::Model { model, endpoint } => app.model_endpoint(&model, endpoint, &body).await,
    }
}

/// Accepts JSON, or no content type at all (hand-written `curl` calls); refuses the rest.
fn check_content_type<B>(req: &Request<B>) -> Result<(), ApiError> {
    let Some(value) = req.headers().get(CONTENT_TYPE) else {
        return Ok(());
    };
    let text = value.to_str().unwrap_or("(not text)");
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

/// A body read into memory, with its bytes reserved from the [`BodyBudget`].
type HeldBody = (Bytes, Option<tokio::sync::OwnedSemaphorePermit>);

async fn read_body<B>(body: B, http: &HttpSettings) -> Result<HeldBody, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let limit = http.max_body_bytes;
    let declared = body.size_hint().lower();
    if declared > limit as u64 + OVERSIZE_DRAIN_BYTES {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    tokio::time::timeout(
        BODY_READ_TIMEOUT,
        read_limited(body, limit, &http.body_budget),
    )
    .await
    .map_err(|_| {
        ApiError::BadRequest(format!(
            "request body not received within {BODY_READ_TIMEOUT:?}"
        ))
    })?
}

/// Reads at most `limit` bytes, each reserved from `budget` as it arrives; past the limit,
/// drains up to [`OVERSIZE_DRAIN_BYTES`] more (not kept) so the client can read the 413.
async fn read_limited<B>(body: B, limit: usize, budget: &BodyBudget) -> Result<HeldBody, ApiError>
where
    B: Body<Data = Bytes>,
    B::Error: std::error::Error + Send + Sync + 'static,
{
    let mut body = std::pin::pin!(body);
    let mut collected = Vec::new();
    let mut reserved = None;
    let mut seen: u64 = 0;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|err| {
            ApiError::BadRequest(format!("could not read the request body: {err}"))
        })?;
        let Ok(data) = frame.into_data() else {
            continue;
        };
        seen += data.len() as u64;
        if seen > limit as u64 + OVERSIZE_DRAIN_BYTES {
            break;
        }
        if seen <= limit as u64 {
            budget.reserve(data.len(), &mut reserved)?;
            collected.extend_from_slice(&data);
        }
    }
    if seen > limit as u64 {
        return Err(ApiError::PayloadTooLarge(limit));
    }
    Ok((Bytes::from(collected), reserved))
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
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

fn error_response(err: &ApiError) -> Response<Full<Bytes>> {
    let mut response = json_response(err.status(), &err.body());
    let headers = response.headers_mut();
    match err {
        ApiError::Unauthorized => {
            headers.insert(
                WWW_AUTHENTICATE,
                HeaderValue::from_static("Basic realm=\"wasml\""),
            );
        }
        ApiError::ModelUnavailable { retry_after, .. } => {
            headers.insert(RETRY_AFTER, HeaderValue::from(*retry_after));
        }
        ApiError::BodiesOverBudget(_)
        | ApiError::Model {
            error: crate::runtime::CallError::Busy(_),
            ..
        } => {
            headers.insert(RETRY_AFTER, HeaderValue::from(1u64));
        }
        _ => {}
    }
    response
}

//! `--metrics-listen`: the host's metrics on an address of their own, for deployments that
//! expose the protocol port to Label Studio but keep the metrics on an internal network.
//! Only `GET /metrics` is answered there; the listener needs no credentials (the
//! protocol port's basic auth guards the protocol, the address guards this).

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;

use super::{HttpSettings, server_gauges};
use crate::app::App;

/// How long a scraper may take to send its request head.
const HEADER_READ_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Serves `GET /metrics` on `listener` until the process ends. `http` is the protocol
/// server's settings, whose connection and body gauges the metrics show.
pub async fn serve_metrics(listener: TcpListener, app: Arc<App>, http: Arc<HttpSettings>) {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors and the like: wait instead of spinning.
                tracing::warn!("metrics listener: cannot accept: {err}");
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
                continue;
            }
        };
        let (app, http) = (app.clone(), http.clone());
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let (app, http) = (app.clone(), http.clone());
                async move { Ok::<_, Infallible>(answer(&app, &http, &req).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(err) = served {
                tracing::debug!(%peer, "metrics connection ended: {err}");
            }
        });
    }
}

async fn answer<B>(app: &App, http: &HttpSettings, req: &Request<B>) -> Response<Full<Bytes>> {
    let path = req.uri().path();
    let is_get = req.method() == Method::GET || req.method() == Method::HEAD;
    if !(is_get && (path == "/metrics" || path == "/metrics/")) {
        let body = serde_json::json!({
            "status": 404,
            "error": "not found",
            "detail": format!("{path}: this address serves only GET /metrics"),
        });
        let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
        *response.status_mut() = StatusCode::NOT_FOUND;
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        return response;
    }
    let reply = app.metrics_exposition(server_gauges(http)).await;
    let mut response = Response::new(Full::new(Bytes::from(reply.encoded.unwrap_or_default())));
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static(crate::metrics::CONTENT_TYPE),
    );
    response
}

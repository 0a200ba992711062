//! The HTTP(S) client behind task-data fetches: rustls with the system's roots, one request
//! at a time per fetch, bodies read up to a byte limit, redirects left to the caller (each is
//! checked against the egress policy before it is followed).

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use hyper::{Method, Request, StatusCode};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use url::Url;

use super::FetchFailure;

/// One answer, its body read (within the limit).
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// `Content-Type`, if sent.
    pub content_type: Option<String>,
    /// `Location` of a redirect, resolved against the request URL.
    pub location: Option<Url>,
    /// The body (empty for redirects).
    pub body: Vec<u8>,
}

/// A request to send.
pub struct Outgoing<'a> {
    /// `GET` or `POST`.
    pub method: Method,
    /// Where.
    pub url: &'a Url,
    /// The `Authorization` header, only ever for the project's Label Studio.
    pub authorization: Option<&'a str>,
    /// A JSON body, for `POST`.
    pub json: Option<String>,
    /// Most body bytes accepted.
    pub max_bytes: u64,
}

/// The shared client.
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<hyper_rustls::HttpsConnector<HttpConnector>, Full<Bytes>>,
}

impl HttpClient {
    /// A client trusting the system's CA roots.
    pub fn new() -> Result<Self, String> {
        // Installed once per process; an error means one already is, which is fine.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let connector = hyper_rustls::HttpsConnectorBuilder::new()
            .with_native_roots()
            .map_err(|e| format!("cannot load the system's CA roots: {e}"))?
            .https_or_http()
            .enable_http1()
            .build();
        Ok(Self {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        })
    }

    /// Sends `out` and reads the answer's body up to `out.max_bytes`.
    pub async fn send(&self, out: Outgoing<'_>) -> Result<Answer, FetchFailure> {
        let shown = shown(out.url);
        let mut request = Request::builder()
            .method(out.method)
            .uri(out.url.as_str())
            .header(hyper::header::USER_AGENT, "wasml");
        if let Some(authorization) = out.authorization {
            request = request.header(AUTHORIZATION, authorization);
        }
        if out.json.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let request = request
            .body(Full::new(Bytes::from(out.json.unwrap_or_default())))
            .map_err(|e| FetchFailure::InvalidUrl(format!("{shown}: {e}")))?;
        let response = self.inner.request(request).await.map_err(|e| {
            FetchFailure::Unavailable(format!("{shown}: cannot connect ({})", error_chain(&e)))
        })?;
        let status = response.status();
        let header = |name| {
            response
                .headers()
                .get(name)
                .and_then(|v: &hyper::header::HeaderValue| v.to_str().ok())
                .map(str::to_owned)
        };
        let content_type = header(CONTENT_TYPE);
        let location = header(LOCATION).and_then(|l| out.url.join(&l).ok());
        if status.is_redirection() {
            return Ok(Answer {
                status,
                content_type,
                location,
                body: Vec::new(),
            });
        }
        let declared = header(CONTENT_LENGTH).and_then(|l| l.parse::<u64>().ok());
        if status.is_success() && declared.is_some_and(|n| n > out.max_bytes) {
            return Err(too_large(&shown, out.max_bytes));
        }
        // Error bodies are read only a little: what matters is the status.
        let limit = if status.is_success() {
            out.max_bytes
        } else {
            64 << 10
        };
        let mut body = response.into_body();
        let mut bytes = Vec::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| {
                FetchFailure::Unavailable(format!("{shown}: the body broke off ({e})"))
            })?;
            if let Ok(data) = frame.into_data() {
                if bytes.len() as u64 + data.len() as u64 > limit {
                    if status.is_success() {
                        return Err(too_large(&shown, out.max_bytes));
                    }
                    break;
                }
                bytes.extend_from_slice(&data);
            }
        }
        Ok(Answer {
            status,
            content_type,
            location,
            body: bytes,
        })
    }
}

fn too_large(shown: &str, limit: u64) -> FetchFailure {
    FetchFailure::TooLarge(format!(
        "{shown}: larger than the {limit} bytes left of this call's fetch budget \
         (`fetch_mib` in the model's manifest)"
    ))
}

/// A URL as it may appear in messages: without credentials, and without a query that looks
/// like it signs or authorises (presigned URLs carry their signature there).
pub fn shown(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_username("");
    let _ = url.set_password(None);
    let secret = url.query().is_some_and(|q| {
        let q = q.to_ascii_lowercase();
        ["signature", "sig=", "token", "credential", "key="]
            .iter()
            .any(|s| q.contains(s))
    });
    if secret {
        url.set_query(Some("..."));
    }
    url.to_string()
}

fn error_chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

//! Request ids: one per request, in its log span, its `X-Request-Id` answer header and its
//! error body, so a user's report of a failed request finds its log lines.
//!
//! A client's own `X-Request-Id` (a proxy's, a tracing system's) is kept when it is a
//! short token that is safe in a header and a log line; otherwise the host makes one from
//! a per-process random prefix and a counter: unique without a system call per request.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};

use hyper::HeaderMap;
use hyper::header::HeaderName;

/// The header that carries a request's id, both ways.
pub static REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// Longest client-sent id kept (longer ones are replaced).
const MAX_CLIENT_ID: usize = 128;

/// The id of a request: the client's when acceptable (see the module doc), else a new one.
pub fn request_id(headers: &HeaderMap) -> String {
    headers
        .get(&REQUEST_ID_HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| is_acceptable(id))
        .map_or_else(new_id, str::to_owned)
}

fn is_acceptable(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= MAX_CLIENT_ID
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b':' | b'/'))
}

fn new_id() -> String {
    static PREFIX: OnceLock<String> = OnceLock::new();
    static NEXT: AtomicU64 = AtomicU64::new(1);
    // The same short random token an error reference is.
    let prefix = PREFIX.get_or_init(crate::error::error_reference);
    format!("{prefix}-{:x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::header::HeaderValue;

    #[test]
    fn a_clients_token_is_kept_and_anything_else_replaced() {
        let mut headers = HeaderMap::new();
        headers.insert(
            &REQUEST_ID_HEADER,
            HeaderValue::from_static("req-42.a_b:c/d"),
        );
        assert_eq!(request_id(&headers), "req-42.a_b:c/d");
        for bad in ["", "has space", "quote\"", &"x".repeat(129)] {
            headers.insert(
                &REQUEST_ID_HEADER,
                HeaderValue::from_str(bad).expect("a header value"),
            );
            let id = request_id(&headers);
            assert_ne!(id, bad);
            assert!(is_acceptable(&id), "{id}");
        }
    }

    #[test]
    fn new_ids_differ() {
        let headers = HeaderMap::new();
        assert_ne!(request_id(&headers), request_id(&headers));
    }
}

//! HTTP basic authentication, as the reference backend does it (`BASIC_AUTH_USER` /
//! `BASIC_AUTH_PASS`), checked before routing with a constant-time comparison; and the
//! webhook token, which lets Label Studio's webhooks in without basic auth.

use base64::Engine as _;
use subtle::ConstantTimeEq;

/// The credentials every request must carry.
#[derive(Clone)]
pub struct BasicAuth {
    expected: Vec<u8>,
}

impl std::fmt::Debug for BasicAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BasicAuth(..)")
    }
}

impl BasicAuth {
    /// Requires `user` and `password`.
    pub fn new(user: &str, password: &str) -> Self {
        Self {
            expected: format!("{user}:{password}").into_bytes(),
        }
    }

    /// True when the `Authorization` header value carries the expected credentials.
    pub fn accepts(&self, header: Option<&[u8]>) -> bool {
        match authorization(header) {
            Some(("basic", credentials)) => basic_credentials(credentials)
                .is_some_and(|decoded| decoded.ct_eq(&self.expected).into()),
            _ => false,
        }
    }
}

/// The scheme (lower-cased) and credentials of an `Authorization` header value.
fn authorization(header: Option<&[u8]>) -> Option<(&'static str, &str)> {
    let (scheme, credentials) = std::str::from_utf8(header?).ok()?.trim().split_once(' ')?;
    let scheme = ["basic", "bearer", "token"]
        .into_iter()
        .find(|known| scheme.eq_ignore_ascii_case(known))?;
    Some((scheme, credentials.trim()))
}

/// The decoded `user:password` of basic credentials.
fn basic_credentials(encoded: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .ok()
}

/// The header a webhook may carry its token in (Label Studio's webhook settings can add
/// headers; its auto-created webhook cannot send basic auth).
pub const WEBHOOK_TOKEN_HEADER: &str = "x-wasml-webhook-token";

/// A shared secret that authenticates `POST .../webhook` requests.
#[derive(Clone)]
pub struct WebhookToken {
    expected: Vec<u8>,
}

impl std::fmt::Debug for WebhookToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("WebhookToken(..)")
    }
}

impl WebhookToken {
    /// Requires `token`.
    pub fn new(token: &str) -> Self {
        Self {
            expected: token.as_bytes().to_vec(),
        }
    }

    /// True when the token header, `Authorization: Bearer <token>` / `Token <token>`, or
    /// basic auth with the token as password (any user name) carries the token
    /// (constant-time comparison). Basic auth is how "Start Training" can carry it: Label
    /// Studio sends that event through the model connection, whose only credentials are
    /// its basic auth settings, not through the webhook and its headers.
    pub fn accepts(
        &self,
        token_header: Option<&[u8]>,
        authorization_header: Option<&[u8]>,
    ) -> bool {
        let from_authorization = match authorization(authorization_header) {
            Some(("basic", credentials)) => basic_credentials(credentials).and_then(|decoded| {
                let colon = decoded.iter().position(|&b| b == b':')?;
                Some(decoded[colon + 1..].to_vec())
            }),
            Some((_, token)) => Some(token.as_bytes().to_vec()),
            None => None,
        };
        self.matches(token_header) || self.matches(from_authorization.as_deref())
    }

    fn matches(&self, candidate: Option<&[u8]>) -> bool {
        candidate.is_some_and(|c| c.trim_ascii().ct_eq(&self.expected).into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn webhook_tokens_are_checked() {
        let token = WebhookToken::new("s3cret");
        assert!(token.accepts(Some(b"s3cret"), None));
        assert!(token.accepts(None, Some(b"Bearer s3cret")));
        assert!(token.accepts(None, Some(b"Token s3cret")));
        assert!(!token.accepts(Some(b"s3cre"), Some(b"Basic s3cret")));
        assert!(!token.accepts(None, None));
        let basic = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(token.accepts(None, Some(basic("anyone:s3cret").as_bytes())));
        assert!(token.accepts(None, Some(basic(":s3cret").as_bytes())));
        assert!(!token.accepts(None, Some(basic("s3cret:wrong").as_bytes())));
        assert!(!token.accepts(None, Some(basic("s3cret").as_bytes())));
    }

    #[test]
    fn accepts_only_the_right_credentials() {
        let auth = BasicAuth::new("user", "pa:ss");
        let header = |s: &str| {
            format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(s)
            )
        };
        assert!(auth.accepts(Some(header("user:pa:ss").as_bytes())));
        assert!(auth.accepts(Some(
            header("user:pa:ss").replace("Basic", "basic").as_bytes()
        )));
        assert!(!auth.accepts(Some(header("user:pass").as_bytes())));
        assert!(!auth.accepts(Some(b"Basic !!!")));
        assert!(!auth.accepts(Some(b"Bearer x")));
        assert!(!auth.accepts(None));
    }
}

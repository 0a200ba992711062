//! HTTP basic authentication, as the reference backend does it (`BASIC_AUTH_USER` /
//! `BASIC_AUTH_PASS`), checked before routing with a constant-time comparison.

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
        let Some(value) = header.and_then(|h| std::str::from_utf8(h).ok()) else {
            return false;
        };
        let Some((scheme, encoded)) = value.trim().split_once(' ') else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case("basic") {
            return false;
        }
        let Ok(decoded) = base64::engine::general_purpose::STANDARD.decode(encoded.trim()) else {
            return false;
        };
        decoded.ct_eq(&self.expected).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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

//! How the host authenticates to a project's Label Studio: a legacy token as
//! `Authorization: Token <t>`; a personal access token (a JWT refresh token) exchanged at
//! `POST <LS>/api/token/refresh/` for an access token sent as `Bearer`, refreshed before it
//! expires and once on a 401, one refresh at a time. Tokens never reach a log, an error or
//! a `Debug` output.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use url::Url;

use super::FetchFailure;
use super::policy::Origin;

/// Refresh an access token this long before its `exp`.
const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// One Label Studio: where it is and how to authenticate to it.
pub struct LabelStudio {
    /// Its base URL (scheme, host, port, and a path prefix when served under one).
    pub base: Url,
    /// Its origin, the only one that ever receives the token.
    pub origin: Origin,
    token: Option<Token>,
}

impl std::fmt::Debug for LabelStudio {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LabelStudio")
            .field("base", &self.base.as_str())
            .field("token", &self.token.as_ref().map(Token::kind))
            .finish()
    }
}

enum Token {
    /// Never expires; sent as is.
    Legacy(String),
    /// A refresh token; the current access token and when it expires (Unix seconds).
    Personal {
        refresh: String,
        access: tokio::sync::Mutex<Option<(String, u64)>>,
    },
}

impl Token {
    fn kind(&self) -> &'static str {
        match self {
            Self::Legacy(_) => "legacy",
            Self::Personal { .. } => "personal access token",
        }
    }
}

impl LabelStudio {
    /// Label Studio at `url` (`http://` or `https://`) with `token`, if any.
    pub fn new(url: &str, token: Option<&str>) -> Result<Self, String> {
        let mut base = Url::parse(url.trim())
            .map_err(|e| format!("Label Studio URL {url:?}: {e} (use http://host:port)"))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(format!(
                "Label Studio URL {url:?}: must start with http:// or https://"
            ));
        }
        let origin =
            Origin::of(&base).ok_or_else(|| format!("Label Studio URL {url:?}: no host"))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        base.set_query(None);
        base.set_fragment(None);
        let token = token
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(|t| match jwt_claims(t) {
                Some(_) => Token::Personal {
                    refresh: t.to_owned(),
                    access: tokio::sync::Mutex::new(None),
                },
                None => Token::Legacy(t.to_owned()),
            });
        Ok(Self {
            base,
            origin,
            token,
        })
    }

    /// The absolute URL of `path_and_query` (which starts with `/`) on this Label Studio.
    pub fn url(&self, path_and_query: &str) -> Result<Url, FetchFailure> {
        self.base
            .join(path_and_query.trim_start_matches('/'))
            .map_err(|e| FetchFailure::InvalidUrl(format!("{path_and_query}: {e}")))
    }

    /// True when a token is configured.
    pub fn has_token(&self) -> bool {
        self.token.is_some()
    }

    /// The `Authorization` value to send, refreshing a personal access token first when it
    /// is missing or about to expire, or when `stale` (the last one got a 401). `refresh`
    /// performs the exchange: given the refresh URL and body, it answers the JSON body.
    pub async fn authorization<F, Fut>(
        &self,
        stale: bool,
        refresh: F,
    ) -> Result<Option<String>, FetchFailure>
    where
        F: FnOnce(Url, String) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<u8>, FetchFailure>>,
    {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        match token {
            Token::Legacy(token) => Ok(Some(format!("Token {token}"))),
            Token::Personal {
                refresh: pat,
                access,
            } => {
                // Held across the exchange: one refresh at a time; the others then use it.
                let mut access = access.lock().await;
                let fresh = access
                    .as_ref()
                    .is_some_and(|(_, exp)| *exp > now_secs() + REFRESH_MARGIN.as_secs());
                if fresh && !stale {
                    return Ok(access.as_ref().map(|(jwt, _)| format!("Bearer {jwt}")));
                }
                let url = self.url("/api/token/refresh/")?;
                let body = serde_json::json!({ "refresh": pat }).to_string();
                let answer = refresh(url, body).await?;
                let jwt = serde_json::from_slice::<serde_json::Value>(&answer)
                    .ok()
                    .and_then(|v| v.get("access")?.as_str().map(str::to_owned))
                    .ok_or_else(|| {
                        FetchFailure::Unauthorized(
                            "Label Studio's token refresh answered no access token: check that \
                             the personal access token is valid"
                                .into(),
                        )
                    })?;
                // Without a readable `exp`, use it for a minute and refresh again.
                let exp = jwt_claims(&jwt)
                    .and_then(|c| c.get("exp")?.as_u64())
                    .unwrap_or_else(|| now_secs() + 60);
                let header = format!("Bearer {jwt}");
                *access = Some((jwt, exp));
                Ok(Some(header))
            }
        }
    }
}

fn now_secs() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The claims of a JWT (three base64url parts, the middle one a JSON object), or `None`
/// for anything else, such as a legacy token: how Label Studio's SDK tells them apart.
fn jwt_claims(token: &str) -> Option<serde_json::Map<String, serde_json::Value>> {
    let mut parts = token.split('.');
    let (_, payload, _, None) = (parts.next()?, parts.next()?, parts.next()?, parts.next()) else {
        return None;
    };
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        serde_json::Value::Object(claims) => Some(claims),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jwt(claims: serde_json::Value) -> String {
        let part = |v: &serde_json::Value| {
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
        };
        format!(
            "{}.{}.sig",
            part(&serde_json::json!({"alg": "HS256"})),
            part(&claims)
        )
    }

    #[tokio::test]
    async fn legacy_tokens_are_sent_as_token() {
        let ls = LabelStudio::new("http://ls:8080", Some("abc123")).expect("valid");
        let header = ls
            .authorization(false, |_, _| async {
                panic!("no refresh for legacy tokens")
            })
            .await
            .expect("header");
        assert_eq!(header.as_deref(), Some("Token abc123"));
        assert!(!format!("{ls:?}").contains("abc123"), "{ls:?}");
    }

    #[tokio::test]
    async fn personal_access_tokens_are_exchanged_and_refreshed_when_stale() {
        let pat = jwt(serde_json::json!({"token_type": "refresh"}));
        let ls = LabelStudio::new("http://ls:8080/prefix", Some(&pat)).expect("valid");
        let access = jwt(serde_json::json!({"exp": now_secs() + 3600, "n": 1}));
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let exchange = |url: Url, body: String| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            assert_eq!(url.as_str(), "http://ls:8080/prefix/api/token/refresh/");
            assert!(body.contains(&pat));
            let answer = serde_json::json!({"access": access})
                .to_string()
                .into_bytes();
            async move { Ok(answer) }
        };
        let first = ls.authorization(false, exchange).await.expect("header");
        assert_eq!(first, Some(format!("Bearer {access}")));
        let again = ls.authorization(false, exchange).await.expect("header");
        assert_eq!(again, first);
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1, "cached");
        ls.authorization(true, exchange).await.expect("header");
        assert_eq!(
            calls.load(std::sync::atomic::Ordering::SeqCst),
            2,
            "a 401 refreshes"
        );
    }

    #[tokio::test]
    async fn an_expiring_access_token_is_refreshed_first() {
        let pat = jwt(serde_json::json!({"token_type": "refresh"}));
        let ls = LabelStudio::new("http://ls:8080", Some(&pat)).expect("valid");
        let soon = jwt(serde_json::json!({"exp": now_secs() + 5}));
        let calls = std::sync::atomic::AtomicUsize::new(0);
        let exchange = |_: Url, _: String| {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let answer = serde_json::json!({"access": soon}).to_string().into_bytes();
            async move { Ok(answer) }
        };
        ls.authorization(false, exchange).await.expect("header");
        ls.authorization(false, exchange).await.expect("header");
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[test]
    fn urls_must_be_http() {
        assert!(LabelStudio::new("localhost:8080", None).is_err());
        assert!(LabelStudio::new("ftp://ls", None).is_err());
        let ls = LabelStudio::new("https://ls.example.com/sub", None).expect("valid");
        assert_eq!(
            ls.url("/data/upload/1/a.png").expect("url").as_str(),
            "https://ls.example.com/sub/data/upload/1/a.png"
        );
    }
}

//! Which origins a model may fetch from: its project's Label Studio, the presigned URLs Label
//! Studio redirects to, and the origins its manifest grants (`[capabilities] fetch`). Checked
//! before any connection is made, and again for every redirect.

use url::Url;

/// A scheme, host and port, compared without case; the port defaults to the scheme's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    scheme: String,
    host: String,
    port: u16,
}

impl Origin {
    /// The origin of `url`; `None` for URLs without a host (`file:`, `data:`).
    pub fn of(url: &Url) -> Option<Self> {
        Some(Self {
            scheme: url.scheme().to_ascii_lowercase(),
            host: url.host_str()?.to_ascii_lowercase(),
            port: url.port_or_known_default()?,
        })
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

/// One granted origin: `https://images.example.com`, `http://127.0.0.1:8123`, or a wildcard
/// for every subdomain, `https://*.s3.amazonaws.com`.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Grant {
    scheme: String,
    /// The host, or with `wildcard` the suffix after `*.`.
    host: String,
    wildcard: bool,
    port: u16,
}

impl Grant {
    fn parse(text: &str) -> Result<Self, String> {
        let wildcard = text.contains("://*.");
        let parseable = text.replacen("://*.", "://", 1);
        let url = Url::parse(&parseable).map_err(|e| format!("fetch origin {text:?}: {e}"))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(format!("fetch origin {text:?}: only http and https"));
        }
        if url.path() != "/" || url.query().is_some() || !url.username().is_empty() {
            return Err(format!(
                "fetch origin {text:?}: an origin is scheme://host[:port], without a path"
            ));
        }
        let origin = Origin::of(&url).ok_or_else(|| format!("fetch origin {text:?}: no host"))?;
        Ok(Self {
            scheme: origin.scheme,
            host: origin.host,
            wildcard,
            port: origin.port,
        })
    }

    fn allows(&self, origin: &Origin) -> bool {
        let host = if self.wildcard {
            origin
                .host
                .strip_suffix(&self.host)
                .is_some_and(|sub| sub.len() > 1 && sub.ends_with('.'))
        } else {
            origin.host == self.host
        };
        host && self.scheme == origin.scheme && self.port == origin.port
    }
}

/// The origins one model may fetch from, besides its project's Label Studio.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EgressPolicy {
    grants: Vec<Grant>,
    /// The entries as the manifest wrote them, for `GET /models`.
    listed: Vec<String>,
}

impl EgressPolicy {
    /// The policy granting `origins` (the manifest's `fetch` list); an entry that is not an
    /// origin is an error naming it.
    pub fn new(origins: &[String]) -> Result<Self, String> {
        let grants = origins
            .iter()
            .map(|o| Grant::parse(o))
            .collect::<Result<_, _>>()?;
        Ok(Self {
            grants,
            listed: origins.to_vec(),
        })
    }

    /// The granted origins, as the manifest wrote them.
    pub fn origins(&self) -> &[String] {
        &self.listed
    }

    /// True when `origin` is granted.
    pub fn grants(&self, origin: &Origin) -> bool {
        self.grants.iter().any(|g| g.allows(origin))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(url: &str) -> Origin {
        Origin::of(&Url::parse(url).expect("url")).expect("origin")
    }

    #[test]
    fn grants_match_scheme_host_and_port() {
        let policy = EgressPolicy::new(&[
            "https://images.example.com".into(),
            "http://127.0.0.1:8123".into(),
            "https://*.s3.amazonaws.com".into(),
        ])
        .expect("valid");
        for allowed in [
            "https://images.example.com/a.jpg",
            "https://IMAGES.example.com:443/a.jpg",
            "http://127.0.0.1:8123/x",
            "https://bucket.s3.amazonaws.com/key",
            "https://a.b.s3.amazonaws.com/key",
        ] {
            assert!(policy.grants(&origin(allowed)), "{allowed}");
        }
        for refused in [
            "http://images.example.com/a.jpg",
            "https://images.example.com:8443/a.jpg",
            "https://evil-images.example.com/",
            "http://127.0.0.1:8124/x",
            "https://s3.amazonaws.com/key",
            "https://bucket.s3.amazonaws.com.evil.net/key",
            "https://evils3.amazonaws.com/key",
        ] {
            assert!(!policy.grants(&origin(refused)), "{refused}");
        }
    }

    #[test]
    fn entries_that_are_not_origins_are_errors() {
        for bad in ["ftp://x", "https://x/path", "not a url", "https://user@x"] {
            assert!(EgressPolicy::new(&[bad.into()]).is_err(), "{bad}");
        }
    }
}

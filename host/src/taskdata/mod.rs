//! Task data: the WIT `task-data` import, which gives a model the bytes its tasks point to.
//!
//! [`TaskData`] is the host-wide part (the HTTP client, the cache, the bound on concurrent
//! fetches, the Label Studio the host is configured with, the local files root);
//! [`TaskDataCall`] is one guest call's view (its project's Label Studio, its model's egress
//! policy, what is left of its byte budget, its deadline). `resolve` turns a reference into
//! a [`resolve::Source`], `policy` decides where a model may connect, `credentials`
//! authenticates to Label Studio, `cache` keeps what was fetched.

mod cache;
mod credentials;
mod http;
pub mod policy;
mod resolve;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hyper::{Method, StatusCode};
use url::Url;

pub use cache::CacheStats;
pub use credentials::LabelStudio;
pub use policy::EgressPolicy;

use cache::{Entry, FetchCache};
use http::{Answer, HttpClient, Outgoing, shown};
use policy::Origin;
use resolve::Source;

/// Redirects followed per fetch.
const MAX_REDIRECTS: usize = 5;

/// Why a fetch failed: the WIT `fetch-error`, each message saying what to fix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FetchFailure {
    /// Not granted by the model's egress policy, or a path leaving the local files root.
    #[error("not allowed: {0}")]
    NotAllowed(String),
    /// 404.
    #[error("not found: {0}")]
    NotFound(String),
    /// 401/403.
    #[error("unauthorized: {0}")]
    Unauthorized(String),
    /// Over the call's byte budget.
    #[error("too large: {0}")]
    TooLarge(String),
    /// Past the fetch's time limit.
    #[error("timeout: {0}")]
    Timeout(String),
    /// Unreachable or failing.
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// Malformed, or a cloud URI without a task id.
    #[error("invalid URL: {0}")]
    InvalidUrl(String),
}

impl FetchFailure {
    /// A short name of the failure's kind, for the metrics' `result` label.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotAllowed(_) => "not_allowed",
            Self::NotFound(_) => "not_found",
            Self::Unauthorized(_) => "unauthorized",
            Self::TooLarge(_) => "too_large",
            Self::Timeout(_) => "timeout",
            Self::Unavailable(_) => "unavailable",
            Self::InvalidUrl(_) => "invalid_url",
        }
    }
}

/// The host's task-data settings (command line).
#[derive(Debug, Clone, Default)]
pub struct TaskDataSettings {
    /// `--label-studio-url`: when set, every project's Label Studio, whatever `/setup` says.
    pub label_studio_url: Option<String>,
    /// `--label-studio-api-key`: the token for it (else each project's `/setup` token).
    pub label_studio_api_key: Option<String>,
    /// `--local-files-root`: where `/data/local-files/?d=` paths are read from.
    pub local_files_root: Option<PathBuf>,
    /// `<data-dir>/fetch-cache` and its bound in bytes (0: no cache).
    pub cache: Option<(PathBuf, u64)>,
    /// Fetches running at once across the host.
    pub max_concurrent: usize,
}

/// What `/setup` said about a project's Label Studio (persisted with its settings).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SetupCredentials {
    /// `hostname`: Label Studio's URL.
    #[serde(default)]
    pub hostname: Option<String>,
    /// `access_token`: the project creator's token.
    #[serde(default)]
    pub access_token: Option<String>,
}

/// A Label Studio URL and the token for it.
type Credentials = (String, Option<String>);

/// The host-wide part of task data.
pub struct TaskData {
    client: HttpClient,
    cache: Option<FetchCache>,
    slots: tokio::sync::Semaphore,
    fixed_url: Option<String>,
    fixed_key: Option<String>,
    local_root: Option<PathBuf>,
    /// Label Studio connections by (URL, token): shared by every call of every project
    /// that uses them, so a personal access token is exchanged once, not per call.
    known: Mutex<HashMap<Credentials, Arc<LabelStudio>>>,
}

impl TaskData {
    /// The host's task data, configured by `settings`.
    pub fn new(settings: &TaskDataSettings) -> anyhow::Result<Self> {
        if let Some(url) = &settings.label_studio_url {
            LabelStudio::new(url, None).map_err(anyhow::Error::msg)?;
        }
        let cache = match &settings.cache {
            Some((dir, limit)) if *limit > 0 => Some(FetchCache::open(dir, *limit)?),
            _ => None,
        };
        let local_root = match &settings.local_files_root {
            Some(root) => Some(
                root.canonicalize()
                    .map_err(|e| anyhow::anyhow!("--local-files-root {}: {e}", root.display()))?,
            ),
            None => None,
        };
        Ok(Self {
            client: HttpClient::new().map_err(anyhow::Error::msg)?,
            cache,
            slots: tokio::sync::Semaphore::new(settings.max_concurrent.max(1)),
            fixed_url: settings.label_studio_url.clone(),
            fixed_key: settings.label_studio_api_key.clone(),
            local_root,
            known: Mutex::default(),
        })
    }

    /// What `GET /models` shows: the configured Label Studio (never a token), whether local
    /// files are read from a root, and the cache's counters.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "label_studio_url": self.fixed_url,
            "label_studio_api_key_set": self.fixed_key.is_some(),
            "local_files_root": self.local_root.is_some(),
            "cache": self.cache_stats(),
        })
    }

    /// The cache's counters, when there is a cache.
    pub fn cache_stats(&self) -> Option<CacheStats> {
        self.cache.as_ref().map(FetchCache::stats)
    }

    /// The Label Studio of a project whose `/setup` sent `setup`: the host's own when
    /// configured (a `/setup` cannot point a project elsewhere), else the project's.
    pub fn label_studio(&self, setup: Option<&SetupCredentials>) -> Option<Arc<LabelStudio>> {
        let url = self
            .fixed_url
            .clone()
            .or_else(|| setup.and_then(|s| s.hostname.clone()))?;
        let token = self
            .fixed_key
            .clone()
            .or_else(|| setup.and_then(|s| s.access_token.clone()));
        let mut known = self.known.lock().unwrap_or_else(|e| e.into_inner());
        let key = (url, token);
        if let Some(ls) = known.get(&key) {
            return Some(ls.clone());
        }
        match LabelStudio::new(&key.0, key.1.as_deref()) {
            Ok(ls) => {
                let ls = Arc::new(ls);
                known.insert(key, ls.clone());
                Some(ls)
            }
            Err(err) => {
                tracing::warn!("ignoring the project's Label Studio URL: {err}");
                None
            }
        }
    }
}

/// One guest call's view of task data.
pub struct TaskDataCall {
    shared: Arc<TaskData>,
    label_studio: Option<Arc<LabelStudio>>,
    policy: Arc<EgressPolicy>,
    /// Separates cache entries of projects (and Label Studios).
    cache_scope: String,
    remaining_bytes: u64,
    fetch_timeout: Duration,
    deadline: Instant,
}

/// What a fetch received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fetched {
    /// The body.
    pub bytes: Vec<u8>,
    /// Its content type.
    pub content_type: Option<String>,
}

impl TaskDataCall {
    /// The view of a call in `project` (of `model`), which may fetch `budget_bytes` in all,
    /// each fetch within `fetch_timeout`, all before `deadline` (the call's own budget).
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        shared: Arc<TaskData>,
        label_studio: Option<Arc<LabelStudio>>,
        policy: Arc<EgressPolicy>,
        project: &crate::identity::ProjectKey,
        budget_bytes: u64,
        fetch_timeout: Duration,
        deadline: Instant,
    ) -> Self {
        let ls = label_studio.as_ref().map_or("", |ls| ls.base.as_str());
        Self {
            cache_scope: format!("{ls}|{project}"),
            shared,
            label_studio,
            policy,
            remaining_bytes: budget_bytes,
            fetch_timeout,
            deadline,
        }
    }

    /// Moves the deadline: the runtime sets it when the call starts.
    pub fn set_deadline(&mut self, deadline: Instant) {
        self.deadline = deadline;
    }

    /// Fetches `reference` (as it appears in the task; `task_id` for cloud URIs).
    pub async fn fetch(
        &mut self,
        reference: &str,
        task_id: Option<u64>,
    ) -> Result<Fetched, FetchFailure> {
        let mut cached = false;
        let result = self.fetch_counted(reference, task_id, &mut cached).await;
        let (label, bytes) = match &result {
            Ok(fetched) if cached => ("cached", fetched.bytes.len()),
            Ok(fetched) => ("fetched", fetched.bytes.len()),
            Err(failure) => (failure.kind(), 0),
        };
        crate::metrics::global().record_fetch(label, bytes);
        result
    }

    /// [`Self::fetch`], setting `cached` when the cache answered.
    async fn fetch_counted(
        &mut self,
        reference: &str,
        task_id: Option<u64>,
        cached: &mut bool,
    ) -> Result<Fetched, FetchFailure> {
        let source = resolve::resolve(reference, task_id, self.shared.local_root.as_deref())?;
        let key = FetchCache::key(&self.cache_scope, reference);
        if let Some(cache) = &self.shared.cache
            && let Some(entry) = cache.get(&key)
        {
            *cached = true;
            return self.charge(Fetched {
                bytes: entry.bytes,
                content_type: entry.content_type,
            });
        }
        let left = self.deadline.saturating_duration_since(Instant::now());
        let limit = self.fetch_timeout.min(left);
        let started = Instant::now();
        let fetched =
            tokio::time::timeout(limit, async {
                let _slot =
                    self.shared.slots.acquire().await.map_err(|_| {
                        FetchFailure::Unavailable("the host is shutting down".into())
                    })?;
                self.fetch_source(reference, source).await
            })
            .await
            .map_err(|_| {
                FetchFailure::Timeout(format!(
                    "{reference}: not received within {limit:?} (`fetch_timeout_secs` in the \
                 model's manifest, and the call's own time budget)"
                ))
            })??;
        tracing::debug!(
            reference,
            bytes = fetched.bytes.len(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "fetched task data"
        );
        if let Some(cache) = &self.shared.cache {
            cache.put(
                &key,
                &Entry {
                    bytes: fetched.bytes.clone(),
                    content_type: fetched.content_type.clone(),
                },
            );
        }
        self.charge(fetched)
    }

    /// Spends `fetched`'s size from the call's budget, or refuses it.
    fn charge(&mut self, fetched: Fetched) -> Result<Fetched, FetchFailure> {
        let size = fetched.bytes.len() as u64;
        if size > self.remaining_bytes {
            return Err(FetchFailure::TooLarge(format!(
                "{size} bytes, over the {} bytes left of this call's fetch budget \
                 (`fetch_mib` in the model's manifest)",
                self.remaining_bytes
            )));
        }
        self.remaining_bytes -= size;
        Ok(fetched)
    }

    async fn fetch_source(&self, reference: &str, source: Source) -> Result<Fetched, FetchFailure> {
        match source {
            Source::LocalFile(path) => read_local(reference, &path, self.remaining_bytes).await,
            Source::LabelStudio(paths) => {
                let ls = self.needs_label_studio(reference)?;
                let mut last = None;
                for path in paths {
                    let url = ls.url(&path)?;
                    match self.get(ls, url, false).await {
                        Ok(fetched) => return Ok(fetched),
                        // An HTTP error from the storage proxy: try the media path.
                        Err(err) => last = Some(err),
                    }
                }
                Err(last.unwrap_or_else(|| FetchFailure::InvalidUrl(reference.to_owned())))
            }
            Source::Presign(path) => {
                let ls = self.needs_label_studio(reference)?;
                let url = ls.url(&path)?;
                self.get(ls, url, true).await
            }
            Source::Url(url) => {
                let origin = Origin::of(&url)
                    .ok_or_else(|| FetchFailure::InvalidUrl(reference.to_owned()))?;
                match &self.label_studio {
                    Some(ls) if ls.origin == origin => self.get(ls, url, false).await,
                    _ if self.policy.grants(&origin) => self.get_public(url).await,
                    _ => Err(not_granted(&url)),
                }
            }
        }
    }

    fn needs_label_studio(&self, reference: &str) -> Result<&Arc<LabelStudio>, FetchFailure> {
        self.label_studio.as_ref().ok_or_else(|| {
            FetchFailure::Unavailable(format!(
                "{reference}: the host does not know this project's Label Studio: connect the \
                 model from Label Studio (its /setup sends the URL and token) or start the \
                 host with --label-studio-url and --label-studio-api-key"
            ))
        })
    }

    /// GET `url` on Label Studio with its token, following redirects: on Label Studio with
    /// the token, elsewhere without it and only where the policy allows, or anywhere when
    /// `presign` (Label Studio redirecting to a presigned URL).
    async fn get(
        &self,
        ls: &LabelStudio,
        mut url: Url,
        presign: bool,
    ) -> Result<Fetched, FetchFailure> {
        let mut refreshed = false;
        for _ in 0..=MAX_REDIRECTS {
            let on_ls = Origin::of(&url).as_ref() == Some(&ls.origin);
            let authorization = if on_ls {
                ls.authorization(refreshed, |u, body| self.refresh(u, body))
                    .await?
            } else {
                None
            };
            let mut answer = self.send(&url, authorization.as_deref()).await?;
            if on_ls && answer.status == StatusCode::UNAUTHORIZED && !refreshed && ls.has_token() {
                // A personal access token's access token may have just expired: once more.
                refreshed = true;
                let authorization = ls
                    .authorization(true, |u, body| self.refresh(u, body))
                    .await?;
                answer = self.send(&url, authorization.as_deref()).await?;
            }
            match self.follow(&url, answer, on_ls, presign)? {
                Step::Done(fetched) => return Ok(fetched),
                Step::Redirect(next) => url = next,
            }
        }
        Err(FetchFailure::Unavailable(format!(
            "{}: more than {MAX_REDIRECTS} redirects",
            shown(&url)
        )))
    }

    /// GET a granted URL off Label Studio, following redirects the policy also grants.
    async fn get_public(&self, mut url: Url) -> Result<Fetched, FetchFailure> {
        for _ in 0..=MAX_REDIRECTS {
            let answer = self.send(&url, None).await?;
            match self.follow(&url, answer, false, false)? {
                Step::Done(fetched) => return Ok(fetched),
                Step::Redirect(next) => url = next,
            }
        }
        Err(FetchFailure::Unavailable(format!(
            "{}: more than {MAX_REDIRECTS} redirects",
            shown(&url)
        )))
    }

    async fn send(&self, url: &Url, authorization: Option<&str>) -> Result<Answer, FetchFailure> {
        self.shared
            .client
            .send(Outgoing {
                method: Method::GET,
                url,
                authorization,
                json: None,
                max_bytes: self.remaining_bytes,
            })
            .await
    }

    /// Exchanges a personal access token (see `credentials`).
    async fn refresh(&self, url: Url, body: String) -> Result<Vec<u8>, FetchFailure> {
        let answer = self
            .shared
            .client
            .send(Outgoing {
                method: Method::POST,
                url: &url,
                authorization: None,
                json: Some(body),
                max_bytes: 64 << 10,
            })
            .await?;
        if answer.status.is_success() {
            Ok(answer.body)
        } else {
            Err(FetchFailure::Unauthorized(format!(
                "Label Studio refused to refresh the personal access token ({}): create a new \
                 one in Label Studio's Account & Settings",
                answer.status
            )))
        }
    }

    /// What to do with `answer` to a GET of `url`.
    fn follow(
        &self,
        url: &Url,
        answer: Answer,
        on_ls: bool,
        presign: bool,
    ) -> Result<Step, FetchFailure> {
        let shown_url = shown(url);
        if answer.status.is_redirection() {
            let next = answer.location.ok_or_else(|| {
                FetchFailure::Unavailable(format!("{shown_url}: a redirect without a Location"))
            })?;
            let origin = Origin::of(&next).ok_or_else(|| not_granted(&next))?;
            let to_ls = self
                .label_studio
                .as_ref()
                .is_some_and(|ls| ls.origin == origin);
            if to_ls && next.path().starts_with("/user/login") {
                return Err(FetchFailure::Unauthorized(format!(
                    "{shown_url}: Label Studio asks to log in: check the token \
                     (--label-studio-api-key, or the one /setup sent)"
                )));
            }
            // Label Studio's presign answer names the storage's presigned URL, wherever.
            let presigned = presign && on_ls;
            if !(to_ls || presigned || self.policy.grants(&origin)) {
                return Err(not_granted(&next));
            }
            return Ok(Step::Redirect(next));
        }
        let status = answer.status;
        if status.is_success() {
            return Ok(Step::Done(Fetched {
                bytes: answer.body,
                content_type: answer.content_type,
            }));
        }
        let who = if on_ls { "Label Studio" } else { "the server" };
        Err(match status {
            StatusCode::NOT_FOUND => {
                FetchFailure::NotFound(format!("{shown_url}: {who} has nothing there (404)"))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                FetchFailure::Unauthorized(format!(
                    "{shown_url}: {who} refused the credentials ({status}){}",
                    if on_ls {
                        ": check the token (--label-studio-api-key, or the one /setup sent)"
                    } else {
                        ""
                    }
                ))
            }
            _ => FetchFailure::Unavailable(format!("{shown_url}: {who} answered {status}")),
        })
    }
}

enum Step {
    Done(Fetched),
    Redirect(Url),
}

fn not_granted(url: &Url) -> FetchFailure {
    let origin = Origin::of(url).map_or_else(|| url.scheme().to_owned(), |o| o.to_string());
    FetchFailure::NotAllowed(format!(
        "{}: the model may not fetch from {origin}; grant it in the model's manifest \
         ([capabilities] fetch = [\"{}://{}\"])",
        shown(url),
        url.scheme(),
        url.host_str().unwrap_or_default()
    ))
}

/// Reads a local file; messages name the reference, not the host's path.
async fn read_local(
    reference: &str,
    path: &std::path::Path,
    limit: u64,
) -> Result<Fetched, FetchFailure> {
    let shown = reference;
    let meta = tokio::fs::metadata(path)
        .await
        .map_err(|e| FetchFailure::NotFound(format!("{shown}: {e}")))?;
    if meta.len() > limit {
        return Err(FetchFailure::TooLarge(format!(
            "{shown}: {} bytes, over the {limit} bytes left of this call's fetch budget",
            meta.len()
        )));
    }
    let bytes = tokio::fs::read(path)
        .await
        .map_err(|e| FetchFailure::Unavailable(format!("{shown}: {e}")))?;
    Ok(Fetched {
        bytes,
        content_type: content_type_of(path).map(str::to_owned),
    })
}

/// The content type a file's extension usually means, for files read from disk (a server
/// would have sent one).
fn content_type_of(path: &std::path::Path) -> Option<&'static str> {
    let extension = path.extension()?.to_str()?.to_ascii_lowercase();
    Some(match extension.as_str() {
        "txt" => "text/plain",
        "json" => "application/json",
        "html" | "htm" => "text/html",
        "csv" => "text/csv",
        "png" => "image/png",
        "jpg" | "jpeg" => "image/jpeg",
        "gif" => "image/gif",
        "webp" => "image/webp",
        "bmp" => "image/bmp",
        "tif" | "tiff" => "image/tiff",
        "wav" => "audio/wav",
        "mp3" => "audio/mpeg",
        "flac" => "audio/flac",
        "ogg" => "audio/ogg",
        "pdf" => "application/pdf",
        _ => return None,
    })
}

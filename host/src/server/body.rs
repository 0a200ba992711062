//! Reading request bodies: a size limit per body, a read timeout, and a byte budget shared
//! by all connections.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::BodyExt;
use hyper::body::Body;

use super::HttpSettings;
use crate::error::ApiError;

/// A client gets this long to send its whole body; Label Studio sends at LAN speed.
const BODY_READ_TIMEOUT: Duration = Duration::from_secs(60);
/// Bytes past the limit read and thrown away before answering 413: a client still sending
/// when the server closes the connection gets a reset instead of the answer. Beyond this, the
/// connection is closed anyway.
const OVERSIZE_DRAIN_BYTES: u64 = 16 << 20;

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

    /// The budget.
    pub fn limit(&self) -> usize {
        self.limit
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

/// A body read into memory, with its bytes reserved from the [`BodyBudget`].
pub(super) type HeldBody = (Bytes, Option<tokio::sync::OwnedSemaphorePermit>);

pub(super) async fn read_body<B>(body: B, http: &HttpSettings) -> Result<HeldBody, ApiError>
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

//! What one connection is doing, for the idle and stall deadlines that hyper lacks: hyper
//! closes an idle HTTP/1 keep-alive connection (its header timeout), but has no idle timer
//! for HTTP/2, so a client that sends the preface and a SETTINGS frame and goes quiet would
//! hold a connection slot forever; and neither protocol notices a client that stops reading
//! its answer.
//!
//! [`TrackedIo`] stamps every byte moved, [`RequestGuard`] counts the requests whose answer
//! is not yet fully handed to hyper, and [`Activity::verdict`] turns both into a decision
//! the connection's task acts on.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use hyper::body::{Body, Frame, SizeHint};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// A connection with no request in progress and no bytes moving for this long is closed
/// (gracefully: HTTP/2 clients get a GOAWAY). Matches hyper's HTTP/1 keep-alive timeout.
pub(super) const IDLE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection whose answer is ready but that has moved no byte for this long is a client
/// that stopped reading: it is dropped.
pub(super) const WRITE_STALL_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a connection asked to close gracefully may take before it is dropped.
pub(super) const CLOSE_GRACE: Duration = Duration::from_secs(5);

/// The shared counters of one connection.
#[derive(Debug)]
pub(super) struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` when a byte was last read or written.
    last_io_ms: AtomicU64,
    /// Requests received whose answer body hyper has not dropped yet.
    in_flight: AtomicUsize,
    /// Of those, the ones whose handler has answered: they wait only for the client to read.
    answered: AtomicUsize,
}

/// What the connection's task should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Verdict {
    /// Serving or within its deadlines.
    Keep,
    /// Idle past [`IDLE_TIMEOUT`]: ask it to close.
    Idle,
    /// An answer waits and nothing moved for [`WRITE_STALL_TIMEOUT`]: drop it.
    Stalled,
}

impl Activity {
    /// A connection opened now.
    pub(super) fn new() -> Arc<Self> {
        Arc::new(Self {
            opened: Instant::now(),
            last_io_ms: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            answered: AtomicUsize::new(0),
        })
    }

    fn touch(&self) {
        let ms = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last_io_ms.store(ms, Ordering::Relaxed);
    }

    /// How long no byte has moved, as of `now`.
    fn quiet_for(&self, now: Instant) -> Duration {
        let last = self.opened + Duration::from_millis(self.last_io_ms.load(Ordering::Relaxed));
        now.saturating_duration_since(last)
    }

    /// The decision for this connection as of `now`.
    pub(super) fn verdict(&self, now: Instant) -> Verdict {
        let quiet = self.quiet_for(now);
        if self.answered.load(Ordering::Relaxed) > 0 && quiet >= WRITE_STALL_TIMEOUT {
            Verdict::Stalled
        } else if self.in_flight.load(Ordering::Relaxed) == 0 && quiet >= IDLE_TIMEOUT {
            Verdict::Idle
        } else {
            Verdict::Keep
        }
    }
}

/// One request in progress on a connection; travels inside the answer's body so the
/// request counts until hyper has sent (or abandoned) the answer.
pub(super) struct RequestGuard {
    activity: Arc<Activity>,
    answered: bool,
}

impl RequestGuard {
    /// Counts a request that has just arrived.
    pub(super) fn new(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::Relaxed);
        Self {
            activity: activity.clone(),
            answered: false,
        }
    }

    /// The handler answered: from now on only the client can hold the request up.
    pub(super) fn answered(mut self) -> Self {
        self.activity.answered.fetch_add(1, Ordering::Relaxed);
        self.answered = true;
        self
    }
}

impl Drop for RequestGuard {
    fn drop(&mut self) {
        if self.answered {
            self.activity.answered.fetch_sub(1, Ordering::Relaxed);
        }
        self.activity.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An answer body that keeps its request counted until hyper drops it.
pub(super) struct GuardedBody<B> {
    inner: B,
    _guard: RequestGuard,
}

impl<B> GuardedBody<B> {
    /// `inner`, counted by `guard`.
    pub(super) fn new(inner: B, guard: RequestGuard) -> Self {
        Self {
            inner,
            _guard: guard,
        }
    }
}

impl<B: Body + Unpin> Body for GuardedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// A socket that records when bytes last moved in either direction.
pub(super) struct TrackedIo<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S> TrackedIo<S> {
    /// `inner`, reporting to `activity`.
    pub(super) fn new(inner: S, activity: Arc<Activity>) -> Self {
        activity.touch();
        Self { inner, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for TrackedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for TrackedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quiet_connection_without_requests_is_idle() {
        let activity = Activity::new();
        let now = Instant::now();
        assert_eq!(activity.verdict(now), Verdict::Keep);
        assert_eq!(activity.verdict(now + IDLE_TIMEOUT), Verdict::Idle);
    }

    #[test]
    fn a_request_being_computed_keeps_the_connection() {
        let activity = Activity::new();
        let guard = RequestGuard::new(&activity);
        let later = Instant::now() + IDLE_TIMEOUT * 10;
        assert_eq!(
            activity.verdict(later),
            Verdict::Keep,
            "the guest may be slow"
        );
        drop(guard);
        assert_eq!(activity.verdict(later), Verdict::Idle);
    }

    #[test]
    fn an_answer_the_client_does_not_read_stalls_the_connection() {
        let activity = Activity::new();
        let guard = RequestGuard::new(&activity).answered();
        let now = Instant::now();
        assert_eq!(activity.verdict(now), Verdict::Keep);
        assert_eq!(
            activity.verdict(now + WRITE_STALL_TIMEOUT),
            Verdict::Stalled
        );
        drop(guard);
        assert_eq!(activity.in_flight.load(Ordering::Relaxed), 0);
        assert_eq!(activity.answered.load(Ordering::Relaxed), 0);
    }
}

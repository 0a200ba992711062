//! Accepting connections: a cap on how many are open, a deadline for a new connection's
//! first bytes, hyper's header timeout after that, idle and stall deadlines for both
//! protocols (see `activity`), and a graceful shutdown.

use std::convert::Infallible;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::net::SocketAddr;

use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, watch};

use super::activity::{
    Activity, CLOSE_GRACE, GuardedBody, IDLE_TIMEOUT, RequestGuard, TrackedIo, Verdict,
    WRITE_STALL_TIMEOUT,
};
use super::{HttpSettings, handle};
use crate::app::App;

/// A client gets this long to send its first bytes, then again this long to finish its
/// request headers, and an idle keep-alive connection is closed after this long (hyper
/// times the wait for the next request with the same clock): the slowloris defence.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// How often a connection checks its idle and stall deadlines.
const DEADLINE_CHECK_EVERY: Duration = Duration::from_secs(1);
/// How often an HTTP/2 connection pings its peer, and how long the answer may take.
const H2_PING_EVERY: Duration = Duration::from_secs(20);
const H2_PING_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a shutdown waits for in-flight requests.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(30);
/// How often "all connection slots are taken" is logged while it lasts.
const FULL_WARNING_EVERY: Duration = Duration::from_secs(10);
/// What an HTTP/2 client sends first; a client that has sent only a prefix of it may still
/// be speaking HTTP/2.
const H2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// The cap on open connections. At the cap the listener stops accepting, so further
/// clients wait in the kernel's backlog instead of each costing the host memory and a file
/// descriptor; they are accepted as soon as a connection closes.
#[derive(Debug, Clone)]
pub struct ConnectionLimit {
    slots: Arc<Semaphore>,
    /// Accepted connections not yet closed (the acceptor also holds a slot while it waits).
    open: Arc<AtomicUsize>,
    limit: usize,
}

impl ConnectionLimit {
    /// At most `limit` connections open at once (at least one).
    pub fn new(limit: usize) -> Self {
        let limit = limit.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            slots: Arc::new(Semaphore::new(limit)),
            open: Arc::new(AtomicUsize::new(0)),
            limit,
        }
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::Relaxed)
    }

    /// The cap.
    pub fn limit(&self) -> usize {
        self.limit
    }
}

/// Serves `app` on `listener` until `shutdown` resolves, then lets in-flight requests
/// finish (up to a grace period).
pub async fn serve(
    listener: TcpListener,
    app: Arc<App>,
    http: HttpSettings,
    shutdown: impl std::future::Future<Output = ()>,
) {
    let http = Arc::new(http);
    // Changed (dropped) when the accept loop ends: connections waiting for their first
    // bytes close at once, serving ones close gracefully.
    let (accepting, accepting_rx) = watch::channel(());
    // Every connection task holds a sender; the last one gone means all have closed.
    let (open_tx, mut all_closed) = mpsc::channel::<()>(1);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_READ_TIMEOUT);
    // Pings find a vanished HTTP/2 peer while a long request computes; idle connections
    // are closed by the connection's own deadlines (see `activity`) long before a ping.
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(H2_PING_EVERY))
        .keep_alive_timeout(H2_PING_TIMEOUT);
    let builder = Arc::new(builder);
    let mut acceptor = Acceptor::new(listener, http.connections.clone());
    tokio::pin!(shutdown);
    loop {
        let (slot, stream, peer) = tokio::select! {
            accepted = acceptor.next() => match accepted {
                Some(accepted) => accepted,
                None => continue,
            },
            () = &mut shutdown => break,
        };
        let connection = Connection {
            stream,
            _slot: slot,
            shutdown: accepting_rx.clone(),
            _open: open_tx.clone(),
        };
        let (app, http, builder) = (app.clone(), http.clone(), builder.clone());
        tokio::spawn(async move { connection.serve(peer, app, http, &builder).await });
    }
    drop(accepting);
    drop(open_tx);
    tracing::info!("shutting down, waiting for in-flight requests");
    if tokio::time::timeout(SHUTDOWN_GRACE, all_closed.recv())
        .await
        .is_err()
    {
        tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}");
    }
}

/// One open connection's place under the cap, given back when dropped.
struct Slot {
    _permit: OwnedSemaphorePermit,
    open: Arc<AtomicUsize>,
}

impl Slot {
    fn taken(permit: OwnedSemaphorePermit, open: &Arc<AtomicUsize>) -> Self {
        open.fetch_add(1, Ordering::Relaxed);
        Self {
            _permit: permit,
            open: open.clone(),
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.open.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Accepts connections while a slot is free.
struct Acceptor {
    listener: TcpListener,
    connections: ConnectionLimit,
    warned_full: Option<Instant>,
}

impl Acceptor {
    fn new(listener: TcpListener, connections: ConnectionLimit) -> Self {
        Self {
            listener,
            connections,
            warned_full: None,
        }
    }

    /// The next connection with its slot; `None` after a failed accept (already logged).
    async fn next(&mut self) -> Option<(Slot, TcpStream, SocketAddr)> {
        let slots = &self.connections.slots;
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => slot,
            Err(_) => {
                if self
                    .warned_full
                    .is_none_or(|at| at.elapsed() >= FULL_WARNING_EVERY)
                {
                    tracing::warn!(
                        limit = self.connections.limit,
                        "all connection slots are taken; new clients wait until one closes \
                         (--max-connections)"
                    );
                    self.warned_full = Some(Instant::now());
                }
                // The semaphore is never closed, so this only waits.
                slots.clone().acquire_owned().await.ok()?
            }
        };
        match self.listener.accept().await {
            Ok((stream, peer)) => Some((Slot::taken(slot, &self.connections.open), stream, peer)),
            Err(err) => {
                // Out of file descriptors and the like: back off instead of spinning.
                tracing::warn!("accept failed: {err}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                None
            }
        }
    }
}

/// An accepted connection.
struct Connection {
    stream: TcpStream,
    /// Given back when the connection task ends.
    _slot: Slot,
    /// Changes when the host shuts down.
    shutdown: watch::Receiver<()>,
    /// Dropped when the connection closes (see [`serve`]).
    _open: mpsc::Sender<()>,
}

impl Connection {
    /// Serves the connection until it closes, the client idles or stalls past its
    /// deadline, or the host shuts down; the slot is given back when this returns.
    async fn serve(
        mut self,
        peer: SocketAddr,
        app: Arc<App>,
        http: Arc<HttpSettings>,
        builder: &auto::Builder<TokioExecutor>,
    ) {
        if !self.first_bytes(peer).await {
            return;
        }
        let activity = Activity::new();
        let service = hyper::service::service_fn({
            let activity = activity.clone();
            move |req| {
                let (app, http) = (app.clone(), http.clone());
                let guard = RequestGuard::new(&activity);
                async move {
                    let response = handle(&app, &http, req, peer).await;
                    let guard = guard.answered();
                    Ok::<_, Infallible>(response.map(|body| GuardedBody::new(body, guard)))
                }
            }
        });
        let io = TokioIo::new(TrackedIo::new(self.stream, activity.clone()));
        let conn = builder.serve_connection(io, service);
        tokio::pin!(conn);
        let mut check = tokio::time::interval(DEADLINE_CHECK_EVERY);
        check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        // Set once the connection was asked to close: it then has `CLOSE_GRACE` to do so.
        let mut closing: Option<Instant> = None;
        let mut shutting_down = false;
        loop {
            tokio::select! {
                served = conn.as_mut() => {
                    if let Err(err) = served {
                        tracing::debug!(%peer, "connection closed: {err}");
                    }
                    return;
                }
                _ = self.shutdown.changed(), if !shutting_down => {
                    shutting_down = true;
                    conn.as_mut().graceful_shutdown();
                    closing.get_or_insert_with(Instant::now);
                }
                _ = check.tick() => {
                    // A shutdown waits for in-flight requests on its own clock.
                    if !shutting_down && closing.is_some_and(|since| since.elapsed() >= CLOSE_GRACE) {
                        tracing::debug!(%peer, "connection did not close within {CLOSE_GRACE:?}: dropped");
                        return;
                    }
                    match activity.verdict(Instant::now()) {
                        Verdict::Keep => {}
                        Verdict::Idle => {
                            if closing.is_none() {
                                tracing::debug!(%peer, "idle for {IDLE_TIMEOUT:?}: closing");
                                conn.as_mut().graceful_shutdown();
                                closing = Some(Instant::now());
                            }
                        }
                        Verdict::Stalled => {
                            tracing::debug!(%peer, "the client has not read its answer for {WRITE_STALL_TIMEOUT:?}: dropped");
                            return;
                        }
                    }
                }
            }
        }
    }

    /// Waits for the client's first bytes: hyper's header timeout starts only once it has
    /// told HTTP/1 from HTTP/2, so without this a client that connects and sends nothing
    /// would hold its connection forever. False when the client is too slow or leaves, or
    /// the host shuts down.
    async fn first_bytes(&mut self, peer: SocketAddr) -> bool {
        let waited = tokio::select! {
            waited = tokio::time::timeout(HEADER_READ_TIMEOUT, protocol_known(&self.stream)) => waited,
            _ = self.shutdown.changed() => return false,
        };
        match waited {
            Ok(Ok(known)) => known,
            Ok(Err(err)) => {
                tracing::debug!(%peer, "connection failed before a request: {err}");
                false
            }
            Err(_) => {
                tracing::debug!(%peer, "no request within {HEADER_READ_TIMEOUT:?}: closed");
                false
            }
        }
    }
}

/// Waits until the bytes received tell HTTP/1 from HTTP/2 (without consuming them);
/// `false` when the client closed the connection first.
async fn protocol_known(stream: &TcpStream) -> std::io::Result<bool> {
    let mut head = [0u8; H2_PREFACE.len()];
    loop {
        let n = stream.peek(&mut head).await?;
        if n == 0 {
            return Ok(false);
        }
        if n == head.len() || head[..n] != H2_PREFACE[..n] {
            return Ok(true);
        }
        // Part of the HTTP/2 preface: `peek` answers at once while those bytes wait
        // unread, so look again shortly rather than spin.
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    /// A connected pair: (client, server side).
    async fn pair() -> (TcpStream, TcpStream) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let client = TcpStream::connect(listener.local_addr().expect("addr"))
            .await
            .expect("connect");
        let (server, _) = listener.accept().await.expect("accept");
        (client, server)
    }

    #[tokio::test]
    async fn one_byte_of_http1_is_enough() {
        let (mut client, server) = pair().await;
        client.write_all(b"G").await.expect("write");
        assert!(protocol_known(&server).await.expect("peek"));
        // Nothing was consumed: hyper reads the request from the start.
        let mut first = [0u8; 1];
        assert_eq!(server.peek(&mut first).await.expect("peek"), 1);
        assert_eq!(&first, b"G");
    }

    #[tokio::test]
    async fn a_split_http2_preface_is_waited_for() {
        let (mut client, server) = pair().await;
        client.write_all(&H2_PREFACE[..5]).await.expect("write");
        let waiting = tokio::spawn(async move { protocol_known(&server).await });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(!waiting.is_finished(), "decided on a prefix of the preface");
        client.write_all(&H2_PREFACE[5..]).await.expect("write");
        assert!(waiting.await.expect("join").expect("peek"));
    }

    #[tokio::test]
    async fn a_client_leaving_without_a_byte_is_not_served() {
        let (client, server) = pair().await;
        drop(client);
        assert!(!protocol_known(&server).await.expect("peek"));
    }

    #[test]
    fn the_cap_counts_open_connections() {
        let limit = ConnectionLimit::new(0);
        assert_eq!(limit.limit(), 1, "at least one");
        let permit = limit.slots.clone().try_acquire_owned().expect("free slot");
        assert_eq!(
            limit.open(),
            0,
            "a slot waiting for a client is not a connection"
        );
        let slot = Slot::taken(permit, &limit.open);
        assert_eq!(limit.open(), 1);
        assert!(limit.slots.clone().try_acquire_owned().is_err(), "full");
        drop(slot);
        assert_eq!(limit.open(), 0);
        assert!(
            limit.slots.clone().try_acquire_owned().is_ok(),
            "given back"
        );
    }
}

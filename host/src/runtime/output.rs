//! Captured guest stdout/stderr: kept in memory up to a cap, then written to the host's log.

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use wasmtime_wasi::cli::{IsTerminal, StdoutStream};
use wasmtime_wasi::p2::{OutputStream, Pollable, StreamResult};

/// One guest output stream (stdout or stderr) for one call.
///
/// Writes past the cap are accepted and dropped (counted), so a guest that floods its output
/// keeps running instead of failing on a closed stream; the host's log never grows by more
/// than the cap per call.
#[derive(Clone)]
pub struct CapturedOutput {
    inner: Arc<Mutex<Captured>>,
    cap: usize,
}

#[derive(Default)]
struct Captured {
    bytes: Vec<u8>,
    dropped: usize,
}

impl CapturedOutput {
    /// A stream that keeps at most `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            inner: Arc::default(),
            cap,
        }
    }

    /// Everything kept so far (lossy UTF-8) and the number of bytes dropped past the cap.
    pub fn take(&self) -> (String, usize) {
        let mut captured = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let text = String::from_utf8_lossy(&captured.bytes).into_owned();
        let dropped = captured.dropped;
        *captured = Captured::default();
        (text, dropped)
    }

    fn append(&self, bytes: &[u8]) {
        let mut captured = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let room = self.cap.saturating_sub(captured.bytes.len());
        let kept = bytes.len().min(room);
        captured.bytes.extend_from_slice(&bytes[..kept]);
        captured.dropped += bytes.len() - kept;
    }
}

/// What each `log` message costs besides its text: a message of a few bytes still makes a
/// whole log record, so a loop of empty messages must spend the budget too.
const LOG_RECORD_COST: usize = 64;

/// The budget of the guest `log` import for one call, in bytes of message text (plus
/// [`LOG_RECORD_COST`] per message), the same size as the stdout and stderr caps: messages
/// past it are dropped and counted, so a model looping on `log` cannot flood the host's log.
#[derive(Debug)]
pub struct LogBudget {
    remaining: usize,
    dropped_messages: usize,
    dropped_bytes: usize,
}

impl LogBudget {
    /// A budget of `cap` bytes.
    pub fn new(cap: usize) -> Self {
        Self {
            remaining: cap,
            dropped_messages: 0,
            dropped_bytes: 0,
        }
    }

    /// True when a message of `len` bytes fits (and spends it); otherwise counts it as
    /// dropped. Once one message is dropped, the rest of the call's are too, so the log
    /// never shows a later message without the earlier ones.
    pub fn admit(&mut self, len: usize) -> bool {
        let cost = len.saturating_add(LOG_RECORD_COST);
        if self.dropped_messages == 0 && cost <= self.remaining {
            self.remaining -= cost;
            true
        } else {
            self.dropped_messages += 1;
            self.dropped_bytes = self.dropped_bytes.saturating_add(len);
            false
        }
    }

    /// Messages and bytes of text dropped so far.
    pub fn dropped(&self) -> (usize, usize) {
        (self.dropped_messages, self.dropped_bytes)
    }
}

/// How many bytes a guest may hand over in one write.
const WRITE_PERMIT: usize = 64 * 1024;

#[wasmtime_wasi::async_trait]
impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: Bytes) -> StreamResult<()> {
        self.append(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(WRITE_PERMIT)
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        self.append(buf);
        std::task::Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        _cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        std::task::Poll::Ready(Ok(()))
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl StdoutStream for CapturedOutput {
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_budget_drops_and_counts_past_its_cap() {
        let mut budget = LogBudget::new(2 * (LOG_RECORD_COST + 10));
        assert!(budget.admit(10));
        assert!(budget.admit(10));
        assert!(!budget.admit(0), "even an empty message costs a record");
        assert!(!budget.admit(5));
        assert_eq!(budget.dropped(), (2, 5));
    }

    #[test]
    fn keeps_up_to_cap_and_counts_the_rest() {
        let out = CapturedOutput::new(4);
        out.append(b"hello");
        out.append(b"!!");
        assert_eq!(out.take(), ("hell".to_owned(), 3));
        assert_eq!(out.take(), (String::new(), 0));
    }
}

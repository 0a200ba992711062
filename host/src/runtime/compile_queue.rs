//! The order components compile in: one at a time, smallest first.
//!
//! wasmtime already spreads one component's functions over every core, so compiling two at
//! once only interleaves them: both are ready later than if each ran alone. At start-up a
//! folder may hold a 150 KB Rust model next to an 18 MB CPython one; compiled in parallel
//! the small one waits for the large one's minutes, compiled smallest first it serves in
//! under a second. Every model to load takes a [`Ticket`] with its size when it is known
//! (start-up takes them all before any load begins, so the order is the size order, not
//! the order the files were read in), and waits with [`Ticket::wait`] for its [`Turn`]. A
//! ticket dropped unused (a model found in the compile cache, or refused) leaves the queue.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::oneshot;

/// The compile queue, shared by every load.
#[derive(Debug, Default)]
pub struct CompileQueue {
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    /// A turn is out.
    busy: bool,
    next_seq: u64,
    /// Tickets by (size, arrival); `None` until its holder waits.
    tickets: BTreeMap<(usize, u64), Option<oneshot::Sender<()>>>,
}

impl State {
    /// Hands the turn to the smallest ticket, if it is waiting and no turn is out. A
    /// smaller ticket that is not waiting yet holds the others back: it will wait soon
    /// (or be dropped, which calls this again).
    fn grant(&mut self) {
        while !self.busy {
            let Some(mut entry) = self.tickets.first_entry() else {
                return;
            };
            let Some(waiter) = entry.get_mut().take() else {
                return;
            };
            entry.remove();
            // A waiter gone (its load cancelled) does not take the turn.
            self.busy = waiter.send(()).is_ok();
        }
    }
}

/// A place in the queue for a compile of `size` bytes.
#[derive(Debug)]
pub struct Ticket {
    queue: Arc<CompileQueue>,
    key: (usize, u64),
    done: bool,
}

/// The right to compile now; the next ticket's turn comes when it is dropped.
#[derive(Debug)]
pub struct Turn {
    queue: Arc<CompileQueue>,
}

impl CompileQueue {
    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A ticket for a component of `size` bytes.
    pub fn ticket(self: &Arc<Self>, size: usize) -> Ticket {
        let mut state = self.state();
        let key = (size, state.next_seq);
        state.next_seq += 1;
        state.tickets.insert(key, None);
        Ticket {
            queue: self.clone(),
            key,
            done: false,
        }
    }

    /// Tickets waiting or about to, for the log.
    pub fn queued(&self) -> usize {
        self.state().tickets.len()
    }
}

impl Ticket {
    /// Waits until every smaller ticket has compiled (or left) and no compile runs.
    pub async fn wait(mut self) -> Turn {
        let (tx, rx) = oneshot::channel();
        {
            let mut state = self.queue.state();
            if let Some(slot) = state.tickets.get_mut(&self.key) {
                *slot = Some(tx);
            }
            state.grant();
        }
        // From here the queue holds this ticket's sender; `Waiting` hands a turn granted
        // to a waiter that went away back to the queue.
        self.done = true;
        let mut waiting = Waiting {
            queue: self.queue.clone(),
            rx,
            taken: false,
        };
        // The sender is dropped unsent only with the queue itself.
        let _ = (&mut waiting.rx).await;
        waiting.taken = true;
        Turn {
            queue: self.queue.clone(),
        }
    }
}

/// A ticket's wait in progress.
struct Waiting {
    queue: Arc<CompileQueue>,
    rx: oneshot::Receiver<()>,
    taken: bool,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        if self.taken {
            return;
        }
        // Under the queue's lock, which `grant` holds: closed here, no turn can be granted
        // to this waiter after the check below.
        let mut state = self.queue.state();
        self.rx.close();
        if self.rx.try_recv().is_ok() {
            state.busy = false;
            state.grant();
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.done {
            let mut state = self.queue.state();
            state.tickets.remove(&self.key);
            state.grant();
        }
    }
}

impl Drop for Turn {
    fn drop(&mut self) {
        let mut state = self.queue.state();
        state.busy = false;
        state.grant();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    async fn soon<T>(future: impl std::future::Future<Output = T>) -> Option<T> {
        tokio::time::timeout(Duration::from_millis(100), future)
            .await
            .ok()
    }

    #[tokio::test]
    async fn the_smallest_waiting_ticket_goes_next() {
        let queue = Arc::new(CompileQueue::default());
        let first = soon(queue.ticket(500).wait()).await.expect("free queue");
        let large = queue.ticket(1000);
        let small = queue.ticket(10);
        let (order_tx, mut order) = tokio::sync::mpsc::unbounded_channel();
        for (ticket, size) in [(large, 1000), (small, 10)] {
            let order_tx = order_tx.clone();
            tokio::spawn(async move {
                let turn = ticket.wait().await;
                let _ = order_tx.send(size);
                tokio::time::sleep(Duration::from_millis(20)).await;
                drop(turn);
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(order.try_recv().is_err(), "a turn was out");
        drop(first);
        assert_eq!(soon(order.recv()).await.flatten(), Some(10));
        assert_eq!(soon(order.recv()).await.flatten(), Some(1000));
    }

    #[tokio::test]
    async fn a_smaller_ticket_not_yet_waiting_holds_larger_ones_until_it_leaves() {
        let queue = Arc::new(CompileQueue::default());
        let small = queue.ticket(10);
        let large = queue.ticket(1000);
        let waiting = tokio::spawn(large.wait());
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert!(!waiting.is_finished(), "the larger one went first");
        // Found in the compile cache: the small model leaves without compiling.
        drop(small);
        let turn = soon(waiting).await.expect("granted").expect("task");
        assert_eq!(queue.queued(), 0);
        drop(turn);
        // A cancelled waiter is skipped.
        let busy = soon(queue.ticket(1).wait()).await.expect("free");
        let cancelled = tokio::spawn(queue.ticket(2).wait());
        tokio::time::sleep(Duration::from_millis(20)).await;
        cancelled.abort();
        let _ = cancelled.await;
        let later = queue.ticket(3);
        drop(busy);
        assert!(soon(later.wait()).await.is_some(), "the queue stalled");
    }
}

//! Group commit for the redb store: one writer thread takes every batch waiting to be
//! committed and writes them in one transaction with one fsync, then acknowledges each.
//!
//! A commit costs one fsync whatever it holds, so under concurrent webhooks the batches that
//! arrive while one commit is on disk share the next. Each batch is still all-or-nothing and
//! acknowledged only once durable: the group is one transaction, and if it fails every batch
//! of it is committed again on its own, so one batch's failure is never another's.

use std::sync::Arc;
use std::sync::mpsc::{Receiver, Sender, TryRecvError};
use std::thread::JoinHandle;

use redb::{Database, WriteTransaction};

use super::{Batch, StoreFailure};

/// Most batches written in one transaction: bounds the latency of the last one in a group.
const MAX_GROUP: usize = 256;

/// A batch waiting for the writer, with where to send its outcome.
struct Pending {
    batch: Batch,
    done: tokio::sync::oneshot::Sender<Result<(), StoreFailure>>,
}

/// The writer thread of one database; stopped and joined when dropped, so the database is
/// closed once the store is.
pub(super) struct GroupCommitter {
    queue: Option<Sender<Pending>>,
    thread: Option<JoinHandle<()>>,
}

/// Writes one batch into `txn`.
pub(super) type ApplyBatch = fn(&WriteTransaction, &Batch) -> Result<(), StoreFailure>;

impl GroupCommitter {
    /// Starts the writer of `db`; `apply` writes one batch into a transaction.
    pub(super) fn start(db: Arc<Database>, apply: ApplyBatch) -> Result<Self, StoreFailure> {
        let (queue, pending) = std::sync::mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("wasml-store-writer".into())
            .spawn(move || write_loop(&db, &pending, apply))
            .map_err(|e| {
                StoreFailure::Unavailable(format!("cannot start the store writer: {e}"))
            })?;
        Ok(Self {
            queue: Some(queue),
            thread: Some(thread),
        })
    }

    /// Commits `batch` durably, together with whatever else is waiting.
    pub(super) async fn commit(&self, batch: Batch) -> Result<(), StoreFailure> {
        let (done, outcome) = tokio::sync::oneshot::channel();
        let stopped = || StoreFailure::Unavailable("the store writer has stopped".into());
        self.queue
            .as_ref()
            .ok_or_else(stopped)?
            .send(Pending { batch, done })
            .map_err(|_| stopped())?;
        outcome.await.map_err(|_| stopped())?
    }
}

impl Drop for GroupCommitter {
    fn drop(&mut self) {
        // Closing the queue ends the loop once what was sent is written.
        drop(self.queue.take());
        if let Some(thread) = self.thread.take()
            && thread.join().is_err()
        {
            tracing::error!("the store writer panicked");
        }
    }
}

fn write_loop(db: &Database, pending: &Receiver<Pending>, apply: ApplyBatch) {
    while let Ok(first) = pending.recv() {
        let mut group = vec![first];
        while group.len() < MAX_GROUP {
            match pending.try_recv() {
                Ok(next) => group.push(next),
                Err(TryRecvError::Empty | TryRecvError::Disconnected) => break,
            }
        }
        let batches: Vec<&Batch> = group.iter().map(|p| &p.batch).collect();
        match commit_all(db, &batches, apply) {
            Ok(()) => {
                for Pending { done, .. } in group {
                    // A caller that stopped waiting lost nothing: its batch is durable.
                    let _ = done.send(Ok(()));
                }
            }
            Err(_) if group.len() > 1 => {
                for Pending { batch, done } in group {
                    let _ = done.send(commit_all(db, &[&batch], apply));
                }
            }
            Err(failure) => {
                for Pending { done, .. } in group {
                    let _ = done.send(Err(failure.clone()));
                }
            }
        }
    }
}

/// Writes `batches` in one transaction and commits it (immediate durability: fsync).
fn commit_all(db: &Database, batches: &[&Batch], apply: ApplyBatch) -> Result<(), StoreFailure> {
    let unavailable = |e: &dyn std::fmt::Display| StoreFailure::Unavailable(e.to_string());
    let txn = db.begin_write().map_err(|e| unavailable(&e))?;
    for batch in batches {
        // Dropping an uncommitted transaction aborts it: an error here loses nothing.
        apply(&txn, batch)?;
    }
    txn.commit().map_err(|e| unavailable(&e))
}

//! Training jobs: webhook events become durable jobs that run a model's `fit` in the
//! background, one at a time per (model, project), so the webhook answers within Label
//! Studio's 1 s timeout however long training takes.
//!
//! A job is written to the store before the webhook is acknowledged and is marked done in the
//! same transaction that commits what `fit` wrote, so after a crash every unfinished job runs
//! again exactly once more and none is lost. Events arriving while a job waits are merged
//! into it when they describe the same thing (see [`record::coalesce_key`]).

mod record;

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::sync::{Mutex, Semaphore, watch};

pub use record::{JobOutcome, JobRecord, JobState, coalesce_key, now};

use crate::store::{Batch, HostTable, ModelStore, StoreFailure};

/// Finished jobs kept for status queries; older ones are forgotten in batches of
/// [`PRUNE_BATCH`].
pub const MAX_FINISHED_JOBS: usize = 1000;
const PRUNE_BATCH: usize = 100;

/// (model, project): the unit of serialisation.
pub type JobKey = (String, String);

/// Runs one job's `fit`. Implemented by the application.
#[async_trait::async_trait]
pub trait FitRunner: Send + Sync + 'static {
    /// Runs `job`. When the outcome is [`Finished::persisted`], the runner has already
    /// committed the finished record (with the job's writes).
    async fn run(&self, job: JobRecord) -> Finished;
}

/// What a runner reports.
pub struct Finished {
    /// How the job ended.
    pub outcome: JobOutcome,
    /// True when the finished record is already in the store.
    pub persisted: bool,
}

/// The answer to a submission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Submitted {
    /// The job that will carry the event.
    pub id: u64,
    /// True when the event was merged into a job that was already waiting.
    pub coalesced: bool,
    /// True when the caller must start a worker for this (model, project).
    pub start_worker: bool,
    /// True when the job is first in line: nothing was running or waiting in its queue, so
    /// it may well finish within the webhook's wait. Otherwise waiting is pointless.
    pub first_in_line: bool,
}

#[derive(Default)]
struct Queue {
    pending: VecDeque<u64>,
    /// The job whose `fit` is running.
    running: Option<u64>,
    /// A worker task is draining this queue.
    has_worker: bool,
}

#[derive(Default)]
struct State {
    next_id: u64,
    records: BTreeMap<u64, JobRecord>,
    /// Coalescing keys of pending jobs.
    merge_keys: HashMap<u64, String>,
    queues: HashMap<JobKey, Queue>,
    watchers: HashMap<u64, watch::Sender<JobState>>,
}

/// Every job of the host.
pub struct Jobs {
    store: Arc<dyn ModelStore>,
    state: Mutex<State>,
    /// Bounds how many `fit` calls run at once across all projects.
    fit_slots: Arc<Semaphore>,
}

impl Jobs {
    /// Loads the jobs table: finished jobs for status queries, unfinished ones queued again
    /// (their writes were never committed). Returns the queues that need a worker.
    pub async fn load(
        store: Arc<dyn ModelStore>,
        max_concurrent_fits: usize,
    ) -> Result<(Self, Vec<JobKey>), StoreFailure> {
        let mut state = State {
            next_id: 1,
            ..State::default()
        };
        for (key, value) in store.host_records(HostTable::Jobs).await? {
            match serde_json::from_slice::<JobRecord>(&value) {
                Ok(record) => {
                    state.next_id = state.next_id.max(record.id + 1);
                    state.records.insert(record.id, record);
                }
                Err(err) => tracing::warn!(key, "skipping an unreadable job record: {err}"),
            }
        }
        let mut restart = Vec::new();
        for record in state.records.values_mut() {
            if record.state.is_finished() {
                continue;
            }
            record.state = JobState::Queued;
            record.started_at = None;
            let key = (record.model.clone(), record.project.clone());
            let queue = state.queues.entry(key.clone()).or_default();
            queue.pending.push_back(record.id);
            if !queue.has_worker {
                queue.has_worker = true;
                restart.push(key);
            }
            state
                .watchers
                .insert(record.id, watch::channel(JobState::Queued).0);
        }
        if !restart.is_empty() {
            tracing::info!(queues = restart.len(), "resuming unfinished training jobs");
        }
        let jobs = Self {
            store,
            state: Mutex::new(state),
            fit_slots: Arc::new(Semaphore::new(max_concurrent_fits.max(1))),
        };
        let pruned = jobs.state.lock().await.prune(MAX_FINISHED_JOBS);
        jobs.forget(pruned).await;
        Ok((jobs, restart))
    }

    /// Records an event as a job, durably, before it is acknowledged. An event that
    /// describes the same thing as a job still waiting in this (model, project)'s queue
    /// replaces that job's payload instead.
    pub async fn submit(
        &self,
        key: &JobKey,
        event: &str,
        payload: String,
        annotation: Option<&Value>,
        label_config: Option<String>,
    ) -> Result<Submitted, StoreFailure> {
        let mut state = self.state.lock().await;
        let merge_key = coalesce_key(event, annotation);
        let waiting = merge_key.as_ref().and_then(|k| state.waiting_with(key, k));
        if let Some(mut record) = waiting.and_then(|id| state.records.get(&id).cloned()) {
            record.payload = Some(payload);
            record.label_config = label_config.or(record.label_config);
            record.coalesced_events += 1;
            self.persist(&record).await?;
            let id = record.id;
            state.records.insert(id, record);
            return Ok(Submitted {
                id,
                coalesced: true,
                start_worker: false,
                first_in_line: false,
            });
        }
        // Hosts sharing a store number jobs from one counter, or their records would clash.
        let id = self.store.next_job_id(state.next_id).await?;
        let record = JobRecord::queued(id, key, event, payload, label_config);
        self.persist(&record).await?;
        state.next_id = state.next_id.max(id + 1);
        state.records.insert(id, record);
        state
            .watchers
            .insert(id, watch::channel(JobState::Queued).0);
        if let Some(merge_key) = merge_key {
            state.merge_keys.insert(id, merge_key);
        }
        let queue = state.queues.entry(key.clone()).or_default();
        let first_in_line = queue.pending.is_empty() && queue.running.is_none();
        queue.pending.push_back(id);
        let start_worker = !queue.has_worker;
        queue.has_worker = true;
        Ok(Submitted {
            id,
            coalesced: false,
            start_worker,
            first_in_line,
        })
    }

    /// Starts the task that drains `key`'s queue; call it when [`Submitted::start_worker`]
    /// (or [`Jobs::load`]) says so.
    pub fn spawn_worker(self: &Arc<Self>, key: JobKey, runner: Arc<dyn FitRunner>) {
        let jobs = self.clone();
        tokio::spawn(async move { jobs.drain(key, runner).await });
    }

    async fn drain(&self, key: JobKey, runner: Arc<dyn FitRunner>) {
        loop {
            // Only this task pops from this queue, so waiting for a slot between peeking and
            // popping is safe; the job may still absorb events meanwhile.
            let Ok(permit) = self.fit_slots.clone().acquire_owned().await else {
                return;
            };
            let Some(job) = self.state.lock().await.start_next(&key) else {
                return;
            };
            let id = job.id;
            // A separate task: a panic in the runner fails this job, not the queue.
            let finished = match tokio::spawn({
                let runner = runner.clone();
                async move { runner.run(job).await }
            })
            .await
            {
                Ok(finished) => finished,
                Err(err) => Finished {
                    outcome: JobOutcome::Failed(json!({
                        "status": 500,
                        "error": "internal error",
                        "detail": format!("the training task failed: {err}"),
                    })),
                    persisted: false,
                },
            };
            drop(permit);
            self.complete(&key, id, finished).await;
        }
    }

    async fn complete(&self, key: &JobKey, id: u64, finished: Finished) {
        let (record, pruned) = {
            let mut state = self.state.lock().await;
            if let Some(queue) = state.queues.get_mut(key) {
                queue.running = None;
            }
            let Some(record) = state
                .records
                .get(&id)
                .map(|r| r.finished(&finished.outcome))
            else {
                return;
            };
            state.records.insert(id, record.clone());
            if let Some(watcher) = state.watchers.remove(&id) {
                watcher.send_replace(record.state);
            }
            (record, state.prune(MAX_FINISHED_JOBS + PRUNE_BATCH))
        };
        if !finished.persisted
            && let Err(err) = self.persist(&record).await
        {
            // The job will run again after a restart; its writes were not committed.
            tracing::error!(job = id, "cannot record the end of a training job: {err}");
        }
        self.forget(pruned).await;
    }

    async fn forget(&self, ids: Vec<u64>) {
        if ids.is_empty() {
            return;
        }
        let mut batch = Batch::default();
        for id in ids {
            batch = batch.with_host(HostTable::Jobs, JobRecord::key(id), None);
        }
        if let Err(err) = self.store.commit(batch).await {
            tracing::warn!("cannot prune old training jobs: {err}");
        }
    }

    async fn persist(&self, record: &JobRecord) -> Result<(), StoreFailure> {
        self.store
            .commit(Batch::host(
                HostTable::Jobs,
                JobRecord::key(record.id),
                Some(record.encode()),
            ))
            .await
    }

    /// Waits up to `timeout` for job `id` to finish; returns its record either way.
    pub async fn wait(&self, id: u64, timeout: Duration) -> Option<JobRecord> {
        let watcher = {
            let state = self.state.lock().await;
            state.watchers.get(&id).map(watch::Sender::subscribe)
        };
        if let Some(mut watcher) = watcher {
            // Err: timed out, or the job finished and its sender is gone; both fine.
            let _ = tokio::time::timeout(timeout, watcher.wait_for(|s| s.is_finished())).await;
        }
        self.get(id).await
    }

    /// Job `id`.
    pub async fn get(&self, id: u64) -> Option<JobRecord> {
        if let Some(record) = self.state.lock().await.records.get(&id).cloned() {
            return Some(record);
        }
        // With a shared store, the job may belong to another host: its record is there.
        self.shared_record(id).await.ok().flatten()
    }

    /// Job `id` as the store holds it, when other hosts share the store (they may have run
    /// or changed it); `None` when this host owns the store or the record is gone.
    pub async fn shared_record(&self, id: u64) -> Result<Option<JobRecord>, StoreFailure> {
        if !self.store.shared() {
            return Ok(None);
        }
        let stored = self
            .store
            .host_record(HostTable::Jobs, &JobRecord::key(id))
            .await?;
        Ok(stored.and_then(|bytes| serde_json::from_slice(&bytes).ok()))
    }

    /// The newest `limit` jobs of `model`, newest first.
    pub async fn list(&self, model: &str, limit: usize) -> Vec<JobRecord> {
        self.state
            .lock()
            .await
            .records
            .values()
            .rev()
            .filter(|r| r.model == model)
            .take(limit)
            .cloned()
            .collect()
    }
}

impl State {
    /// The waiting job of `key`'s queue that an event with `merge_key` may merge into.
    fn waiting_with(&self, key: &JobKey, merge_key: &str) -> Option<u64> {
        let queue = self.queues.get(key)?;
        queue
            .pending
            .iter()
            .copied()
            .find(|id| self.merge_keys.get(id).is_some_and(|k| k == merge_key))
    }

    /// Pops the next job of `key` and marks it running; when the queue is empty, retires
    /// its worker (under the same lock as [`Jobs::submit`], so no event is stranded).
    fn start_next(&mut self, key: &JobKey) -> Option<JobRecord> {
        loop {
            let queue = self.queues.get_mut(key)?;
            let Some(id) = queue.pending.pop_front() else {
                self.queues.remove(key);
                return None;
            };
            self.merge_keys.remove(&id);
            let Some(record) = self.records.get_mut(&id) else {
                continue;
            };
            queue.running = Some(id);
            record.state = JobState::Running;
            record.started_at = Some(now());
            if let Some(watcher) = self.watchers.get(&id) {
                watcher.send_replace(JobState::Running);
            }
            return Some(record.clone());
        }
    }

    /// Forgets the oldest finished jobs once more than `threshold` are kept.
    fn prune(&mut self, threshold: usize) -> Vec<u64> {
        let finished: Vec<u64> = self
            .records
            .values()
            .filter(|r| r.state.is_finished())
            .map(|r| r.id)
            .collect();
        if finished.len() <= threshold {
            return Vec::new();
        }
        let excess = finished.len() - MAX_FINISHED_JOBS;
        let pruned: Vec<u64> = finished.into_iter().take(excess).collect();
        for id in &pruned {
            self.records.remove(id);
        }
        pruned
    }
}

#[cfg(test)]
mod tests;

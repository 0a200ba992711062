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

use serde_json::Value;
use tokio::sync::{Mutex, OwnedSemaphorePermit, Semaphore, watch};
use tracing::Instrument;

pub use record::{JobOutcome, JobRecord, JobState, coalesce_key, now};

use crate::error::ErrorBody;
use crate::identity::ProjectKey;
use crate::store::{Batch, HostTable, ModelStore, StoreFailure};

/// Finished jobs kept for status queries; older ones are forgotten in batches of
/// [`PRUNE_BATCH`].
pub const MAX_FINISHED_JOBS: usize = 1000;
const PRUNE_BATCH: usize = 100;

/// (model, project): the unit of serialisation.
pub type JobKey = ProjectKey;

/// Runs one job's `fit`. Implemented by the application.
#[async_trait::async_trait]
pub trait FitRunner: Send + Sync + 'static {
    /// Runs `job`, taking one of `slots` only once the job can actually run (its model has
    /// loaded, its lock across hosts is held), so jobs waiting for those never keep other
    /// projects from training. When the outcome is [`Finished::persisted`], the runner has
    /// already committed the finished record (with the job's writes).
    async fn run(&self, job: JobRecord, slots: FitSlots) -> Finished;
}

/// The `--max-concurrent-fits` slots shared by every queue of the host.
#[derive(Clone)]
pub struct FitSlots(Arc<Semaphore>);

impl FitSlots {
    /// `n` slots (at least one).
    fn new(n: usize) -> Self {
        Self(Arc::new(Semaphore::new(n.max(1))))
    }

    /// Waits for a free slot, held until the permit drops. `None` only if the slots were
    /// closed, which the host never does.
    pub async fn take(&self) -> Option<OwnedSemaphorePermit> {
        self.0.clone().acquire_owned().await.ok()
    }

    /// Slots free now.
    pub fn free(&self) -> usize {
        self.0.available_permits()
    }
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

struct State {
    next_id: u64,
    /// Finished jobs kept for status queries ([`MAX_FINISHED_JOBS`]; smaller in tests).
    keep_finished: usize,
    records: BTreeMap<u64, JobRecord>,
    /// Coalescing keys of pending jobs.
    merge_keys: HashMap<u64, String>,
    queues: HashMap<JobKey, Queue>,
    watchers: HashMap<u64, watch::Sender<JobState>>,
}

impl Default for State {
    fn default() -> Self {
        Self {
            next_id: 1,
            keep_finished: MAX_FINISHED_JOBS,
            records: BTreeMap::new(),
            merge_keys: HashMap::new(),
            queues: HashMap::new(),
            watchers: HashMap::new(),
        }
    }
}

/// Every job of the host.
pub struct Jobs {
    store: Arc<dyn ModelStore>,
    /// Held only for in-memory changes, never across store I/O: every webhook of every
    /// model goes through it.
    state: Mutex<State>,
    /// One per (model, project) with a submission in progress: submissions of one project
    /// enter its queue in arrival order, each doing its store I/O outside `state`.
    submitting: std::sync::Mutex<HashMap<JobKey, Arc<Mutex<()>>>>,
    /// Bounds how many `fit` calls run at once across all projects.
    fit_slots: FitSlots,
}

impl Jobs {
    /// Loads the jobs table: finished jobs for status queries, unfinished ones queued again
    /// (their writes were never committed). Returns the queues that need a worker.
    pub async fn load(
        store: Arc<dyn ModelStore>,
        max_concurrent_fits: usize,
    ) -> Result<(Self, Vec<JobKey>), StoreFailure> {
        let mut state = State::default();
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
            let key = record.project_key();
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
            submitting: Default::default(),
            fit_slots: FitSlots::new(max_concurrent_fits),
        };
        let pruned = jobs.state.lock().await.prune(0);
        jobs.forget(pruned).await;
        Ok((jobs, restart))
    }

    /// Records an event as a job, durably, before it is acknowledged. An event that
    /// describes the same thing as a job still waiting in this (model, project)'s queue
    /// replaces that job's payload instead.
    ///
    /// The store I/O (a job id from a shared counter, an fsync or a Redis round trip) runs
    /// outside the host-wide state lock: only submissions to the same (model, project) wait
    /// for each other.
    pub async fn submit(
        &self,
        key: &JobKey,
        event: &str,
        payload: String,
        annotation: Option<&Value>,
        label_config: Option<String>,
    ) -> Result<Submitted, StoreFailure> {
        let turn = self.submit_turn(key);
        let _turn = turn.lock().await;
        let merge_key = coalesce_key(event, annotation);
        let merged = match &merge_key {
            Some(merge_key) => {
                self.merge(key, merge_key, &payload, label_config.as_deref())
                    .await?
            }
            None => None,
        };
        let submitted = match merged {
            Some(submitted) => submitted,
            None => {
                self.enqueue(key, event, payload, label_config, merge_key)
                    .await?
            }
        };
        drop(_turn);
        self.retire_turn(key, turn);
        Ok(submitted)
    }

    /// The lock that orders submissions to `key`.
    fn submit_turn(&self, key: &JobKey) -> Arc<Mutex<()>> {
        let mut turns = self.submitting.lock().unwrap_or_else(|e| e.into_inner());
        turns.entry(key.clone()).or_default().clone()
    }

    /// Forgets `key`'s submission lock when no other submission holds or waits for it.
    fn retire_turn(&self, key: &JobKey, turn: Arc<Mutex<()>>) {
        let mut turns = self.submitting.lock().unwrap_or_else(|e| e.into_inner());
        // Ours and the map's: nobody else has it.
        if Arc::strong_count(&turn) == 2 {
            turns.remove(key);
        }
    }

    /// Merges the event into the job of `key` still waiting with `merge_key`, if any; `None`
    /// when there is none (or it started meanwhile): the event then needs a job of its own.
    async fn merge(
        &self,
        key: &JobKey,
        merge_key: &str,
        payload: &str,
        label_config: Option<&str>,
    ) -> Result<Option<Submitted>, StoreFailure> {
        let waiting = {
            let state = self.state.lock().await;
            state
                .waiting_with(key, merge_key)
                .and_then(|id| state.records.get(&id).cloned())
        };
        let Some(mut record) = waiting else {
            return Ok(None);
        };
        record.payload = Some(payload.to_owned());
        record.label_config = label_config.map(str::to_owned).or(record.label_config);
        record.coalesced_events += 1;
        self.persist(&record).await?;
        let mut state = self.state.lock().await;
        // Its worker may have started it while the record was written: the running job has
        // the old payload, so this event gets a job of its own (the running job's end
        // rewrites its stored record).
        if state.waiting_with(key, merge_key) != Some(record.id) {
            return Ok(None);
        }
        let id = record.id;
        state.records.insert(id, record);
        Ok(Some(Submitted {
            id,
            coalesced: true,
            start_worker: false,
            first_in_line: false,
        }))
    }

    /// A new job for the event, written to the store, then queued.
    async fn enqueue(
        &self,
        key: &JobKey,
        event: &str,
        payload: String,
        label_config: Option<String>,
        merge_key: Option<String>,
    ) -> Result<Submitted, StoreFailure> {
        // Reserved under the lock so concurrent submissions never share an id.
        let local_next = {
            let mut state = self.state.lock().await;
            let next = state.next_id;
            state.next_id += 1;
            next
        };
        // Hosts sharing a store number jobs from one counter, or their records would clash.
        let id = self.store.next_job_id(local_next).await?;
        let record = JobRecord::queued(id, key, event, payload, label_config);
        self.persist(&record).await?;
        let mut state = self.state.lock().await;
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
            let Some(job) = self.state.lock().await.start_next(&key) else {
                return;
            };
            let id = job.id;
            // Everything the job logs (the host's lines, the guest's log and stdout) carries
            // its id, model and project.
            let span = tracing::info_span!(
                "job",
                id,
                model = %key.model,
                project = %key.project
            );
            // A separate task: a panic in the runner fails this job, not the queue.
            let finished = match tokio::spawn({
                let (runner, slots) = (runner.clone(), self.fit_slots.clone());
                async move { runner.run(job, slots).await }.instrument(span)
            })
            .await
            {
                Ok(finished) => finished,
                Err(err) => {
                    tracing::error!(job = id, "the training task failed: {err}");
                    Finished {
                        outcome: JobOutcome::Failed(ErrorBody {
                            status: 500,
                            error: "internal error".into(),
                            detail: "the training task failed; the host logged the cause".into(),
                            model: Some(key.model.clone()),
                            request_id: None,
                        }),
                        persisted: false,
                    }
                }
            };
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
            let outcome = match &finished.outcome {
                JobOutcome::Done { trained: true, .. } => "trained",
                JobOutcome::Done { trained: false, .. } => "unchanged",
                JobOutcome::Failed(_) => "failed",
            };
            let ran = record
                .started_at
                .zip(record.finished_at)
                .map(|(start, end)| Duration::from_secs_f64((end - start).max(0.0)));
            crate::metrics::global().record_fit_job(&key.model, outcome, ran);
            if let Some(watcher) = state.watchers.remove(&id) {
                watcher.send_replace(record.state);
            }
            (record, state.prune(PRUNE_BATCH))
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

    /// Per model: jobs waiting in its queues and jobs running, for the metrics.
    pub async fn depths(&self) -> HashMap<String, (u64, u64)> {
        let state = self.state.lock().await;
        let mut depths: HashMap<String, (u64, u64)> = HashMap::new();
        for (key, queue) in &state.queues {
            let depth = depths.entry(key.model.clone()).or_default();
            depth.0 += queue.pending.len() as u64;
            depth.1 += u64::from(queue.running.is_some());
        }
        depths
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

    /// Forgets the oldest finished jobs, down to `keep_finished`, once more than
    /// `keep_finished + slack` are kept (pruning in batches of `slack` saves store writes).
    /// Returns the forgotten ids.
    fn prune(&mut self, slack: usize) -> Vec<u64> {
        let finished: Vec<u64> = self
            .records
            .values()
            .filter(|r| r.state.is_finished())
            .map(|r| r.id)
            .collect();
        if finished.len() <= self.keep_finished.saturating_add(slack) {
            return Vec::new();
        }
        // More than `keep_finished` are kept here, so this cannot underflow.
        let excess = finished.len() - self.keep_finished;
        let pruned: Vec<u64> = finished.into_iter().take(excess).collect();
        for id in &pruned {
            self.records.remove(id);
        }
        pruned
    }
}

#[cfg(test)]
mod tests;

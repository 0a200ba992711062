//! The job queue with a scripted runner (no WebAssembly involved).

use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::json;
use tokio::sync::Notify;

use super::*;
use crate::store::MemoryStore;

/// Records what it ran; the first job can be held until released.
#[derive(Default)]
struct ScriptedRunner {
    seen: StdMutex<Vec<(u64, String, Option<String>)>>,
    running: AtomicUsize,
    max_running: AtomicUsize,
    hold_first: Option<Arc<Notify>>,
    started: Notify,
}

#[async_trait::async_trait]
impl FitRunner for ScriptedRunner {
    async fn run(&self, job: JobRecord, slots: FitSlots) -> Finished {
        let _slot = slots.take().await;
        let now_running = self.running.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_running.fetch_max(now_running, Ordering::SeqCst);
        let first = {
            let mut seen = self.seen.lock().expect("lock");
            seen.push((job.id, job.event.clone(), job.payload.clone()));
            seen.len() == 1
        };
        self.started.notify_one();
        if first && let Some(hold) = &self.hold_first {
            hold.notified().await;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
        self.running.fetch_sub(1, Ordering::SeqCst);
        if job.payload.as_deref() == Some("panic") {
            panic!("scripted panic");
        }
        Finished {
            outcome: JobOutcome::Done {
                result: json!({"ran": job.id}),
                trained: true,
                model_version: "v".into(),
            },
            persisted: false,
        }
    }
}

fn key() -> JobKey {
    ProjectKey::new("m", "1")
}

async fn submit(jobs: &Arc<Jobs>, runner: &Arc<ScriptedRunner>, event: &str, payload: &str) -> u64 {
    let json: Value = serde_json::from_str(payload).unwrap_or(Value::Null);
    let submitted = jobs
        .submit(&key(), event, payload.into(), json.get("annotation"), None)
        .await
        .expect("submit");
    if submitted.start_worker {
        jobs.spawn_worker(key(), runner.clone());
    }
    submitted.id
}

/// Submits `event` with an empty payload, without starting a worker.
async fn enqueue(jobs: &Jobs, event: &str) -> Submitted {
    jobs.submit(&key(), event, "{}".into(), None, None)
        .await
        .expect("submit")
}

async fn new_jobs(store: Arc<dyn ModelStore>) -> Arc<Jobs> {
    let (jobs, restart) = Jobs::load(store, 4).await.expect("load");
    assert!(restart.is_empty());
    Arc::new(jobs)
}

#[tokio::test]
async fn one_fit_at_a_time_per_project_and_none_lost() {
    let jobs = new_jobs(Arc::new(MemoryStore::default())).await;
    let runner = Arc::new(ScriptedRunner::default());
    let mut ids = Vec::new();
    for i in 0..20 {
        let payload = format!(r#"{{"annotations": [{{"id": {i}}}]}}"#);
        ids.push(submit(&jobs, &runner, "ANNOTATIONS_DELETED", &payload).await);
    }
    for id in &ids {
        let record = jobs.wait(*id, Duration::from_secs(10)).await.expect("job");
        assert_eq!(record.state, JobState::Done, "{record:?}");
        assert_eq!(record.result, Some(json!({"ran": id})));
        assert_eq!(record.payload, None, "payloads are dropped once done");
    }
    assert_eq!(runner.max_running.load(Ordering::SeqCst), 1);
    let seen: Vec<u64> = runner
        .seen
        .lock()
        .expect("lock")
        .iter()
        .map(|s| s.0)
        .collect();
    assert_eq!(seen, ids, "every event ran once, in order");
}

#[tokio::test]
async fn events_for_a_waiting_annotation_are_merged() {
    let jobs = new_jobs(Arc::new(MemoryStore::default())).await;
    let hold = Arc::new(Notify::new());
    let runner = Arc::new(ScriptedRunner {
        hold_first: Some(hold.clone()),
        ..ScriptedRunner::default()
    });
    let first = submit(&jobs, &runner, "START_TRAINING", "{}").await;
    runner.started.notified().await;
    let created = r#"{"annotation": {"id": 7, "v": 1}}"#;
    let updated = r#"{"annotation": {"id": 7, "v": 2}}"#;
    let a = submit(&jobs, &runner, "ANNOTATION_CREATED", created).await;
    let other = submit(
        &jobs,
        &runner,
        "ANNOTATION_CREATED",
        r#"{"annotation": {"id": 8}}"#,
    )
    .await;
    let b = submit(&jobs, &runner, "ANNOTATION_UPDATED", updated).await;
    let again = submit(&jobs, &runner, "START_TRAINING", "{}").await;
    assert_eq!(a, b, "the update merges into the waiting create");
    assert_ne!(again, first, "a running job absorbs nothing");
    assert_ne!(a, other);
    hold.notify_one();
    let merged = jobs.wait(a, Duration::from_secs(10)).await.expect("job");
    assert_eq!(merged.state, JobState::Done);
    assert_eq!(merged.coalesced_events, 1);
    jobs.wait(again, Duration::from_secs(10))
        .await
        .expect("job");
    let seen = runner.seen.lock().expect("lock").clone();
    assert_eq!(seen.len(), 4, "{seen:?}");
    assert_eq!(seen[1].1, "ANNOTATION_CREATED");
    assert_eq!(
        seen[1].2.as_deref(),
        Some(updated),
        "the latest payload runs"
    );
}

#[tokio::test]
async fn a_panicking_fit_fails_its_job_only() {
    let jobs = new_jobs(Arc::new(MemoryStore::default())).await;
    let runner = Arc::new(ScriptedRunner::default());
    let bad = submit(&jobs, &runner, "ANNOTATIONS_CREATED", "panic").await;
    let good = submit(&jobs, &runner, "ANNOTATIONS_CREATED", "{}").await;
    let bad = jobs.wait(bad, Duration::from_secs(10)).await.expect("job");
    assert_eq!(bad.state, JobState::Failed);
    let good = jobs.wait(good, Duration::from_secs(10)).await.expect("job");
    assert_eq!(good.state, JobState::Done);
}

#[tokio::test]
async fn unfinished_jobs_resume_after_a_restart() {
    let store: Arc<dyn ModelStore> = Arc::new(MemoryStore::default());
    let before = new_jobs(store.clone()).await;
    // Submitted but never started, as if the host died right after acknowledging.
    let id = enqueue(&before, "START_TRAINING").await.id;
    drop(before);
    let (after, restart) = Jobs::load(store, 1).await.expect("load");
    assert_eq!(restart, [key()]);
    let after = Arc::new(after);
    let runner = Arc::new(ScriptedRunner::default());
    after.spawn_worker(key(), runner.clone());
    let record = after.wait(id, Duration::from_secs(10)).await.expect("job");
    assert_eq!(record.state, JobState::Done);
    let next = enqueue(&after, "START_TRAINING").await;
    assert!(next.id > id, "ids keep increasing across restarts");
}

#[tokio::test]
async fn only_a_job_with_an_idle_queue_is_first_in_line() {
    let jobs = new_jobs(Arc::new(MemoryStore::default())).await;
    let hold = Arc::new(Notify::new());
    let runner = Arc::new(ScriptedRunner {
        hold_first: Some(hold.clone()),
        ..ScriptedRunner::default()
    });
    let first = enqueue(&jobs, "START_TRAINING").await;
    assert!(first.first_in_line && first.start_worker);
    jobs.spawn_worker(key(), runner.clone());
    runner.started.notified().await;
    let second = enqueue(&jobs, "ANNOTATIONS_CREATED").await;
    assert!(!second.first_in_line, "the first job is still running");
    assert!(!second.start_worker);
    hold.notify_one();
    jobs.wait(second.id, Duration::from_secs(10))
        .await
        .expect("job");
    let third = enqueue(&jobs, "ANNOTATIONS_CREATED").await;
    assert!(
        third.first_in_line,
        "the queue is idle again once its jobs finished"
    );
}

/// A memory store whose commits of model `slow`'s job records wait until released: the
/// fsync or Redis round trip that takes long.
struct SlowCommits {
    inner: MemoryStore,
    release: Arc<Notify>,
    entered: Arc<Notify>,
}

#[async_trait::async_trait]
impl ModelStore for SlowCommits {
    async fn get(
        &self,
        scope: &crate::store::ProjectKey,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.inner.get(scope, key).await
    }
    async fn list_keys(
        &self,
        scope: &crate::store::ProjectKey,
        prefix: &str,
    ) -> Result<Vec<String>, StoreFailure> {
        self.inner.list_keys(scope, prefix).await
    }
    async fn host_records(&self, table: HostTable) -> Result<Vec<(String, Vec<u8>)>, StoreFailure> {
        self.inner.host_records(table).await
    }
    async fn host_record(
        &self,
        table: HostTable,
        key: &str,
    ) -> Result<Option<Vec<u8>>, StoreFailure> {
        self.inner.host_record(table, key).await
    }
    async fn commit(&self, batch: Batch) -> Result<(), StoreFailure> {
        let slow = batch.host.iter().any(|(_, (_, value))| {
            value
                .as_deref()
                .is_some_and(|v| String::from_utf8_lossy(v).contains(r#""model":"slow""#))
        });
        if slow {
            self.entered.notify_one();
            self.release.notified().await;
        }
        self.inner.commit(batch).await
    }
    fn describe(&self) -> String {
        "slow commits".into()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_write_for_one_project_does_not_hold_up_the_others() {
    let (release, entered) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let store = Arc::new(SlowCommits {
        inner: MemoryStore::default(),
        release: release.clone(),
        entered: entered.clone(),
    });
    let jobs = new_jobs(store).await;
    let slow_key = ProjectKey::new("slow", "1");
    let slow = tokio::spawn({
        let jobs = jobs.clone();
        async move {
            jobs.submit(&slow_key, "START_TRAINING", "{}".into(), None, None)
                .await
        }
    });
    entered.notified().await;
    // The slow project's record is being written; another model's webhook is not behind it.
    let other = tokio::time::timeout(Duration::from_secs(5), enqueue(&jobs, "START_TRAINING"))
        .await
        .expect("a submission for another project waited for the slow write");
    assert!(other.first_in_line);
    release.notify_one();
    let slow = slow.await.expect("join").expect("submit");
    assert_ne!(
        slow.id, other.id,
        "concurrent submissions never share an id"
    );
}

/// Takes its slot only once its job's project is let through, as the application does
/// after the model has loaded and the lock across hosts is held.
struct GatedRunner {
    open: Arc<Notify>,
    ran: StdMutex<Vec<String>>,
}

#[async_trait::async_trait]
impl FitRunner for GatedRunner {
    async fn run(&self, job: JobRecord, slots: FitSlots) -> Finished {
        if job.project.starts_with("locked") {
            self.open.notified().await;
        }
        let _slot = slots.take().await;
        self.ran.lock().expect("lock").push(job.project.clone());
        Finished {
            outcome: JobOutcome::Done {
                result: json!(null),
                trained: false,
                model_version: "v".into(),
            },
            persisted: false,
        }
    }
}

#[tokio::test]
async fn jobs_waiting_to_be_able_to_run_hold_no_fit_slot() {
    let (jobs, _) = Jobs::load(Arc::new(MemoryStore::default()), 1)
        .await
        .expect("load");
    let jobs = Arc::new(jobs);
    let runner = Arc::new(GatedRunner {
        open: Arc::new(Notify::new()),
        ran: StdMutex::default(),
    });
    let submit_to = async |project: &str| {
        let key = ProjectKey::new("m", project);
        let submitted = jobs
            .submit(&key, "START_TRAINING", "{}".into(), None, None)
            .await
            .expect("submit");
        jobs.spawn_worker(key, runner.clone());
        submitted.id
    };
    // Two projects whose locks another host holds, then one that can run: with one slot.
    submit_to("locked-1").await;
    submit_to("locked-2").await;
    let free = submit_to("free").await;
    let record = jobs.wait(free, Duration::from_secs(5)).await.expect("job");
    assert_eq!(record.state, JobState::Done, "stalled behind waiting jobs");
    assert_eq!(jobs.fit_slots.free(), 1, "the slot is back");
    assert_eq!(*runner.ran.lock().expect("lock"), ["free"]);
}

#[test]
fn pruning_keeps_the_newest_finished_jobs_and_cannot_underflow() {
    let mut state = State {
        keep_finished: 3,
        ..State::default()
    };
    for id in 1..=10 {
        let mut record = JobRecord::queued(id, &key(), "START_TRAINING", "{}".into(), None);
        if id != 2 {
            record.state = JobState::Done;
        }
        state.records.insert(id, record);
    }
    // 9 finished, 3 kept + 10 slack: nothing yet.
    assert!(state.prune(10).is_empty());
    assert_eq!(state.prune(0), [1, 3, 4, 5, 6, 7]);
    assert!(
        state.records.contains_key(&2),
        "unfinished jobs are never pruned"
    );
    assert_eq!(state.records.len(), 4);
    // At most a slack's worth above the cap: kept.
    assert!(state.prune(usize::MAX).is_empty());
}

//! The job queue with a scripted runner (no WebAssembly involved).

use std::sync::Mutex as StdMutex;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    async fn run(&self, job: JobRecord) -> Finished {
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
    ("m".into(), "1".into())
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

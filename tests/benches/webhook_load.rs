//! Webhook latency, over HTTP against the release host: a load script, not a criterion
//! benchmark, because what matters is the latency distribution while a long `fit` runs.
//!
//! 1. Idle: sequential `ANNOTATION_CREATED` webhooks whose `fit` is quick (answered 201 with
//!    the result, like the reference).
//! 2. Busy: a `fit` that runs for a minute, then webhooks for the same project from several
//!    clients at once; each must be durably queued and answered (202) at once.
//!
//! Run: `cargo bench -p wasml-tests --bench webhook_load`.

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::json;
use wasml_tests::{Host, HostBuilder, MISBEHAVE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const IDLE_REQUESTS: usize = 200;
const BUSY_CLIENTS: usize = 4;
const BUSY_REQUESTS_PER_CLIENT: usize = 100;

fn webhook(host: &Host, action: &str, project: u64, id: usize, fit: &str) -> (u16, Duration) {
    let body = json!({
        "action": action,
        "project": {"id": project, "label_config": "<View/>"},
        "annotation": {"id": id, "result": []},
        "annotations": [{"id": id}],
        "task": {"id": id, "data": {}},
        "fit": fit,
    });
    let started = Instant::now();
    let reply = host.post_json("/models/misbehave/webhook", &body);
    (reply.status, started.elapsed())
}

fn report(name: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    eprintln!(
        "{name}: n={} p50={:.2} ms p99={:.2} ms max={:.2} ms",
        latencies.len(),
        ms(at(0.5)),
        ms(at(0.99)),
        ms(at(1.0)),
    );
}

fn main() {
    // `cargo bench` passes `--bench`; this script takes no options.
    let data = tempfile::tempdir().expect("data dir");
    let host = HostBuilder::new(BIN)
        .model("misbehave", Path::new(MISBEHAVE))
        .data_dir(data.path())
        .env("WASML_FIT_WAIT_MS", "500")
        .start();
    host.wait_ready();

    let idle: Vec<Duration> = (0..IDLE_REQUESTS)
        .map(|i| {
            let (status, took) = webhook(&host, "ANNOTATION_CREATED", 1, i, "");
            assert_eq!(status, 201);
            took
        })
        .collect();
    report("webhook, quick fit answered inline (201)", idle);

    let (status, _) = webhook(&host, "START_TRAINING", 2, 0, "sleep:60000");
    assert_eq!(status, 202, "the long fit runs in the background");
    let busy: Vec<Duration> = std::thread::scope(|scope| {
        let clients: Vec<_> = (0..BUSY_CLIENTS)
            .map(|client| {
                let host = &host;
                scope.spawn(move || {
                    (0..BUSY_REQUESTS_PER_CLIENT)
                        .map(|i| {
                            let id = client * BUSY_REQUESTS_PER_CLIENT + i + 1;
                            let (status, took) = webhook(host, "ANNOTATIONS_CREATED", 2, id, "");
                            assert_eq!(status, 202);
                            took
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        clients
            .into_iter()
            .flat_map(|c| c.join().expect("client"))
            .collect()
    });
    report(
        &format!("webhook while a 60 s fit runs, {BUSY_CLIENTS} clients (202)"),
        busy,
    );
}

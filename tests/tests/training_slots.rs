//! Training slots (`--max-concurrent-fits`) go to jobs that can run: a job waiting for a
//! training lock another host holds (or for its model to load) keeps no slot, so it cannot
//! stall the training of other projects.

use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, RedisServer, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const CHOICES: &str = r#"<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/><Choice value="B"/></Choices></View>"#;

fn annotation(project: u64) -> Value {
    json!({
        "action": "ANNOTATION_CREATED",
        "project": {"id": project, "label_config": CHOICES},
        "annotation": {"id": project, "result": [{"from_name": "c", "to_name": "text",
            "type": "choices", "value": {"choices": ["A"]}}]},
        "task": {"id": project, "data": {"text": "t"}},
    })
}

/// The job's state once it finished, or its last state after `wait`.
fn state_within(host: &Host, url: &str, wait: Duration) -> Value {
    let deadline = Instant::now() + wait;
    loop {
        let job = host.get(url).body;
        if job["state"] == "done" || job["state"] == "failed" || Instant::now() >= deadline {
            return job["state"].clone();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn jobs_waiting_for_a_lock_another_host_holds_keep_no_fit_slot() {
    let redis = RedisServer::start();
    // Another host is training projects 1 and 2 (it holds their locks) for a long while.
    for project in [1, 2] {
        let held = Command::new("redis-cli")
            .args(["-u", &redis.url(), "SET"])
            .arg(format!("wasml:lock:fit/label-frequency/{project}"))
            .args(["another-host", "PX", "120000"])
            .output()
            .expect("redis-cli (Debian package redis-tools) must be installed");
        assert!(held.status.success(), "{held:?}");
    }
    let host = HostBuilder::new(BIN)
        .model("label-frequency", &example_model("label-frequency"))
        .args(&[
            "--store",
            &redis.url(),
            "--fit-wait-ms",
            "0",
            "--max-concurrent-fits",
            "1",
        ])
        .start();
    host.wait_ready();
    let mut urls = Vec::new();
    for project in [1, 2, 3] {
        let reply = host.post_json("/models/label-frequency/webhook", &annotation(project));
        assert_eq!(reply.status, 202, "{}", reply.raw);
        urls.push(reply.body["job_url"].as_str().expect("job_url").to_owned());
    }
    // Project 3's lock is free: its job runs at once, with the host's only slot.
    let free = state_within(&host, &urls[2], Duration::from_secs(30));
    assert_eq!(free, "done", "stalled behind jobs waiting for locks");
    for url in &urls[..2] {
        assert_ne!(host.get(url).body["state"], "done", "ran without its lock");
    }
}

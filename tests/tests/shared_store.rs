//! Several hosts sharing one Redis (`--store redis://...`, or `rediss://` over TLS) behave as
//! one: a model trained
//! through one host predicts from that state on another, versions agree everywhere, and
//! `fit` for one (model, project) never runs on two hosts at once.

use std::path::Path;

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, MISBEHAVE, RedisServer, TlsRedisServer, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const CHOICES: &str = r#"<View><Text name="text" value="$text"/><Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices></View>"#;

/// A host on the shared store at `url` serving `label-frequency` and the `misbehave` test
/// component.
fn host(url: &str) -> Host {
    host_with(HostBuilder::new(BIN), url)
}

/// [`host`] from a builder carrying further options.
fn host_with(builder: HostBuilder, url: &str) -> Host {
    let host = builder
        .model("label-frequency", &example_model("label-frequency"))
        .model("misbehave", Path::new(MISBEHAVE))
        .args(&["--store", url, "--fit-wait-ms", "0"])
        .start();
    host.wait_ready();
    host
}

fn annotation(id: u64, choice: &str) -> Value {
    json!({
        "action": "ANNOTATION_CREATED",
        "project": {"id": 21, "label_config": CHOICES},
        "annotation": {"id": id, "result": [{"from_name": "sentiment", "to_name": "text",
            "type": "choices", "value": {"choices": [choice]}}]},
        "task": {"id": id, "data": {"text": "t"}},
    })
}

fn predict(host: &Host) -> Value {
    let reply = host.post_json(
        "/models/label-frequency/predict",
        &json!({"project": "21.1700000000", "label_config": CHOICES,
                "tasks": [{"data": {"text": "x"}}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body
}

#[test]
fn a_model_trained_through_one_host_predicts_alike_on_another() {
    let redis = RedisServer::start();
    // One host over TCP, the other over the Unix socket: the same server either way.
    let (a, b) = (host(&redis.url()), host(&redis.unix_url()));
    trained_on_a_predicts_alike_on_b(&a, &b);
}

#[test]
fn hosts_share_a_redis_over_tls_with_a_private_ca() {
    let redis = TlsRedisServer::start();
    let ca_file = redis.ca_file().display().to_string();
    // By address and by name (the certificate names both), with the option and its variable.
    let a = host_with(
        HostBuilder::new(BIN).args(&["--redis-ca-file", &ca_file]),
        &redis.url(),
    );
    let b = host_with(
        HostBuilder::new(BIN).env("WASML_REDIS_CA_FILE", &ca_file),
        &redis.localhost_url(),
    );
    a.wait_for_log(&["store: redis at 127.0.0.1:", "(TLS)"]);
    b.wait_for_log(&["store: redis at localhost:", "(TLS)"]);
    trained_on_a_predicts_alike_on_b(&a, &b);
}

#[test]
fn a_host_refuses_a_tls_redis_it_cannot_verify() {
    let redis = TlsRedisServer::start();
    let refusal = |builder: HostBuilder, url: &str| builder.args(&["--store", url]).fail_to_start();
    // The test's CA is in no system store.
    let logs = refusal(HostBuilder::new(BIN), &redis.url());
    assert!(logs.contains("certificate"), "{logs}");

    let dir = tempfile::tempdir().expect("temp dir");
    let garbage = dir.path().join("garbage.pem");
    std::fs::write(&garbage, "not a certificate\n").expect("write");
    let garbage = garbage.display().to_string();
    let logs = refusal(
        HostBuilder::new(BIN).args(&["--redis-ca-file", &garbage]),
        &redis.url(),
    );
    assert!(
        logs.contains(&format!("--redis-ca-file {garbage}")),
        "{logs}"
    );

    // A CA file with a plaintext URL: the operator expects encryption that would not happen.
    let plain = RedisServer::start();
    let ca_file = redis.ca_file().display().to_string();
    let logs = refusal(
        HostBuilder::new(BIN).args(&["--redis-ca-file", &ca_file]),
        &plain.url(),
    );
    assert!(logs.contains("needs a rediss://"), "{logs}");
}

/// Trains `label-frequency` through host `a` and checks host `b`, on the same store,
/// predicts from that state with the same version, and that both number and report jobs
/// alike.
fn trained_on_a_predicts_alike_on_b(a: &Host, b: &Host) {
    let untrained = b.setup_version("label-frequency", 21, CHOICES);
    assert_eq!(a.setup_version("label-frequency", 21, CHOICES), untrained);

    for (id, choice) in [(1, "Negative"), (2, "Negative"), (3, "Positive")] {
        let reply = a.post_json("/models/label-frequency/webhook", &annotation(id, choice));
        assert!(matches!(reply.status, 201 | 202), "{}", reply.raw);
        let url = reply.body["job_url"].as_str().expect("job_url").to_owned();
        assert_eq!(a.finished_job(&url)["state"], "done");
    }

    // Host B never saw a webhook: it predicts from what A trained, with the same version.
    let on_b = predict(b);
    let on_a = predict(a);
    let slot = &on_b["results"][0];
    assert_eq!(
        slot["result"][0]["value"]["choices"],
        json!(["Negative"]),
        "{on_b}"
    );
    assert_eq!(slot["score"].as_f64(), Some(2.0 / 3.0));
    assert_eq!(on_a["model_version"], on_b["model_version"]);
    assert_ne!(on_b["model_version"], untrained.as_str());
    assert_eq!(
        b.setup_version("label-frequency", 21, CHOICES),
        on_b["model_version"]
    );
    // Job ids come from one counter: the three jobs of A are 1..=3, the next (on B) is 4;
    // either host reports any job.
    let reply = b.post_json(
        "/models/label-frequency/webhook",
        &annotation(4, "Positive"),
    );
    assert_eq!(reply.body["job_id"], 4, "{}", reply.raw);
    assert_eq!(
        a.finished_job("/models/label-frequency/jobs/4")["state"],
        "done"
    );
    assert_eq!(
        b.finished_job("/models/label-frequency/jobs/1")["state"],
        "done"
    );
}

#[test]
fn fits_of_one_project_never_overlap_across_hosts() {
    let redis = RedisServer::start();
    let hosts = [host(&redis.url()), host(&redis.url())];
    let jobs: Vec<(usize, String)> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..12u64)
            .map(|i| {
                let hosts = &hosts;
                scope.spawn(move || {
                    let which = (i % 2) as usize;
                    // Bulk events are never merged: every one must reach fit.
                    let body = json!({
                        "action": "ANNOTATIONS_CREATED",
                        "project": {"id": 22, "label_config": CHOICES},
                        "annotations": [{"id": i}],
                        "fit": "sleep:30",
                    });
                    let reply = hosts[which].post_json("/models/misbehave/webhook", &body);
                    assert_eq!(reply.status, 202, "{}", reply.raw);
                    let url = reply.body["job_url"].as_str().expect("job_url").to_owned();
                    (which, url)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("client"))
            .collect()
    });
    for (which, url) in &jobs {
        assert_eq!(hosts[*which].finished_job(url)["state"], "done");
    }
    // misbehave appends with read-modify-write: fits overlapping on two hosts would have
    // lost events.
    let reply = hosts[1].post_json(
        "/models/misbehave/predict",
        &json!({"project": "22.1700000000", "label_config": CHOICES,
                "tasks": [{"data": {"action": "recall", "key": "events"}}]}),
    );
    let events = reply.body["results"][0]["recalled"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    assert_eq!(events.split(',').count(), 12, "{events}");
    // Twelve trainings, the same version on both hosts.
    assert_eq!(
        hosts[0].setup_version("misbehave", 22, CHOICES),
        hosts[1].setup_version("misbehave", 22, CHOICES)
    );
}

#[test]
fn a_lost_store_answers_503_with_a_reference_and_logs_the_cause() {
    let redis = RedisServer::start();
    let host = host(&redis.url());
    assert!(
        !host
            .setup_version("label-frequency", 21, CHOICES)
            .is_empty()
    );
    drop(redis);
    let reply = host.post_json(
        "/models/label-frequency/setup",
        &json!({"project": "21.1700000000", "schema": CHOICES}),
    );
    assert_eq!(reply.status, 503, "{}", reply.raw);
    assert_eq!(reply.body["error"], "store unavailable", "{}", reply.raw);
    assert!(reply.header("retry-after").is_some(), "{}", reply.raw);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    // The client learns what failed, not where the store lives or what Redis said.
    assert!(!detail.contains("127.0.0.1"), "{detail}");
    assert!(!detail.to_ascii_lowercase().contains("redis"), "{detail}");
    // The reference is the request's id, in the body and the header too.
    let reference = detail
        .rsplit("as error ")
        .next()
        .filter(|r| Some(*r) == reply.body["request_id"].as_str())
        .unwrap_or_else(|| panic!("no reference in {detail:?}"))
        .to_owned();
    assert_eq!(reply.header("x-request-id"), Some(reference.as_str()));
    // The log holds the cause under the same reference, at `error`.
    let line = host.wait_for_log(&["request failed", &format!("id={reference}")]);
    assert!(line.contains("ERROR"), "{line}");
    assert!(line.contains("redis"), "the cause is logged: {line}");
}

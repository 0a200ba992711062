//! Instance reuse: a warm instance serves the next calls of its project at its model
//! version, never another project's or another version's, and is dropped after a trap, when
//! it grew too large, after its call count, or when the manifest turns reuse off. The
//! `misbehave` component counts the calls its instance served in a global: 1 means a fresh
//! instance.

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, MISBEHAVE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

fn host_with_manifest(manifest: Option<&str>) -> Host {
    let mut builder = HostBuilder::new(BIN).model("m", std::path::Path::new(MISBEHAVE));
    if let Some(manifest) = manifest {
        builder = builder.models_file("m.toml", manifest.as_bytes());
    }
    let host = builder.start();
    host.wait_ready();
    host
}

/// The call count the instance reported, for a predict in `project`.
fn calls(host: &Host, project: &str, action: &str, extra: Value) -> u64 {
    let mut data = json!({"action": action});
    if let (Some(data), Some(extra)) = (data.as_object_mut(), extra.as_object()) {
        data.extend(extra.clone());
    }
    let reply = host.post_json(
        "/models/m/predict",
        &json!({"project": project, "tasks": [{"data": data}]}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body["results"][0]["calls"]
        .as_u64()
        .unwrap_or_else(|| panic!("no call count in {}", reply.raw))
}

fn count(host: &Host, project: &str) -> u64 {
    calls(host, project, "count", json!({}))
}

#[test]
fn a_warm_instance_serves_its_own_project_only() {
    let host = host_with_manifest(None);
    assert_eq!(
        count(&host, "1.1"),
        1,
        "the first call gets a fresh instance"
    );
    assert_eq!(
        count(&host, "1.1"),
        2,
        "the next call of the project reuses it"
    );
    assert_eq!(count(&host, "1.1"), 3);
    assert_eq!(
        count(&host, "2.1"),
        1,
        "another project never gets that instance"
    );
    assert_eq!(count(&host, "2.1"), 2);
    assert_eq!(count(&host, "1.1"), 4, "each project keeps its own");
    let models = host.get("/models");
    assert!(
        models.raw.contains("\"warm_instances\":2"),
        "GET /models reports the warm instances: {}",
        models.raw
    );
}

#[test]
fn a_trap_or_a_model_error_is_handled_as_the_policy_says() {
    let host = host_with_manifest(None);
    assert_eq!(count(&host, "1.1"), 1);
    assert_eq!(count(&host, "1.1"), 2);
    let trapped = host.post_json(
        "/models/m/predict",
        &json!({"project": "1.1", "tasks": [{"data": {"action": "panic"}}]}),
    );
    assert_eq!(trapped.status, 500, "{}", trapped.raw);
    assert_eq!(count(&host, "1.1"), 1, "a trapped instance is never reused");
    let refused = host.post_json(
        "/models/m/predict",
        &json!({"project": "1.1", "tasks": [{"data": {"action": "error"}}]}),
    );
    assert_eq!(refused.status, 500, "{}", refused.raw);
    assert_eq!(
        count(&host, "1.1"),
        3,
        "a model's own error is an answer, not a fault: its instance stays warm"
    );
}

#[test]
fn an_instance_that_grew_past_the_limit_is_dropped() {
    let host = host_with_manifest(Some("[instances]\nmax_memory_mib = 16\n"));
    assert_eq!(count(&host, "1.1"), 1);
    assert_eq!(calls(&host, "1.1", "hold", json!({"mib": "1"})), 2);
    assert_eq!(
        calls(&host, "1.1", "hold", json!({"mib": "32"})),
        3,
        "the call itself succeeds"
    );
    assert_eq!(count(&host, "1.1"), 1, "but its 32 MiB are not kept warm");
}

#[test]
fn the_manifest_bounds_or_turns_off_reuse() {
    let host = host_with_manifest(Some("[instances]\nmax_calls = 2\n"));
    let seen: Vec<u64> = (0..5).map(|_| count(&host, "1.1")).collect();
    assert_eq!(
        seen,
        [1, 2, 1, 2, 1],
        "an instance serves at most max_calls calls"
    );
    drop(host);

    let host = host_with_manifest(Some("[instances]\nreuse = false\n"));
    let seen: Vec<u64> = (0..3).map(|_| count(&host, "1.1")).collect();
    assert_eq!(
        seen,
        [1, 1, 1],
        "reuse = false: a fresh instance every call"
    );
    drop(host);

    let host = host_with_manifest(Some("[instances]\nidle_secs = 0.2\n"));
    assert_eq!(count(&host, "1.1"), 1);
    assert_eq!(count(&host, "1.1"), 2);
    std::thread::sleep(std::time::Duration::from_millis(600));
    assert_eq!(count(&host, "1.1"), 1, "an idle instance is dropped");
}

#[test]
fn a_bad_instances_section_is_refused() {
    let host = host_with_manifest(Some("[instances]\nmax_calls = 0\n"));
    let entry = host.model_entry("m").expect("listed");
    assert_eq!(entry["state"], "failed", "{entry}");
    assert!(
        entry["last_error"]
            .as_str()
            .is_some_and(|e| e.contains("max_calls")),
        "{entry}"
    );
}

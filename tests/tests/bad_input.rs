//! Bad requests and failing guests: each gets a clear JSON error with the right status,
//! and the host keeps serving.

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, MISBEHAVE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

fn host() -> Host {
    let host = HostBuilder::new(BIN)
        .example("dummy")
        .model("misbehave", std::path::Path::new(MISBEHAVE))
        .args(&["--max-body-bytes", "100000"])
        .start();
    host.wait_ready();
    host
}

fn assert_error(reply: &wasml_tests::Reply, status: u16, kind: &str) {
    assert_eq!(reply.status, status, "{}", reply.raw);
    assert_eq!(reply.body["error"], kind, "{}", reply.raw);
    assert_eq!(reply.body["status"], status);
    assert!(reply.body["detail"].as_str().is_some_and(|d| !d.is_empty()));
    assert_eq!(reply.header("content-type"), Some("application/json"));
}

fn still_serving(host: &Host) {
    let ok = host.post_json(
        "/models/misbehave/predict",
        &json!({"tasks": [{"data": {}}]}),
    );
    assert_eq!(ok.status, 200, "the next request succeeds: {}", ok.raw);
}

#[test]
fn malformed_json_wrong_types_and_missing_fields_are_400() {
    let host = host();
    for (body, needle) in [
        ("{\"tasks\": [", "malformed JSON"),
        ("", "empty request body"),
        ("[]", "invalid request"),
        ("{\"tasks\": \"x\"}", "`tasks`"),
        ("{\"tasks\": [1, 2]}", "tasks[0]"),
        ("{\"label_config\": \"<View/>\"}", "missing field `tasks`"),
        ("{\"tasks\": [], \"project\": [1]}", "`project`"),
        (
            "{\"tasks\": [], \"params\": {\"context\": 5}}",
            "params.context",
        ),
    ] {
        let reply = host.post("/models/dummy/predict", body);
        assert_error(&reply, 400, "bad request");
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains(needle), "{body}: {detail}");
    }
    let reply = host.post("/models/dummy/webhook", "{\"project\": {}}");
    assert_error(&reply, 400, "bad request");
    let reply = host.post("/models/dummy/setup", "{\"schema\": 5}");
    assert_error(&reply, 400, "bad request");
    still_serving(&host);
}

#[test]
fn broken_label_config_is_400() {
    let host = host();
    let body = json!({"tasks": [{"data": {}}], "label_config": "<View><Choices name='x'></View>"});
    assert_error(
        &host.post_json("/models/dummy/predict", &body),
        400,
        "invalid label config",
    );
    let setup = json!({"project": "1.2", "schema": "<View"});
    assert_error(
        &host.post_json("/models/dummy/setup", &setup),
        400,
        "invalid label config",
    );
    let webhook = json!({"action": "START_TRAINING", "project": {"id": 1, "label_config": "<<"}});
    assert_error(
        &host.post_json("/models/dummy/webhook", &webhook),
        400,
        "invalid label config",
    );
}

#[test]
fn unknown_models_paths_and_methods_are_json_errors() {
    let host = host();
    let reply = host.get("/models/nope/health");
    assert_error(&reply, 404, "unknown model");
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("/models/dummy"))
    );
    assert_error(
        &host.post("/models/nope/predict", "{\"tasks\": []}"),
        404,
        "unknown model",
    );
    assert_error(&host.get("/nope"), 404, "not found");
    assert_error(&host.get("/models/..%2F..%2Fetc/health"), 404, "not found");
    // RFC 9110: a 405 names the methods the path accepts in `Allow`.
    let wrong = host.get("/models/dummy/predict");
    assert_error(&wrong, 405, "method not allowed");
    assert_eq!(wrong.header("allow"), Some("POST"), "{:?}", wrong.headers);
    let wrong = host.request("DELETE", "/models", &[]);
    assert_error(&wrong, 405, "method not allowed");
    assert_eq!(
        wrong.header("allow"),
        Some("GET, HEAD"),
        "{:?}",
        wrong.headers
    );
    let wrong = host.post("/models/dummy/health", "{}");
    assert_eq!(
        wrong.header("allow"),
        Some("GET, HEAD"),
        "{:?}",
        wrong.headers
    );
}

#[test]
fn the_host_listens_on_ipv6_addresses_and_host_names() {
    for listen in ["::", "[::1]", "::1", "localhost"] {
        let host = HostBuilder::new(BIN)
            .example("dummy")
            .listen_host(listen)
            .start();
        // `::` listens on every address: reach it over IPv6 loopback.
        let mut reachable = host.addr;
        if reachable.ip().is_unspecified() {
            reachable.set_ip(std::net::Ipv6Addr::LOCALHOST.into());
        }
        let answer = ureq::get(format!("http://{reachable}/models"))
            .call()
            .unwrap_or_else(|e| panic!("--host {listen}: {e}"));
        assert_eq!(answer.status(), 200, "--host {listen}");
    }
}

#[test]
fn huge_bodies_wrong_content_types_and_compressed_bodies_are_refused() {
    let host = host();
    let big = format!(
        "{{\"tasks\": [{{\"data\": {{\"text\": \"{}\"}}}}]}}",
        "x".repeat(200_000)
    );
    assert_error(
        &host.post("/models/dummy/predict", &big),
        413,
        "payload too large",
    );
    let reply = host.post_with(
        "/models/dummy/predict",
        "tasks=1",
        &[("Content-Type", "application/x-www-form-urlencoded")],
    );
    assert_error(&reply, 415, "unsupported media type");
    // A compressed body is named as such, not reported as broken JSON.
    let reply = host.post_with(
        "/models/dummy/predict",
        r#"{"tasks": []}"#,
        &[
            ("Content-Type", "application/json"),
            ("Content-Encoding", "gzip"),
        ],
    );
    assert_error(&reply, 415, "unsupported content encoding");
    still_serving(&host);
}

#[test]
fn a_guest_that_traps_fails_only_that_request() {
    let host = host();
    let reply = host.post_json(
        "/models/misbehave/predict",
        &json!({"tasks": [{"data": {"action": "panic"}}]}),
    );
    assert_error(&reply, 500, "trap");
    assert_eq!(reply.body["model"], "misbehave");
    assert!(
        !reply.raw.contains("wasm backtrace"),
        "internals stay in the log: {}",
        reply.raw
    );
    still_serving(&host);
    let fit = host.post_json(
        "/models/misbehave/webhook",
        &json!({"action": "START_TRAINING", "project": {"id": 1}}),
    );
    assert_error(&fit, 500, "trap");
    still_serving(&host);
    assert_eq!(host.get("/models/dummy/health").status, 200);
}

#[test]
fn guest_errors_keep_their_kind_and_message() {
    let host = host();
    let call = |action: &str| {
        host.post_json(
            "/models/misbehave/predict",
            &json!({"tasks": [{"data": {"action": action}}]}),
        )
    };
    let reply = call("invalid-input");
    assert_error(&reply, 422, "invalid input");
    assert!(
        reply.body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("this task is not usable"))
    );
    assert_error(&call("error"), 500, "model error");
    still_serving(&host);
}

#[test]
fn malformed_guest_answers_never_reach_label_studio() {
    let host = host();
    for action in ["wrong-count", "not-json", "no-result"] {
        let body = json!({"tasks": [{"data": {"action": action}}, {"data": {}}]});
        let reply = host.post_json("/models/misbehave/predict", &body);
        assert_error(&reply, 500, "invalid model output");
        assert!(
            reply.body.get("results").is_none(),
            "{action}: {}",
            reply.raw
        );
    }
    still_serving(&host);
}

#[test]
fn empty_task_list_is_an_empty_answer() {
    let host = host();
    let reply = host.post_json("/models/misbehave/predict", &json!({"tasks": []}));
    assert_eq!(reply.status, 200, "{}", reply.raw);
    assert_eq!(reply.body["results"], Value::Array(vec![]));
}

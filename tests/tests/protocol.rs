//! The Label Studio ML backend protocol, endpoint by endpoint, with the real request bodies
//! Label Studio sends (`tests/data/protocol`), against the example models built from source.

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, MISBEHAVE, data, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

fn two_models() -> Host {
    let host = HostBuilder::new(BIN)
        .example("dummy")
        .example("substring-matching")
        .start();
    host.wait_ready();
    host
}

fn request(name: &str) -> String {
    data(&format!("protocol/{name}.request.json"))
}

fn regions(prediction: &Value) -> Vec<Value> {
    let mut regions: Vec<Value> = prediction["result"]
        .as_array()
        .expect("result list")
        .iter()
        .map(|r| json!([r["from_name"], r["to_name"], r["type"], r["value"]]))
        .collect();
    regions.sort_by_key(Value::to_string);
    regions
}

#[test]
fn health_and_model_root_answer_up_for_every_model() {
    let host = two_models();
    for name in ["dummy", "substring-matching"] {
        for path in [format!("/models/{name}/health"), format!("/models/{name}/")] {
            let reply = host.get(&path);
            assert_eq!(reply.status, 200, "{path}: {}", reply.raw);
            assert_eq!(reply.body["status"], "UP");
            assert_eq!(reply.body["model_class"], name);
        }
    }
}

#[test]
fn models_lists_each_model_with_version_and_state() {
    let host = two_models();
    let models = host.get("/models").body;
    let list = models["models"].as_array().expect("models");
    assert_eq!(list.len(), 2);
    for model in list {
        assert_eq!(model["state"], "ready", "{model}");
        assert!(
            model["version"]
                .as_str()
                .is_some_and(|v| v.starts_with("1.0.0+"))
        );
        assert!(model["loaded_at"].is_number());
    }
    assert_eq!(list[1]["info"]["interactive"], true);
}

#[test]
fn setup_reports_the_version_predictions_carry_and_it_is_stable() {
    let host = two_models();
    let mut versions = Vec::new();
    for body in [
        "setup-label-studio",
        "setup-minimal",
        "setup-extra-params-string",
    ] {
        let reply = host.post("/models/dummy/setup", &request(body));
        assert_eq!(reply.status, 200, "{body}: {}", reply.raw);
        versions.push(
            reply.body["model_version"]
                .as_str()
                .expect("version")
                .to_owned(),
        );
    }
    assert!(versions.windows(2).all(|w| w[0] == w[1]), "{versions:?}");
    let predict = host.post("/models/dummy/predict", &request("predict-no-project"));
    assert_eq!(predict.status, 200, "{}", predict.raw);
    assert_eq!(
        predict.body["results"][0]["model_version"],
        versions[0].as_str()
    );
    let again = host.post("/models/dummy/setup", &request("setup-label-studio"));
    assert_eq!(again.body["model_version"], versions[0].as_str());
}

#[test]
fn version_follows_the_component_file() {
    let dummy = example_model("dummy");
    let host = HostBuilder::new(BIN)
        .example("dummy")
        .model("dummy-copy", &dummy)
        .model("other", &example_model("substring-matching"))
        .start();
    let models = host.wait_ready();
    let version = |i: usize| {
        models["models"][i]["version"]
            .as_str()
            .expect("version")
            .to_owned()
    };
    // Sorted by name: dummy, dummy-copy, other.
    assert_eq!(version(0), version(1), "same file, same version");
    assert_ne!(version(0), version(2), "another file, another version");
}

#[test]
fn interactive_substring_matching_labels_every_occurrence() {
    let host = two_models();
    let reply = host.post(
        "/models/substring-matching/predict",
        &request("predict-interactive"),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let expected: Value =
        serde_json::from_str(&data("protocol/predict-interactive.expected.json")).expect("json");
    let results = reply.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 1);
    assert_eq!(regions(&results[0]), regions(&expected["results"][0]));
    assert!(results[0]["model_version"].is_string());
}

#[test]
fn substring_matching_counts_offsets_in_utf16_units() {
    let host = two_models();
    let text = "😀 Zürich – Zürich 東京 Zürich";
    let body = json!({
        "tasks": [{"id": 1, "data": {"text": text}}],
        "label_config": "<View><Labels name=\"label\" toName=\"text\"><Label value=\"LOC\"/></Labels><Text name=\"text\" value=\"$text\"/></View>",
        "params": {"context": {"result": [{
            "from_name": "label", "to_name": "text", "type": "labels", "origin": "manual",
            "value": {"start": 3, "end": 9, "text": "Zürich", "labels": ["LOC"]}
        }]}}
    });
    let reply = host.post_json("/models/substring-matching/predict", &body);
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let spans: Vec<(u64, u64)> = reply.body["results"][0]["result"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| {
            (
                r["value"]["start"].as_u64().expect("start"),
                r["value"]["end"].as_u64().expect("end"),
            )
        })
        .collect();
    // JavaScript: text.indexOf("Zürich") === 3 (the emoji is two UTF-16 units).
    assert_eq!(spans, [(3, 9), (12, 18), (22, 28)]);
}

#[test]
fn without_context_there_is_one_empty_slot_per_task() {
    let host = two_models();
    let body = json!({
        "tasks": [{"data": {"text": "a"}}, {"data": {"text": "b"}}, {"data": {"text": "c"}}],
        "label_config": "<View><Labels name=\"l\" toName=\"t\"><Label value=\"X\"/></Labels><Text name=\"t\" value=\"$text\"/></View>"
    });
    let reply = host.post_json("/models/substring-matching/predict", &body);
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let results = reply.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    assert!(
        results
            .iter()
            .all(|r| r["result"] == json!([]) && r["model_version"].is_string())
    );
}

#[test]
fn dummy_predicts_the_first_choice_for_every_task_in_order() {
    let host = two_models();
    let tasks: Vec<Value> = (0..25)
        .map(|i| json!({"id": i, "data": {"image": format!("{i}.jpg")}}))
        .collect();
    let mut body: Value = serde_json::from_str(&request("predict-no-project")).expect("json");
    body["tasks"] = json!(tasks);
    let reply = host.post_json("/models/dummy/predict", &body);
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let results = reply.body["results"].as_array().expect("results");
    assert_eq!(results.len(), 25);
    for result in results {
        assert_eq!(result["result"][0]["value"]["choices"], json!(["Airplane"]));
        assert_eq!(result["result"][0]["from_name"], "label");
        assert_eq!(result["result"][0]["to_name"], "image");
        assert!(result["score"].is_number());
    }
}

#[test]
fn every_recorded_predict_request_gets_one_slot_per_task() {
    let host = HostBuilder::new(BIN)
        .model("misbehave", std::path::Path::new(MISBEHAVE))
        .start();
    host.wait_ready();
    for name in [
        "predict-minimal",
        "predict-no-project",
        "predict-textarea",
        "predict-interactive",
    ] {
        let body = request(name);
        let tasks = serde_json::from_str::<Value>(&body).expect("json")["tasks"]
            .as_array()
            .map(Vec::len)
            .expect("tasks");
        let reply = host.post("/models/misbehave/predict", &body);
        assert_eq!(reply.status, 200, "{name}: {}", reply.raw);
        assert_eq!(
            reply.body["results"].as_array().map(Vec::len),
            Some(tasks),
            "{name}"
        );
    }
}

#[test]
fn dummy_says_clearly_when_the_config_has_no_choices() {
    let host = two_models();
    let reply = host.post("/models/dummy/predict", &request("predict-textarea"));
    assert_eq!(reply.status, 422, "{}", reply.raw);
    assert_eq!(reply.body["error"], "unsupported label config");
    assert_eq!(reply.body["model"], "dummy");
}

#[test]
fn webhooks_call_fit_for_training_events_only() {
    let host = two_models();
    for name in [
        "webhook-annotation-created",
        "webhook-annotation-created-minimal",
        "webhook-annotations-deleted",
        "webhook-start-training",
    ] {
        let reply = host.post("/models/dummy/webhook", &request(name));
        assert_eq!(reply.status, 201, "{name}: {}", reply.raw);
        assert_eq!(reply.body["status"], "ok");
    }
    let reply = host.post("/models/dummy/webhook", &request("webhook-project-updated"));
    assert_eq!(reply.status, 200);
    assert_eq!(reply.body["status"], "Unknown event");
}

#[test]
fn metrics_count_requests_and_versions_list_the_untrained_version() {
    let host = two_models();
    host.post("/models/dummy/predict", &request("predict-no-project"));
    let metrics = host.get("/models/dummy/metrics");
    assert_eq!(metrics.status, 200);
    assert_eq!(metrics.body["predict_requests"], 1);
    assert_eq!(metrics.body["tasks_predicted"], 1);
    // Each model counts its own requests.
    let other = host.get("/models/substring-matching/metrics");
    assert_eq!(other.body["predict_requests"], 0, "{}", other.raw);
    let setup = host.post("/models/dummy/setup", &request("setup-label-studio"));
    let versions = host.get("/models/dummy/versions");
    assert_eq!(versions.status, 200, "{}", versions.raw);
    assert_eq!(
        versions.body["versions"],
        json!([setup.body["model_version"]])
    );
}

#[test]
fn root_paths_need_a_default_model_when_several_are_loaded() {
    let host = two_models();
    for path in ["/", "/health"] {
        let reply = host.get(path);
        assert_eq!(reply.status, 404, "{path}");
        assert_eq!(reply.body["error"], "no default model");
        let detail = reply.body["detail"].as_str().expect("detail");
        assert!(detail.contains("/models/dummy") && detail.contains("/models/substring-matching"));
    }
    let reply = host.post("/predict", &request("predict-no-project"));
    assert_eq!(reply.status, 404);
}

#[test]
fn root_paths_serve_the_default_model() {
    let host = HostBuilder::new(BIN)
        .example("dummy")
        .example("substring-matching")
        .args(&["--default-model", "dummy"])
        .start();
    host.wait_ready();
    assert_eq!(host.get("/health").body["model_class"], "dummy");
    assert_eq!(host.get("/").body["status"], "UP");
    let setup = host.post("/setup", &request("setup-label-studio"));
    assert_eq!(setup.status, 200);
    let predict = host.post("/predict", &request("predict-no-project"));
    assert_eq!(predict.status, 200, "{}", predict.raw);
    assert_eq!(
        predict.body["results"][0]["result"][0]["value"]["choices"],
        json!(["Airplane"])
    );
    assert_eq!(
        host.post("/webhook", &request("webhook-project-updated"))
            .status,
        200
    );
    assert_eq!(host.get("/metrics").status, 200);
}

#[test]
fn the_only_model_is_the_default() {
    let host = HostBuilder::new(BIN).example("dummy").start();
    host.wait_ready();
    assert_eq!(host.get("/health").body["model_class"], "dummy");
    assert_eq!(
        host.post("/predict", &request("predict-no-project")).status,
        200
    );
}

#[test]
fn two_models_side_by_side_answer_independently() {
    let host = two_models();
    let dummy = host.post("/models/dummy/predict", &request("predict-no-project"));
    let matcher = host.post(
        "/models/substring-matching/predict",
        &request("predict-interactive"),
    );
    assert_eq!(dummy.body["results"][0]["result"][0]["type"], "choices");
    assert_eq!(matcher.body["results"][0]["result"][0]["type"], "labels");
    assert_ne!(dummy.body["model_version"], matcher.body["model_version"]);
}

#[test]
fn basic_auth_is_checked_before_routing() {
    let host = HostBuilder::new(BIN)
        .example("dummy")
        .env("BASIC_AUTH_USER", "ls")
        .env("BASIC_AUTH_PASS", "secret")
        .start();
    for path in ["/models", "/models/dummy/health", "/nope"] {
        let reply = host.get(path);
        assert_eq!(reply.status, 401, "{path}");
        assert!(
            reply
                .header("www-authenticate")
                .is_some_and(|h| h.starts_with("Basic"))
        );
    }
    // "ls:secret" in base64.
    let reply = host.request(
        "GET",
        "/models/dummy/health",
        &[("Authorization", "Basic bHM6c2VjcmV0")],
    );
    assert_ne!(reply.status, 401);
}

#[test]
fn store_is_scoped_per_model_and_project() {
    let misbehave = std::path::Path::new(MISBEHAVE);
    let host = HostBuilder::new(BIN)
        .model("a", misbehave)
        .model("b", misbehave)
        .start();
    host.wait_ready();
    let call = |model: &str, project: &str, action: &str| {
        let body = json!({
            "project": format!("{project}.1700000000"),
            "tasks": [{"data": {"action": action, "value": format!("{model}-{project}")}}],
        });
        host.post_json(&format!("/models/{model}/predict"), &body)
    };
    let recalled = |model: &str, project: &str| {
        call(model, project, "recall").body["results"][0]["recalled"].clone()
    };
    assert_eq!(call("a", "1", "remember").status, 200);
    assert_eq!(recalled("a", "1"), "a-1");
    assert_eq!(
        recalled("a", "2"),
        Value::Null,
        "another project of the same model"
    );
    assert_eq!(
        recalled("b", "1"),
        Value::Null,
        "another model, same project"
    );
    assert_eq!(call("b", "1", "remember").status, 200);
    assert_eq!(recalled("a", "1"), "a-1");
    assert_eq!(recalled("b", "1"), "b-1");
}

#[test]
fn guest_stdout_and_stderr_go_to_the_log_tagged_with_the_model() {
    let host = HostBuilder::new(BIN)
        .model("chatty", std::path::Path::new(MISBEHAVE))
        .start();
    host.wait_ready();
    let reply = host.post_json(
        "/models/chatty/predict",
        &json!({"tasks": [{"data": {"action": "print"}}]}),
    );
    assert_eq!(reply.status, 200);
    let line = host.wait_for_log(&["misbehave says hello on stdout"]);
    assert!(line.contains("chatty"), "{line}");
    host.wait_for_log(&["misbehave says hello on stderr", "chatty"]);
}

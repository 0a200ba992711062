//! The example models that learn, trained through real Label Studio webhook payloads:
//! `text-classifier` (naive Bayes over words) and `simplest` (repeats the last annotation).

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, data};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const PROJECT: u64 = 12;

fn start(builder: HostBuilder) -> Host {
    let host = builder.start();
    host.wait_ready();
    host
}

fn config() -> String {
    data("text-classifier/config.xml")
}

/// `(text, label)` pairs from tests/data/text-classifier.
fn examples(file: &str) -> Vec<(String, String)> {
    let items: Vec<Value> =
        serde_json::from_str(&data(&format!("text-classifier/{file}"))).expect("data set");
    items
        .iter()
        .map(|item| {
            (
                item["text"].as_str().expect("text").to_owned(),
                item["label"].as_str().expect("label").to_owned(),
            )
        })
        .collect()
}

/// Label Studio's real ANNOTATION_CREATED body (tests/data/protocol), re-targeted at our
/// project, task and annotation.
fn annotation_created(id: u64, text: &str, result: Value) -> Value {
    let mut body: Value =
        serde_json::from_str(&data("protocol/webhook-annotation-created.request.json"))
            .expect("payload");
    body["annotation"]["id"] = json!(id);
    body["annotation"]["task"] = json!(id);
    body["annotation"]["result"] = result;
    body["task"]["id"] = json!(id);
    body["task"]["project"] = json!(PROJECT);
    body["task"]["data"] = json!({"text": text});
    body["project"]["id"] = json!(PROJECT);
    body["project"]["label_config"] = json!(config());
    body
}

fn choice(label: &str) -> Value {
    json!([{"id": "r1", "from_name": "label", "to_name": "text", "type": "choices",
            "value": {"choices": [label]}}])
}

fn setup(host: &Host, model: &str) -> String {
    let reply = host.post_json(
        &format!("/models/{model}/setup"),
        &json!({"project": format!("{PROJECT}.1700000000"), "schema": config()}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body["model_version"]
        .as_str()
        .expect("version")
        .to_owned()
}

fn predict(host: &Host, model: &str, texts: &[&str]) -> Value {
    let tasks: Vec<Value> = texts
        .iter()
        .enumerate()
        .map(|(i, t)| json!({"id": i, "data": {"text": t}, "project": PROJECT}))
        .collect();
    let reply = host.post_json(
        &format!("/models/{model}/predict"),
        &json!({"tasks": tasks, "project": format!("{PROJECT}.1700000000"), "label_config": config()}),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    reply.body
}

fn predicted_labels(answer: &Value) -> Vec<Option<String>> {
    answer["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|p| {
            p["result"][0]["value"]["choices"][0]
                .as_str()
                .map(str::to_owned)
        })
        .collect()
}

fn train(host: &Host, model: &str, train: &[(String, String)]) {
    for (i, (text, label)) in train.iter().enumerate() {
        let body = annotation_created(i as u64 + 1, text, choice(label));
        let reply = host.post_json(&format!("/models/{model}/webhook"), &body);
        assert_eq!(reply.status, 201, "{}", reply.raw);
    }
}

#[test]
fn text_classifier_learns_from_annotations_and_keeps_it_across_restarts() {
    let dir = tempfile::tempdir().expect("data dir");
    let builder = || {
        HostBuilder::new(BIN)
            .example("text-classifier")
            .data_dir(dir.path())
    };
    let heldout = examples("heldout.json");
    let texts: Vec<&str> = heldout.iter().map(|(t, _)| t.as_str()).collect();
    let (answer, version) = {
        let host = start(builder());
        let untrained = setup(&host, "text-classifier");
        let before = predict(&host, "text-classifier", &texts);
        assert!(
            predicted_labels(&before).iter().all(Option::is_none),
            "no training data, no guesses: {before}"
        );
        train(&host, "text-classifier", &examples("train.json"));
        let version = setup(&host, "text-classifier");
        assert_ne!(version, untrained, "training gives a new version");
        let answer = predict(&host, "text-classifier", &texts);
        assert_eq!(answer["model_version"], version.as_str());
        let labels = predicted_labels(&answer);
        let correct = labels
            .iter()
            .zip(&heldout)
            .filter(|(got, (_, want))| got.as_deref() == Some(want.as_str()))
            .count();
        // Three balanced classes: chance is a third.
        assert!(
            correct * 10 >= heldout.len() * 8,
            "{correct}/{} held-out texts right: {labels:?}",
            heldout.len()
        );
        for prediction in answer["results"].as_array().expect("results") {
            let score = prediction["score"].as_f64().expect("score");
            assert!(score > 1.0 / 3.0 && score <= 1.0, "{prediction}");
            assert_eq!(prediction["result"][0]["from_name"], "label");
            assert_eq!(prediction["result"][0]["to_name"], "text");
            assert_eq!(prediction["result"][0]["type"], "choices");
        }
        (answer, version)
    };
    let host = start(builder());
    assert_eq!(setup(&host, "text-classifier"), version);
    assert_eq!(
        predict(&host, "text-classifier", &texts),
        answer,
        "same predictions after a restart"
    );
}

#[test]
fn deleted_annotations_leave_the_training_set() {
    let host = start(HostBuilder::new(BIN).example("text-classifier"));
    let train: Vec<(String, String)> = [
        ("goal match team stadium", "Sports"),
        ("score players coach league", "Sports"),
        ("pasta sauce recipe oven", "Food"),
        ("bread flour bake kitchen", "Food"),
    ]
    .iter()
    .map(|(t, l)| (t.to_string(), l.to_string()))
    .collect();
    train_and_check(&host, &train);
    let mut deleted: Value =
        serde_json::from_str(&data("protocol/webhook-annotations-deleted.request.json"))
            .expect("payload");
    deleted["annotations"] = json!([{"id": 3}, {"id": 4}]);
    deleted["project"]["id"] = json!(PROJECT);
    let reply = host.post_json("/models/text-classifier/webhook", &deleted);
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let answer = predict(&host, "text-classifier", &["pasta bread oven recipe"]);
    assert_eq!(
        predicted_labels(&answer),
        [Some("Sports".to_owned())],
        "only Sports examples are left: {answer}"
    );
}

fn train_and_check(host: &Host, examples: &[(String, String)]) {
    train(host, "text-classifier", examples);
    let answer = predict(host, "text-classifier", &["pasta bread oven recipe"]);
    assert_eq!(
        predicted_labels(&answer),
        [Some("Food".to_owned())],
        "{answer}"
    );
}

#[test]
fn simplest_repeats_the_last_annotation_for_every_task() {
    let host = start(HostBuilder::new(BIN).example("simplest"));
    let untrained = setup(&host, "simplest");
    let before = predict(&host, "simplest", &["a", "b"]);
    for prediction in before["results"].as_array().expect("results") {
        assert_eq!(prediction["result"], json!([]));
    }
    let result = choice("Food");
    let reply = host.post_json(
        "/models/simplest/webhook",
        &annotation_created(1, "x", result.clone()),
    );
    assert_eq!(reply.status, 201, "{}", reply.raw);
    let trained = setup(&host, "simplest");
    assert_ne!(trained, untrained);
    let answer = predict(&host, "simplest", &["a", "b", "c"]);
    let results = answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 3);
    for prediction in results {
        assert_eq!(prediction["result"], result, "{answer}");
        let score = prediction["score"].as_f64().expect("score");
        assert!((0.0..1.0).contains(&score));
        assert_eq!(prediction["model_version"], trained.as_str());
    }
    let start_training: Value =
        serde_json::from_str(&data("protocol/webhook-start-training.request.json"))
            .expect("payload");
    let reply = host.post_json("/models/simplest/webhook", &start_training);
    assert_eq!(reply.status, 201, "{}", reply.raw);
    assert_eq!(setup(&host, "simplest"), trained, "nothing new learned");
}

//! The same models written in Rust, Python, JavaScript and C, built from source by
//! `scripts/build-models`, answer the same requests alike (`example-models/MODELS.md`):
//! interactive substring matching on real Label Studio payloads and text in many scripts,
//! and a fit-then-predict sequence of `label-frequency` through real webhook bodies.
//!
//! The Rust build is the reference; its answers are also checked against what Label Studio
//! expects, so agreeing with it means something. Large components compile once per build of
//! the tests, into a shared compile cache.

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, Reply, SHARED_COMPILE_CACHE, data, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
/// The builds compared with the Rust one, by file suffix.
const PORTS: [&str; 3] = ["python", "js", "c"];
/// Compiling three large components cold on a busy 2-core machine takes minutes.
const COLD_LOAD: Duration = Duration::from_secs(900);
const NER_CONFIG: &str = r#"<View>
  <Labels name="label" toName="text">
    <Label value="PER"/><Label value="ORG"/><Label value="LOC"/>
  </Labels>
  <Text name="text" value="$text"/>
</View>"#;
const CHOICES_CONFIG: &str = r#"<View>
  <Text name="text" value="$text"/>
  <Choices name="sentiment" toName="text">
    <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
  </Choices>
</View>"#;

/// A host serving `model` in Rust and in every other language (`<model>-<lang>`).
fn serve_every_build(model: &str) -> Host {
    let mut builder = HostBuilder::new(BIN)
        .example(model)
        .cache_dir(Path::new(SHARED_COMPILE_CACHE));
    for lang in PORTS {
        builder = builder.example(&format!("{model}-{lang}"));
    }
    let host = builder.start();
    let models = host.wait_ready_within(COLD_LOAD);
    for entry in models["models"].as_array().expect("models") {
        assert_eq!(entry["state"], "ready", "{entry}");
    }
    host
}

/// The builds of `model`: `(label, url name)`, the Rust one first.
fn builds(model: &str) -> Vec<(String, String)> {
    let mut all = vec![("rust".to_owned(), model.to_owned())];
    all.extend(
        PORTS
            .iter()
            .map(|lang| (lang.to_string(), format!("{model}-{lang}"))),
    );
    all
}

/// `body` without the fields that differ between builds by design (`model_version`, the
/// hash of each component; the ids of training jobs, numbered per model) and with every number as a double, so `1` and `1.0` compare
/// equal, as they do for Label Studio.
fn comparable(body: &Value) -> Value {
    match body {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| {
                    !["model_version", "job_id", "job", "job_url"].contains(&k.as_str())
                })
                .map(|(k, v)| (k.clone(), comparable(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(comparable).collect()),
        Value::Number(n) => json!(n.as_f64()),
        other => other.clone(),
    }
}

/// What must agree between two builds' replies: the status, and the body when it succeeded
/// (error details name the model, so errors compare by status and error kind).
fn outcome(reply: &Reply) -> Value {
    if reply.status < 300 {
        json!([reply.status, comparable(&reply.body)])
    } else {
        json!([reply.status, reply.body["error"]])
    }
}

/// Sends `body` to `endpoint` of every build of `model`; asserts every answer equals the
/// Rust build's and returns the Rust reply.
fn same_everywhere(host: &Host, model: &str, endpoint: &str, body: &Value, case: &str) -> Reply {
    let mut builds = builds(model).into_iter();
    let (_, rust_name) = builds.next().expect("the Rust build");
    let reference = host.post_json(&format!("/models/{rust_name}/{endpoint}"), body);
    for (lang, name) in builds {
        let reply = host.post_json(&format!("/models/{name}/{endpoint}"), body);
        assert_eq!(
            outcome(&reply),
            outcome(&reference),
            "{case}: {lang} differs from rust\n{lang}: {}\nrust: {}",
            reply.raw,
            reference.raw
        );
    }
    reference
}

fn interactive(tasks: Vec<Value>, selected: Vec<Value>) -> Value {
    json!({
        "tasks": tasks,
        "label_config": NER_CONFIG,
        "project": "3.1700000000",
        "params": {"context": {"result": selected, "user_id": 1, "draft_id": 0}}
    })
}

fn span(start: usize, end: usize, text: Option<&str>, label: &str) -> Value {
    let mut value = json!({"start": start, "end": end, "labels": [label]});
    if let Some(text) = text {
        value["text"] = json!(text);
    }
    json!({"id": "s1", "from_name": "label", "to_name": "text", "type": "labels",
           "origin": "manual", "value": value})
}

fn task(text: &str) -> Value {
    json!({"id": 1, "data": {"text": text}})
}

/// The text between UTF-16 offsets, as Label Studio's front end would show a region.
fn utf16_slice(text: &str, start: u64, end: u64) -> String {
    let units: Vec<u16> = text.encode_utf16().collect();
    String::from_utf16(&units[start as usize..end as usize]).expect("offsets on characters")
}

/// Checks the Rust reply of a substring case: every region's offsets select its text in
/// the task, with the label asked for, and the number of regions is `expected`.
fn assert_spans(reply: &Reply, texts: &[&str], needle: &str, label: &str, expected: &[usize]) {
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let results = reply.body["results"].as_array().expect("results");
    assert_eq!(results.len(), texts.len());
    for ((slot, text), count) in results.iter().zip(texts).zip(expected) {
        let regions = slot["result"].as_array().expect("result");
        assert_eq!(regions.len(), *count, "{needle:?} in {text:?}: {slot}");
        for region in regions {
            let value = &region["value"];
            let (start, end) = (value["start"].as_u64(), value["end"].as_u64());
            let got = utf16_slice(text, start.expect("start"), end.expect("end"));
            assert_eq!(got, needle, "{region}");
            assert_eq!(value["labels"], json!([label]));
        }
    }
}

#[test]
fn substring_matching_answers_alike_in_every_language() {
    let host = serve_every_build("substring-matching");
    let model = "substring-matching";

    // Label Studio's own interactive request, and the regions it expects back.
    let body: Value =
        serde_json::from_str(&data("protocol/predict-interactive.request.json")).expect("json");
    let reply = same_everywhere(&host, model, "predict", &body, "Label Studio's request");
    let expected: Value =
        serde_json::from_str(&data("protocol/predict-interactive.expected.json")).expect("json");
    let values = |v: &Value| -> Vec<Value> {
        v["results"][0]["result"]
            .as_array()
            .expect("result")
            .iter()
            .map(|r| json!([r["from_name"], r["to_name"], r["type"], r["value"]]))
            .collect()
    };
    assert_eq!(values(&reply.body), values(&expected));

    // Scripts where UTF-8, code points and UTF-16 disagree on offsets.
    let texts = [
        "Ünïcödé 😀 Apple, 東京 Apple 😀😀 Apple.",
        "مرحبا Apple في 🇫🇷 Apple",
        "no match here",
        "AppleApple",
    ];
    let tasks: Vec<Value> = texts.iter().map(|t| task(t)).collect();
    let by_text = interactive(tasks.clone(), vec![span(0, 5, Some("Apple"), "ORG")]);
    let reply = same_everywhere(&host, model, "predict", &by_text, "spans in many scripts");
    assert_spans(&reply, &texts, "Apple", "ORG", &[3, 2, 0, 2]);

    // The span given by UTF-16 offsets only (after an emoji: two units): each task's own
    // text at those offsets is what gets matched in it.
    let emoji_text = "😀 東京 and 東京";
    let by_offsets = interactive(
        vec![task(emoji_text), task("abc東京 東京")],
        vec![span(3, 5, None, "LOC")],
    );
    let reply = same_everywhere(&host, model, "predict", &by_offsets, "offsets only");
    assert_spans(
        &reply,
        &[emoji_text, "abc東京 東京"],
        "東京",
        "LOC",
        &[2, 2],
    );

    // Overlapping candidates match left to right without overlap; two labeled spans; an
    // item that is not a text span and one of an unknown control are skipped.
    let mixed = interactive(
        vec![task("aaaa bob aaaa")],
        vec![
            span(0, 2, Some("aa"), "PER"),
            span(5, 8, Some("bob"), "PER"),
            json!({"from_name": "label", "to_name": "text", "type": "labels",
                   "value": {"labels": ["PER"]}}),
            json!({"from_name": "nope", "to_name": "text", "type": "labels",
                   "value": {"start": 0, "end": 1, "text": "a", "labels": ["PER"]}}),
        ],
    );
    let reply = same_everywhere(&host, model, "predict", &mixed, "several spans");
    let regions = reply.body["results"][0]["result"]
        .as_array()
        .expect("result");
    let starts: Vec<u64> = regions
        .iter()
        .filter_map(|r| r["value"]["start"].as_u64())
        .collect();
    assert_eq!(starts, [0, 2, 9, 11, 5]);

    // Not interactive: one empty slot per task.
    let plain = json!({"tasks": tasks, "label_config": NER_CONFIG});
    let reply = same_everywhere(&host, model, "predict", &plain, "no context");
    assert_eq!(reply.body["results"].as_array().map(Vec::len), Some(4));
    assert_eq!(reply.body["results"][0]["result"], json!([]));

    // Errors: a task without the text, an object the control does not name, a context
    // item that is not a region. Every build refuses with the same status and kind.
    let cases = [
        (
            "task without text",
            interactive(
                vec![json!({"data": {"other": "x"}})],
                vec![span(0, 1, Some("x"), "PER")],
            ),
        ),
        (
            "unknown object",
            interactive(
                vec![task("x")],
                vec![
                    json!({"from_name": "label", "to_name": "image", "type": "labels",
                            "value": {"start": 0, "end": 1, "text": "x", "labels": ["PER"]}}),
                ],
            ),
        ),
        (
            "context item not a region",
            interactive(vec![task("x")], vec![json!({"value": {}})]),
        ),
    ];
    for (case, body) in cases {
        let reply = same_everywhere(&host, model, "predict", &body, case);
        assert_eq!(reply.status, 422, "{case}: {}", reply.raw);
    }
}

/// Label Studio's real ANNOTATION_CREATED body, with our annotation and label config.
fn annotation_event(action: &str, annotation: Value) -> Value {
    let mut body: Value =
        serde_json::from_str(&data("protocol/webhook-annotation-created.request.json"))
            .expect("payload");
    body["action"] = json!(action);
    body["annotation"] = annotation;
    body["project"]["id"] = json!(5);
    body["project"]["label_config"] = json!(CHOICES_CONFIG);
    body
}

fn chose(id: u64, choices: &[&str]) -> Value {
    json!({"id": id, "task": id, "was_cancelled": false, "result": [
        {"id": "r", "from_name": "sentiment", "to_name": "text", "type": "choices",
         "value": {"choices": choices}}
    ]})
}

/// One webhook of a labeling session and the prediction it leaves.
struct Step {
    case: &'static str,
    event: Value,
    /// The winning label, its count and the count of all choices.
    winner: (&'static str, u32, u32),
}

/// The webhooks of a labeling session.
fn labeling_session() -> Vec<Step> {
    let mut cancelled = chose(2, &["Positive"]);
    cancelled["was_cancelled"] = json!(true);
    let deleted: Value =
        serde_json::from_str(&data("protocol/webhook-annotations-deleted.request.json"))
            .expect("payload");
    let mut deleted_4 = deleted.clone();
    deleted_4["annotations"] = json!([{"id": 4}, {"id": 99}]);
    deleted_4["project"] = json!({"id": 5, "label_config": CHOICES_CONFIG});
    let mut deleted_1_5 = deleted_4.clone();
    deleted_1_5["annotations"] = json!([{"id": 1}, {"id": 5}]);
    let mut start_training: Value =
        serde_json::from_str(&data("protocol/webhook-start-training.request.json"))
            .expect("payload");
    start_training["project"] = json!({"id": 5, "label_config": CHOICES_CONFIG});
    // "Create Annotations From Predictions": Label Studio 1.23 lists the annotations and
    // their tasks under the singular keys (`webhooks/models.py`, `many: True`).
    let bulk = {
        let mut body = annotation_event(
            "ANNOTATIONS_CREATED",
            json!([
                chose(4, &["Neutral"]),
                {"id": "not an integer", "result": []},
                chose(5, &["Neutral"])
            ]),
        );
        body["task"] = json!([{"id": 4, "data": {"text": "four"}},
                              {"id": 5, "data": {"text": "five"}}]);
        body
    };
    vec![
        Step {
            case: "first",
            event: annotation_event("ANNOTATION_CREATED", chose(1, &["Negative"])),
            winner: ("Negative", 1, 1),
        },
        Step {
            case: "a tie goes to the label listed first",
            event: annotation_event("ANNOTATION_CREATED", chose(2, &["Positive"])),
            winner: ("Positive", 1, 2),
        },
        Step {
            case: "an update replaces the annotation's choices",
            event: annotation_event("ANNOTATION_UPDATED", chose(1, &["Positive"])),
            winner: ("Positive", 2, 2),
        },
        Step {
            case: "labels the config does not list count too",
            event: annotation_event("ANNOTATION_CREATED", chose(3, &["Zèbre", "Négatif"])),
            winner: ("Positive", 2, 4),
        },
        Step {
            case: "bulk import",
            event: bulk,
            winner: ("Positive", 2, 6),
        },
        Step {
            case: "a cancelled annotation is forgotten",
            event: annotation_event("ANNOTATION_UPDATED", cancelled),
            winner: ("Neutral", 2, 5),
        },
        Step {
            case: "start training changes nothing",
            event: start_training,
            winner: ("Neutral", 2, 5),
        },
        Step {
            case: "deletes",
            event: deleted_4,
            winner: ("Positive", 1, 4),
        },
        Step {
            case: "an annotation without id is refused",
            event: annotation_event("ANNOTATION_CREATED", json!({"result": []})),
            winner: ("Positive", 1, 4),
        },
        Step {
            case: "unlisted labels tie in code point order",
            event: deleted_1_5,
            winner: ("Négatif", 1, 2),
        },
    ]
}

#[test]
fn label_frequency_learns_alike_in_every_language() {
    let host = serve_every_build("label-frequency");
    let model = "label-frequency";
    let predict_body = json!({
        "tasks": [task("one"), task("two")],
        "label_config": CHOICES_CONFIG,
        "project": "5.1700000000"
    });

    let before = same_everywhere(&host, model, "predict", &predict_body, "untrained");
    assert_eq!(before.body["results"][1]["result"], json!([]));

    for Step {
        case,
        event,
        winner,
    } in labeling_session()
    {
        let reply = same_everywhere(&host, model, "webhook", &event, case);
        let refused =
            event["action"] == "ANNOTATION_CREATED" && event["annotation"]["id"].is_null();
        assert_eq!(
            reply.status,
            if refused { 422 } else { 201 },
            "{case}: {}",
            reply.raw
        );
        let reply = same_everywhere(&host, model, "predict", &predict_body, case);
        let (label, count, total) = winner;
        for slot in reply.body["results"].as_array().expect("results") {
            let region = &slot["result"][0];
            assert_eq!(region["value"]["choices"], json!([label]), "{case}: {slot}");
            assert_eq!(region["from_name"], "sentiment");
            assert_eq!(region["to_name"], "text");
            let share = f64::from(count) / f64::from(total);
            assert_eq!(slot["score"].as_f64(), Some(share), "{case}: {slot}");
        }
    }

    // A label config without Choices is refused by every build, in predict and in fit.
    let mut no_choices = predict_body.clone();
    no_choices["label_config"] = json!(NER_CONFIG);
    let reply = same_everywhere(&host, model, "predict", &no_choices, "no Choices");
    assert_eq!(reply.status, 422, "{}", reply.raw);
}

#[test]
fn every_port_is_built_and_names_itself() {
    for model in ["substring-matching", "label-frequency"] {
        for lang in PORTS {
            let path = example_model(&format!("{model}-{lang}"));
            assert!(path.is_file(), "{} was not built", path.display());
        }
    }
}

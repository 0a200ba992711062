//! `wasml predict` and `wasml fit`: one call of a model from files, no server, with exit
//! codes that tell bad input from a failing model. Driven with the `misbehave` component.

use std::process::Command;

use serde_json::{Value, json};
use wasml_tests::{MISBEHAVE, example_model};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const CONFIG: &str = r#"<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>"#;

/// A run's exit code, stdout parsed as JSON (`Null` when it is not), and stderr.
struct Run {
    code: i32,
    answer: Value,
    stderr: String,
}

fn wasml(args: &[&str]) -> Run {
    let output = Command::new(BIN).args(args).output().expect("run wasml");
    let stdout = String::from_utf8_lossy(&output.stdout);
    Run {
        code: output.status.code().unwrap_or(-1),
        answer: serde_json::from_str(&stdout).unwrap_or(Value::Null),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    }
}

struct Files(tempfile::TempDir);

impl Files {
    fn new() -> Self {
        let files = Self(tempfile::tempdir().expect("temp dir"));
        files.write("config.xml", CONFIG);
        files
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }

    fn path(&self, name: &str) -> String {
        self.0.path().join(name).display().to_string()
    }

    fn tasks(&self, tasks: &Value) -> String {
        self.write("tasks.json", &tasks.to_string())
    }
}

fn predict(files: &Files, model: &str, tasks: &str, extra: &[&str]) -> Run {
    let config = files.path("config.xml");
    let mut args = vec![
        "predict", "--model", model, "--config", &config, "--tasks", tasks,
    ];
    args.extend_from_slice(extra);
    wasml(&args)
}

#[test]
fn predict_prints_what_the_endpoint_answers() {
    let files = Files::new();
    let tasks = files.tasks(&json!([
        {"data": {"text": "a", "action": "count"}},
        {"data": {"text": "b", "action": "count"}},
    ]));
    let run = predict(&files, MISBEHAVE, &tasks, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let results = run.answer["results"].as_array().expect("results");
    assert_eq!(results.len(), 2, "{}", run.answer);
    let version = results[0]["model_version"].as_str().expect("version");
    assert!(version.contains('+'), "{version}");
    // An example model, one task given alone, the answer of the real model.
    let one = files.tasks(&json!({"data": {"text": "I love it"}}));
    let dummy = example_model("dummy");
    let run = predict(&files, &dummy.display().to_string(), &one, &[]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.answer["results"].as_array().map(Vec::len),
        Some(1),
        "{}",
        run.answer
    );
}

#[test]
fn exit_codes_tell_bad_input_from_a_failing_model() {
    let files = Files::new();
    let not_json = files.write("broken.json", "[{\"data\": ");
    let run = predict(&files, MISBEHAVE, &not_json, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("is not JSON"), "{}", run.stderr);

    let tasks = files.tasks(&json!([{"data": {"action": "count"}}]));
    let missing = files.path("nope.wasm");
    assert_eq!(predict(&files, &missing, &tasks, &[]).code, 2);
    let not_a_component = files.write("junk.wasm", "definitely not wasm");
    let run = predict(&files, &not_a_component, &tasks, &[]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    let bad_config = files.write("bad.xml", "<View><Text name=");
    let run = wasml(&[
        "predict",
        "--model",
        MISBEHAVE,
        "--config",
        &bad_config,
        "--tasks",
        &tasks,
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);

    for action in ["error", "panic", "not-json"] {
        let tasks = files.tasks(&json!([{"data": {"action": action}}]));
        let run = predict(&files, MISBEHAVE, &tasks, &[]);
        assert_eq!(run.code, 3, "{action}: {}", run.stderr);
        assert_eq!(run.answer, Value::Null, "{action}: nothing on stdout");
    }
}

#[test]
fn fit_trains_into_a_store_that_predict_reads() {
    let files = Files::new();
    let store = files.path("store");
    let payload = files.write(
        "event.json",
        &json!({"annotation": {"id": 1, "result": []}, "task": {"id": 1, "data": {"text": "t"}}})
            .to_string(),
    );
    let config = files.path("config.xml");
    let fit = |extra: &[&str]| {
        let mut args = vec![
            "fit",
            "--model",
            MISBEHAVE,
            "--config",
            &config,
            "--payload",
            &payload,
            "--store",
            &store,
            "--project",
            "5",
        ];
        args.extend_from_slice(extra);
        wasml(&args)
    };
    let first = fit(&[]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert_eq!(
        first.answer["result"],
        json!({"seen": 1}),
        "{}",
        first.answer
    );
    let second = fit(&["--event", "START_TRAINING"]);
    // START_TRAINING without a command makes misbehave's fit panic: a model failure.
    assert_eq!(second.code, 3, "{}", second.stderr);
    let third = fit(&[]);
    assert_eq!(
        third.answer["result"],
        json!({"seen": 2}),
        "{}",
        third.answer
    );
    assert_ne!(first.answer["model_version"], third.answer["model_version"]);

    let tasks = files.tasks(&json!([{"data": {"action": "recall", "key": "events"}}]));
    let recall = |project: &str| {
        predict(
            &files,
            MISBEHAVE,
            &tasks,
            &["--store", &store, "--project", project],
        )
    };
    let trained = recall("5");
    assert_eq!(trained.code, 0, "{}", trained.stderr);
    assert_eq!(
        trained.answer["results"][0]["recalled"], "ANNOTATION_CREATED,ANNOTATION_CREATED",
        "{}",
        trained.answer
    );
    assert_eq!(
        trained.answer["results"][0]["model_version"],
        third.answer["model_version"]
    );
    // Another project's store scope holds nothing.
    assert_eq!(recall("6").answer["results"][0]["recalled"], Value::Null);

    // An event that trains nothing is bad input for `fit`.
    let not_training = fit(&["--event", "PROJECT_UPDATED"]);
    assert_eq!(not_training.code, 2, "{}", not_training.stderr);
    assert!(
        not_training.stderr.contains("not a training event"),
        "{}",
        not_training.stderr
    );
}

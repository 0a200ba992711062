//! Misbehaves as the first task's `data.action` says, so tests can check that the host
//! contains each failure to its request:
//! `ok` (one empty prediction per task), `panic`, `error`, `invalid-input`, `wrong-count`,
//! `not-json`, `no-result`, `print` (writes to stdout and stderr, then answers ok),
//! `remember` (stores the task's `data.value` under key `k` of this project's store) and
//! `recall` (answers `{"result": [], "recalled": <what key k holds, or null>}`).

wit_bindgen::generate!({ path: "../../../wit", world: "model" });

struct Misbehave;

fn action(tasks: &[String]) -> String {
    let first = tasks.first().map(String::as_str).unwrap_or_default();
    // Crude on purpose: no JSON crate, the tests control the exact text.
    for name in [
        "panic",
        "invalid-input",
        "error",
        "wrong-count",
        "not-json",
        "no-result",
        "print",
        "remember",
        "recall",
    ] {
        if first.contains(&format!("\"action\":\"{name}\"")) {
            return name.to_owned();
        }
    }
    "ok".to_owned()
}

impl Guest for Misbehave {
    fn info() -> ModelInfo {
        ModelInfo {
            name: "Misbehave".into(),
            version: "0.0.1".into(),
            description: "Fails on request, for tests.".into(),
            interactive: false,
        }
    }

    fn predict(
        _: Request,
        tasks: Vec<String>,
        _: Option<String>,
    ) -> Result<Vec<String>, ModelError> {
        let ok = || {
            tasks
                .iter()
                .map(|_| r#"{"result": []}"#.to_owned())
                .collect()
        };
        match action(&tasks).as_str() {
            "panic" => panic!("misbehave was asked to panic"),
            "error" => Err(ModelError::Internal("asked to fail".into())),
            "invalid-input" => Err(ModelError::InvalidInput("this task is not usable".into())),
            "wrong-count" => Ok(vec![]),
            "not-json" => Ok(tasks.iter().map(|_| "{not json".to_owned()).collect()),
            "no-result" => Ok(tasks.iter().map(|_| r#"{"score": 1}"#.to_owned()).collect()),
            "print" => {
                println!("misbehave says hello on stdout");
                eprintln!("misbehave says hello on stderr");
                Ok(ok())
            }
            "remember" => {
                let value = between(&tasks[0], "\"value\":\"", "\"");
                wasml::model::store::set("k", value.as_bytes())
                    .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                Ok(ok())
            }
            "recall" => {
                let stored = wasml::model::store::get("k")
                    .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                let recalled = match stored {
                    Some(bytes) => format!("\"{}\"", String::from_utf8_lossy(&bytes)),
                    None => "null".to_owned(),
                };
                Ok(tasks
                    .iter()
                    .map(|_| format!(r#"{{"result": [], "recalled": {recalled}}}"#))
                    .collect())
            }
            _ => Ok(ok()),
        }
    }

    fn fit(_: Request, event: String, _: String) -> Result<FitOutcome, ModelError> {
        if event == "START_TRAINING" {
            panic!("misbehave cannot train");
        }
        Ok(FitOutcome {
            result: "{\"seen\": true}".into(),
            trained: false,
        })
    }
}

/// The text between the first `start` and the following `end` (empty when absent).
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let Some(from) = text.find(start).map(|i| i + start.len()) else {
        return "";
    };
    let to = text[from..].find(end).map_or(text.len(), |i| from + i);
    &text[from..to]
}

export!(Misbehave);

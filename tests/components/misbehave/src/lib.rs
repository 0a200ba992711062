//! Misbehaves as the first task's `data.action` says, so tests can check that the host
//! contains each failure to its request:
//! `ok` (one empty prediction per task), `panic`, `error`, `invalid-input`, `wrong-count`,
//! `not-json`, `no-result`, `print` (writes to stdout and stderr, then answers ok), `region`
//! (one region per task from its `data.from`, `to`, `type`, `label` and `x`),
//! `remember` (stores the task's `data.value` under key `k` of this project's store),
//! `recall` (answers `{"result": [], "recalled": <what key `data.key` (default `k`) holds,
//! or null>}`), `burst` (writes `data.n` keys `burst/<i>` whose values all start with
//! `data.round`) and `check-burst` (answers `{"result": [], "keys": n, "rounds": "r1,r2"}`
//! with the distinct rounds found).
//!
//! Hostile actions: `spin` (an infinite loop), `memory-bomb` (allocates until refused),
//! `flood` (writes 8 MiB to stdout), `log-flood` (8 MiB through the `log` import), `fetch`
//! (fetches each of the space-separated references in `data.url` through `task-data`, with
//! the task's `id`, and answers one slot `{"result": [], "fetched": [{"size", "type", "text"}
//! or {"error": "<kind>: <message>"}, ...]}`), and `open-file`, `read-env`, `connect` (try to read
//! `data.path`, the environment variable `data.name`, or connect to `data.addr`; the
//! prediction says `{"result": [], "got": "<what happened>"}`).
//!
//! `fit` follows the payload's `"fit"` field: `sleep:<ms>` (busy for that long, then as
//! default), `trap-after-write` (writes key `partial`, then panics), `spin` (never returns),
//! and by default appends the event name to key `events` and reports trained state.
//! `START_TRAINING` without a `"fit"` field panics.

// `generate_all`: the world also imports the standard `wasi:nn` package.
wit_bindgen::generate!({ path: "../../../wit", world: "model", generate_all });

use wasml::model::task_data::{self, FetchError};
use wasml::model::{log, store};

struct Misbehave;

/// Calls this instance has served: 1 on a fresh instance, more on a warm one.
static CALLS: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);

/// Memory kept across calls by `hold`.
static HELD: std::sync::Mutex<Vec<Vec<u8>>> = std::sync::Mutex::new(Vec::new());

fn action(tasks: &[String]) -> String {
    let first = tasks.first().map(String::as_str).unwrap_or_default();
    // Crude on purpose: no JSON crate, the tests control the exact text.
    for name in [
        "count",
        "hold",
        "panic",
        "invalid-input",
        "error",
        "wrong-count",
        "not-json",
        "no-result",
        "print",
        "remember",
        "recall",
        "check-burst",
        "burst",
        "spin",
        "memory-bomb",
        "flood",
        "log-flood",
        "fetch",
        "open-file",
        "read-env",
        "connect",
        "region",
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
        let calls = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed) + 1;
        match action(&tasks).as_str() {
            "count" => Ok(tasks
                .iter()
                .map(|_| format!(r#"{{"result": [], "calls": {calls}}}"#))
                .collect()),
            "hold" => {
                let mib: usize = between(&tasks[0], "\"mib\":\"", "\"").parse().unwrap_or(1);
                if let Ok(mut held) = HELD.lock() {
                    held.push(vec![1u8; mib << 20]);
                }
                Ok(tasks
                    .iter()
                    .map(|_| format!(r#"{{"result": [], "calls": {calls}}}"#))
                    .collect())
            }
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
                store::set("k", value.as_bytes())
                    .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                Ok(ok())
            }
            "spin" => loop {
                std::hint::spin_loop();
            },
            "memory-bomb" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    // Touch every page so the memory is really committed.
                    hoard.push(vec![1u8; 16 << 20]);
                }
            }
            "flood" => {
                let line = "flood ".repeat(100);
                for _ in 0..(8 << 20) / line.len() {
                    println!("{line}");
                }
                Ok(ok())
            }
            "fetch" => {
                // `data.url`: one or more references separated by spaces, fetched in turn.
                let task_id = between(&tasks[0], "\"id\":", ",")
                    .trim()
                    .parse::<u64>()
                    .ok();
                let outcomes: Vec<String> = between(&tasks[0], "\"url\":\"", "\"")
                    .split_whitespace()
                    .map(|url| match task_data::fetch(url, task_id) {
                        Ok(fetched) => format!(
                            "{{\"size\":{},\"type\":{},\"text\":{}}}",
                            fetched.size,
                            fetched
                                .content_type
                                .map_or("null".to_owned(), |t| json_string(&t)),
                            json_string(&String::from_utf8_lossy(
                                &fetched.bytes[..fetched.bytes.len().min(200)]
                            )),
                        ),
                        Err(err) => format!("{{\"error\":{}}}", json_string(&fetch_error(&err))),
                    })
                    .collect();
                Ok(vec![format!(
                    "{{\"result\": [], \"fetched\": [{}]}}",
                    outcomes.join(",")
                )])
            }
            "log-flood" => {
                let line = "log flood ".repeat(100);
                for _ in 0..(8 << 20) / line.len() {
                    log::log(log::Level::Info, &line);
                }
                Ok(ok())
            }
            "open-file" | "read-env" | "connect" => {
                let arg = |key: &str| between(&tasks[0], &format!("\"{key}\":\""), "\"").to_owned();
                let got = match action(&tasks).as_str() {
                    "open-file" => match std::fs::read(arg("path")) {
                        Ok(bytes) => format!("read {} bytes", bytes.len()),
                        Err(e) => format!("denied: {e}"),
                    },
                    "read-env" => match std::env::var(arg("name")) {
                        Ok(value) => format!("value {value}"),
                        Err(e) => format!("denied: {e}"),
                    },
                    _ => match std::net::TcpStream::connect(arg("addr")) {
                        Ok(_) => "connected".to_owned(),
                        Err(e) => format!("denied: {e}"),
                    },
                };
                let answer = format!(r#"{{"result": [], "got": "{}"}}"#, got.replace('"', "'"));
                Ok(tasks.iter().map(|_| answer.clone()).collect())
            }
            "burst" => {
                let round = between(&tasks[0], "\"round\":\"", "\"");
                let n: usize = between(&tasks[0], "\"n\":\"", "\"").parse().unwrap_or(10);
                // Large values so a burst spans many pages of the database file.
                let value = format!("{round}|{}", "x".repeat(4096));
                for i in 0..n {
                    store::set(&format!("burst/{i:04}"), value.as_bytes())
                        .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                }
                Ok(ok())
            }
            "check-burst" => {
                let keys = store::list_keys("burst/")
                    .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                let mut rounds: Vec<String> = Vec::new();
                for key in &keys {
                    let value = store::get(key)
                        .map_err(|e| ModelError::Internal(format!("{e:?}")))?
                        .ok_or_else(|| ModelError::Internal(format!("{key} listed but absent")))?;
                    let text = String::from_utf8(value)
                        .map_err(|_| ModelError::Internal(format!("{key} is not UTF-8")))?;
                    let (round, pad) = text.split_once('|').unwrap_or(("torn", ""));
                    let round = if pad.len() == 4096 && pad.bytes().all(|b| b == b'x') {
                        round.to_owned()
                    } else {
                        format!("torn:{round}")
                    };
                    if !rounds.contains(&round) {
                        rounds.push(round);
                    }
                }
                let answer = format!(
                    r#"{{"result": [], "keys": {}, "rounds": "{}"}}"#,
                    keys.len(),
                    rounds.join(",")
                );
                Ok(tasks.iter().map(|_| answer.clone()).collect())
            }
            "recall" => {
                let key = match between(&tasks[0], "\"key\":\"", "\"") {
                    "" => "k",
                    key => key,
                };
                let stored = store::get(key).map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                let recalled = match stored {
                    Some(bytes) => format!("\"{}\"", String::from_utf8_lossy(&bytes)),
                    None => "null".to_owned(),
                };
                Ok(tasks
                    .iter()
                    .map(|_| format!(r#"{{"result": [], "recalled": {recalled}}}"#))
                    .collect())
            }
            // One region per task from its `from`, `to`, `type`, `label` and `x` fields: a
            // prediction that fits the label config or not, as the test asks.
            "region" => Ok(tasks
                .iter()
                .map(|task| {
                    let field = |key: &str| between(task, &format!("\"{key}\":\""), "\"");
                    let x = Some(field("x")).filter(|x| !x.is_empty()).unwrap_or("0");
                    let kind = field("type");
                    format!(
                        r#"{{"result": [{{"from_name": "{}", "to_name": "{}", "type": "{kind}", "value": {{"{kind}": ["{}"], "x": {x}, "y": 0, "width": 1, "height": 1}}}}]}}"#,
                        field("from"),
                        field("to"),
                        field("label"),
                    )
                })
                .collect()),
            _ => Ok(ok()),
        }
    }

    fn fit(_: Request, event: String, payload: String) -> Result<FitOutcome, ModelError> {
        let compact = payload.replace([' ', '\n'], "");
        let command = between(&compact, "\"fit\":\"", "\"");
        if event == "START_TRAINING" && command.is_empty() {
            panic!("misbehave cannot train");
        }
        // Read-modify-write around the sleep: two fits of one project running at the same
        // time would both read the old list, and one of their events would be lost.
        let mut events = store::get("events")
            .map_err(|e| ModelError::Internal(format!("{e:?}")))?
            .map(|v| String::from_utf8_lossy(&v).into_owned())
            .unwrap_or_default();
        if let Some(ms) = command.strip_prefix("sleep:") {
            let ms: u64 = ms.parse().unwrap_or(0);
            let started = std::time::Instant::now();
            while started.elapsed() < std::time::Duration::from_millis(ms) {
                std::hint::spin_loop();
            }
        }
        match command {
            "trap-after-write" => {
                store::set("partial", b"written before the trap")
                    .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
                panic!("misbehave trapped after writing");
            }
            "spin" => loop {
                std::hint::spin_loop();
            },
            _ => {}
        }
        if !events.is_empty() {
            events.push(',');
        }
        events.push_str(&event);
        store::set("events", events.as_bytes())
            .map_err(|e| ModelError::Internal(format!("{e:?}")))?;
        Ok(FitOutcome {
            result: format!("{{\"seen\": {}}}", events.split(',').count()),
            trained: true,
        })
    }
}

/// The text between the first `start` and the following `end` (empty when absent).
/// `text` as a JSON string literal.
fn json_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `<kind>: <message>` of a fetch error.
fn fetch_error(err: &FetchError) -> String {
    let (kind, message) = match err {
        FetchError::NotAllowed(m) => ("not-allowed", m),
        FetchError::NotFound(m) => ("not-found", m),
        FetchError::Unauthorized(m) => ("unauthorized", m),
        FetchError::TooLarge(m) => ("too-large", m),
        FetchError::Timeout(m) => ("timeout", m),
        FetchError::Unavailable(m) => ("unavailable", m),
        FetchError::InvalidUrl(m) => ("invalid-url", m),
    };
    format!("{kind}: {message}")
}

fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let Some(from) = text.find(start).map(|i| i + start.len()) else {
        return "";
    };
    let to = text[from..].find(end).map_or(text.len(), |i| from + i);
    &text[from..to]
}

export!(Misbehave);

//! Operations: the host's Prometheus metrics (parsed with a Prometheus text parser), request
//! ids in answers and log lines, JSON logs, and `/versions` for Label Studio's model-version
//! picker. Driven with the `misbehave` test component (see tests/components/misbehave).

use std::path::Path;

use serde_json::{Value, json};
use wasml_tests::{Host, HostBuilder, MISBEHAVE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
const CONFIG: &str = r#"<View><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>"#;

fn start(builder: HostBuilder) -> Host {
    let host = builder.start();
    host.wait_ready();
    host
}

fn misbehave() -> HostBuilder {
    HostBuilder::new(BIN).model("misbehave", Path::new(MISBEHAVE))
}

fn predict(host: &Host, project: u64, tasks: usize, action: &str) -> wasml_tests::Reply {
    let tasks: Vec<Value> = (0..tasks)
        .map(|_| json!({"data": {"text": "t", "action": action}}))
        .collect();
    host.post_json(
        "/models/misbehave/predict",
        &json!({"project": format!("{project}.1700000000"), "label_config": CONFIG, "tasks": tasks}),
    )
}

/// Trains `project` once (misbehave's `fit` commits trained state) and waits for the job.
fn train(host: &Host, project: u64) -> Value {
    let reply = host.post_json(
        "/models/misbehave/webhook",
        &json!({
            "action": "ANNOTATION_CREATED",
            "project": {"id": project, "label_config": CONFIG},
            "annotation": {"id": 1, "result": []},
            "task": {"id": 1, "data": {"text": "t"}},
        }),
    );
    assert!(matches!(reply.status, 201 | 202), "{}", reply.raw);
    let url = reply.body["job_url"]
        .as_str()
        .unwrap_or_else(|| panic!("no job_url: {}", reply.raw))
        .to_owned();
    let job = host.finished_job(&url);
    assert_eq!(job["state"], "done", "{job}");
    job
}

/// The scraped samples, parsed by `prometheus-parse`.
struct Scrape(prometheus_parse::Scrape);

impl Scrape {
    fn of(text: &str) -> Self {
        let lines = text.lines().map(|line| Ok(line.to_owned()));
        Self(prometheus_parse::Scrape::parse(lines).expect("Prometheus text"))
    }

    /// The value of the sample `name` whose labels include `labels` (0 when absent).
    /// Histograms answer their count.
    fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .samples
            .iter()
            .filter(|s| s.metric == name)
            .filter(|s| labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .map(|s| match &s.value {
                prometheus_parse::Value::Counter(v)
                | prometheus_parse::Value::Gauge(v)
                | prometheus_parse::Value::Untyped(v) => *v,
                prometheus_parse::Value::Histogram(buckets) => {
                    buckets.iter().map(|b| b.count).fold(0.0, f64::max)
                }
                prometheus_parse::Value::Summary(_) => f64::NAN,
            })
            .sum()
    }

    fn has(&self, name: &str) -> bool {
        self.0.samples.iter().any(|s| s.metric == name)
    }
}

fn scrape(host: &Host, path: &str) -> Scrape {
    let reply = host.get(path);
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let content_type = reply.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    assert!(reply.raw.ends_with("# EOF\n"), "{}", reply.raw);
    Scrape::of(&reply.raw)
}

#[test]
fn metrics_count_requests_tasks_guest_calls_jobs_and_loads() {
    let host = start(misbehave());
    for _ in 0..3 {
        assert_eq!(predict(&host, 1, 4, "count").status, 200);
    }
    assert_eq!(predict(&host, 1, 1, "error").status, 500);
    assert_eq!(host.get("/no/such/path").status, 404);
    assert_eq!(host.get("/models/unknown-model/health").status, 404);
    train(&host, 1);

    let m = scrape(&host, "/metrics");
    let predict_ok = [
        ("model", "misbehave"),
        ("endpoint", "predict"),
        ("status", "2xx"),
    ];
    assert_eq!(m.value("wasml_http_requests_total", &predict_ok), 3.0);
    let predict_failed = [
        ("model", "misbehave"),
        ("endpoint", "predict"),
        ("status", "5xx"),
    ];
    assert_eq!(m.value("wasml_http_requests_total", &predict_failed), 1.0);
    // Requests that reached no model are counted without one; a made-up name is no label.
    let unrouted = [("model", ""), ("endpoint", "unrouted"), ("status", "4xx")];
    assert_eq!(m.value("wasml_http_requests_total", &unrouted), 1.0);
    let unknown = [("model", ""), ("endpoint", "health"), ("status", "4xx")];
    assert_eq!(m.value("wasml_http_requests_total", &unknown), 1.0);
    assert!(
        !m.0.samples
            .iter()
            .any(|s| s.labels.get("model") == Some("unknown-model"))
    );
    let latency = [("model", "misbehave"), ("endpoint", "predict")];
    assert_eq!(
        m.value("wasml_http_request_duration_seconds_count", &latency)
            .max(m.value("wasml_http_request_duration_seconds", &latency)),
        4.0
    );
    assert_eq!(
        m.value("wasml_tasks_predicted_total", &[("model", "misbehave")]),
        12.0
    );
    // The load's `info`, four predicts and one fit ran the guest; warm instances served
    // some without instantiating.
    let run = [("model", "misbehave"), ("phase", "run")];
    let runs = m
        .value("wasml_guest_call_seconds_count", &run)
        .max(m.value("wasml_guest_call_seconds", &run));
    assert_eq!(runs, 6.0);
    let instantiate = [("model", "misbehave"), ("phase", "instantiate")];
    let instantiated = m
        .value("wasml_guest_call_seconds_count", &instantiate)
        .max(m.value("wasml_guest_call_seconds", &instantiate));
    let reused = m.value("wasml_instances_reused_total", &[("model", "misbehave")]);
    assert!(instantiated >= 1.0, "no instantiation counted");
    assert_eq!(instantiated + reused, 6.0);
    let trained = [("model", "misbehave"), ("outcome", "trained")];
    assert_eq!(m.value("wasml_fit_jobs_total", &trained), 1.0);
    assert_eq!(
        m.value("wasml_fit_queue_depth", &[("model", "misbehave")]),
        0.0
    );
    assert_eq!(
        m.value("wasml_model_loads_total", &[("model", "misbehave")]),
        1.0
    );
    assert!(m.value("wasml_connections_open", &[]) >= 1.0);
    assert!(m.value("wasml_connections_limit", &[]) >= 1.0);
    assert!(m.has("wasml_request_body_bytes_limit"));

    // The model's own JSON counters, which Label Studio reads, come from the same counts.
    let own = host.get("/models/misbehave/metrics");
    assert_eq!(own.status, 200, "{}", own.raw);
    assert_eq!(own.body["predict_requests"], 4, "{}", own.raw);
    assert_eq!(own.body["predict_errors"], 1, "{}", own.raw);
    assert_eq!(own.body["tasks_predicted"], 12, "{}", own.raw);
    assert_eq!(own.body["fit_calls"], 1, "{}", own.raw);
}

#[test]
fn metrics_listen_serves_only_metrics_on_its_own_address() {
    let host = start(misbehave().args(&["--metrics-listen", "127.0.0.1:0"]));
    let line = host.wait_for_log(&["metrics on http://"]);
    let url = line
        .split("metrics on ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no address in {line:?}"))
        .to_owned();
    assert_eq!(predict(&host, 1, 2, "count").status, 200);
    let body = ureq::get(&url)
        .call()
        .expect("metrics listener")
        .into_body()
        .read_to_string()
        .expect("text");
    let m = Scrape::of(&body);
    let predict_ok = [
        ("model", "misbehave"),
        ("endpoint", "predict"),
        ("status", "2xx"),
    ];
    assert_eq!(m.value("wasml_http_requests_total", &predict_ok), 1.0);
    let other = url.replace("/metrics", "/models");
    match ureq::get(&other).call() {
        Err(ureq::Error::StatusCode(code)) => assert_eq!(code, 404),
        other => panic!("{other:?}"),
    }
}

#[test]
fn request_ids_are_answered_and_tie_log_lines_to_requests() {
    let host = start(misbehave().args(&["--access-log"]));
    // A client's id is kept, in the header, the error body and every log line.
    let reply = host.post_with(
        "/models/misbehave/predict",
        "{not json",
        &[
            ("content-type", "application/json"),
            ("x-request-id", "ls-req-42"),
        ],
    );
    assert_eq!(reply.status, 400, "{}", reply.raw);
    assert_eq!(reply.header("x-request-id"), Some("ls-req-42"));
    assert_eq!(reply.body["request_id"], "ls-req-42", "{}", reply.raw);
    host.wait_for_log(&["id=ls-req-42", "status=400"]);

    // Without one the host makes one; the guest's stdout inherits the request's span.
    let reply = predict(&host, 7, 1, "print");
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let id = reply
        .header("x-request-id")
        .expect("an id on every answer")
        .to_owned();
    let printed = host.wait_for_log(&["misbehave says hello on stdout"]);
    assert!(printed.contains(&format!("id={id}")), "{printed}");
    assert!(printed.contains("model=misbehave"), "{printed}");
    assert!(printed.contains("project=7"), "{printed}");

    // A host failure's detail names the id its cause was logged under.
    let failed = predict(&host, 7, 1, "error");
    assert_eq!(failed.status, 500, "{}", failed.raw);
    let id = failed.header("x-request-id").expect("id").to_owned();
    assert_eq!(failed.body["request_id"], id.as_str(), "{}", failed.raw);
    assert_ne!(
        predict(&host, 7, 1, "count").header("x-request-id"),
        Some(id.as_str())
    );
}

#[test]
fn json_logs_carry_the_request_span() {
    let host = start(misbehave().args(&["--log-format", "json", "--access-log"]));
    let reply = host.post_with(
        "/models/misbehave/predict",
        &json!({"project": "3", "label_config": CONFIG, "tasks": [{"data": {"action": "print"}}]})
            .to_string(),
        &[
            ("content-type", "application/json"),
            ("x-request-id", "json-1"),
        ],
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
    let line = host.wait_for_log(&["misbehave says hello on stdout"]);
    let entry: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{e}: {line}"));
    assert_eq!(entry["span"]["name"], "request", "{entry}");
    assert_eq!(entry["span"]["id"], "json-1", "{entry}");
    assert_eq!(entry["span"]["model"], "misbehave", "{entry}");
    assert_eq!(entry["span"]["project"], "3", "{entry}");
    assert!(
        entry["level"].is_string() && entry["timestamp"].is_string(),
        "{entry}"
    );
    // Every line is JSON, the start-up lines too.
    for line in host.logs().lines().filter(|l| !l.trim().is_empty()) {
        serde_json::from_str::<Value>(line).unwrap_or_else(|e| panic!("{e}: {line}"));
    }
}

#[test]
fn versions_list_trained_versions_newest_first() {
    let host = start(misbehave());
    let untrained = host.setup_version("misbehave", 1, CONFIG);
    let versions = host.get("/models/misbehave/versions");
    assert_eq!(versions.status, 200, "{}", versions.raw);
    assert_eq!(versions.body, json!({"versions": [untrained]}));
    // The root alias answers the same for the only model.
    assert_eq!(host.get("/versions").body, versions.body);

    train(&host, 1);
    let once = host.setup_version("misbehave", 1, CONFIG);
    train(&host, 1);
    let twice = host.setup_version("misbehave", 1, CONFIG);
    assert_ne!(once, twice);
    let listed = host.get("/models/misbehave/versions").body;
    assert_eq!(
        listed,
        json!({"versions": [twice, once, untrained]}),
        "{listed}"
    );

    // One project's list: project 2 never trained.
    let other = host
        .get("/models/misbehave/versions?project=2.1700000000")
        .body;
    assert_eq!(other, json!({"versions": [untrained]}));
    let own = host.get("/models/misbehave/versions?project=1").body;
    assert_eq!(own["versions"][0], twice);
}

#[test]
fn components_compile_one_at_a_time_smallest_first() {
    // Sizes: label-frequency-c about 90 KB, dummy 170 KB, text-classifier 390 KB. The
    // folder lists them in another order, and nothing is in the (fresh) compile cache.
    let host = start(
        HostBuilder::new(BIN)
            .example("text-classifier")
            .example("dummy")
            .example("label-frequency-c"),
    );
    // The largest is loaded last, and the log is one stream: its line means all are in.
    host.wait_for_log(&["model loaded", "model=\"text-classifier\""]);
    let loaded: Vec<String> = host
        .logs()
        .lines()
        .filter(|line| line.contains("model loaded") && line.contains("from_cache=false"))
        .filter_map(|line| line.split("model=").nth(1))
        .filter_map(|rest| rest.split_whitespace().next())
        .map(|name| name.trim_matches('"').to_owned())
        .collect();
    assert_eq!(
        loaded,
        ["label-frequency-c", "dummy", "text-classifier"],
        "{}",
        host.logs()
    );
    // The largest waited for its turn while the others compiled.
    host.wait_for_log(&["waiting to compile", "model=\"text-classifier\""]);
    let entry = host.model_entry("text-classifier").expect("listed");
    assert_eq!(entry["state"], "ready", "{entry}");
}

const IMAGE_CONFIG: &str = r#"<View><Image name="img" value="$image"/><RectangleLabels name="box" toName="img"><Label value="Car"/></RectangleLabels><Text name="text" value="$text"/><Choices name="c" toName="text"><Choice value="A"/></Choices></View>"#;

/// One task asking misbehave for a region (see its `region` action).
fn region_task(id: u64, from: &str, to: &str, kind: &str, label: &str, x: &str) -> Value {
    json!({"id": id, "data": {"action": "region", "image": "i.png", "text": "t",
        "from": from, "to": to, "type": kind, "label": label, "x": x}})
}

fn predict_regions(host: &Host, tasks: &[Value]) -> wasml_tests::Reply {
    host.post_json(
        "/models/misbehave/predict",
        &json!({"project": "1", "label_config": IMAGE_CONFIG, "tasks": tasks}),
    )
}

#[test]
fn predictions_that_do_not_fit_the_label_config_are_reported() {
    let host = start(misbehave());
    let fits = region_task(1, "box", "img", "rectanglelabels", "Car", "10");
    assert_eq!(
        predict_regions(&host, std::slice::from_ref(&fits)).status,
        200
    );
    let entry = host.model_entry("misbehave").expect("listed");
    assert_eq!(entry["last_invalid_prediction"], Value::Null, "{entry}");

    let cases = [
        (
            region_task(2, "boxes", "img", "rectanglelabels", "Car", "10"),
            "unknown_from_name",
        ),
        (
            region_task(3, "box", "text", "rectanglelabels", "Car", "10"),
            "wrong_to_name",
        ),
        (
            region_task(4, "box", "img", "polygonlabels", "Car", "10"),
            "wrong_type",
        ),
        (
            region_task(5, "box", "img", "rectanglelabels", "Bus", "10"),
            "unknown_label",
        ),
        (
            region_task(6, "box", "img", "rectanglelabels", "Car", "150"),
            "out_of_range",
        ),
    ];
    for (task, problem) in &cases {
        // Answered as the model gave it: Label Studio decides what to show.
        let reply = predict_regions(&host, &[fits.clone(), task.clone()]);
        assert_eq!(reply.status, 200, "{}", reply.raw);
        let last = &host.model_entry("misbehave").expect("listed")["last_invalid_prediction"];
        assert_eq!(last["problem"], *problem, "{last}");
        assert_eq!(last["task"], task["id"], "{last}");
        assert!(
            last["detail"].as_str().is_some_and(|d| !d.is_empty()),
            "{last}"
        );
        assert!(last["model_version"].is_string(), "{last}");
    }
    let m = scrape(&host, "/metrics");
    for (_, problem) in &cases {
        let labels = [("model", "misbehave"), ("problem", *problem)];
        assert_eq!(
            m.value("wasml_invalid_predictions_total", &labels),
            1.0,
            "{problem}"
        );
    }
    // Logged once for the model version, not once per prediction.
    let line = host.wait_for_log(&["a prediction Label Studio cannot show"]);
    assert!(line.contains("task=2"), "{line}");
    let logged = host
        .logs()
        .matches("a prediction Label Studio cannot show")
        .count();
    assert_eq!(logged, 1, "{}", host.logs());
}

#[test]
fn a_strict_model_fails_requests_with_predictions_that_do_not_fit() {
    let host = start(misbehave().models_file("misbehave.toml", b"strict_predictions = true\n"));
    let fits = region_task(1, "box", "img", "rectanglelabels", "Car", "10");
    assert_eq!(
        predict_regions(&host, std::slice::from_ref(&fits)).status,
        200
    );
    let wrong = region_task(7, "box", "img", "rectanglelabels", "Bus", "10");
    let reply = predict_regions(&host, &[fits, wrong]);
    assert_eq!(reply.status, 500, "{}", reply.raw);
    assert_eq!(reply.body["error"], "invalid model output", "{}", reply.raw);
    let detail = reply.body["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("task 7") && detail.contains("unknown_label"),
        "{detail}"
    );
    assert!(detail.contains("\"Bus\""), "{detail}");
    let entry = host.model_entry("misbehave").expect("listed");
    assert_eq!(entry["last_invalid_prediction"]["task"], 7, "{entry}");
}

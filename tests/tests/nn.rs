//! `wasi:nn` on ONNX Runtime: a probe component runs the calls each task describes against
//! real graphs (tiny ones encoded by `wasml_tests::onnx`, and the real PP-OCRv4 detector), on
//! the real ONNX Runtime that `scripts/install-toolchains` installs. Every wrong tensor, name
//! or budget fails only its request, with a `wasi:nn` error the guest can read or a clear
//! JSON error, and the host keeps serving.

use serde_json::{Value, json};
use wasml_tests::onnx::{self, Elem};
use wasml_tests::{Host, HostBuilder, MISBEHAVE, MODELS_DIR, NN_PROBE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

/// The probe's manifest: every test graph, under the names the tests use.
const GRAPHS: &str = r#"
[nn.graphs]
add_f32 = "graphs/add_f32.onnx"
add_i64 = "graphs/add_i64.onnx"
id_f16 = "graphs/id_f16.onnx"
id_bf16 = "graphs/id_bf16.onnx"
id_f64 = "graphs/id_f64.onnx"
id_u8 = "graphs/id_u8.onnx"
id_i32 = "graphs/id_i32.onnx"
id_bool = "graphs/id_bool.onnx"
to_int8 = "graphs/to_int8.onnx"
"#;

fn with_graphs(builder: HostBuilder) -> HostBuilder {
    let graphs = [
        ("add_f32", onnx::add(Elem::Float)),
        ("add_i64", onnx::add(Elem::Int64)),
        ("id_f16", onnx::identity(Elem::Float16)),
        ("id_bf16", onnx::identity(Elem::Bfloat16)),
        ("id_f64", onnx::identity(Elem::Double)),
        ("id_u8", onnx::identity(Elem::Uint8)),
        ("id_i32", onnx::identity(Elem::Int32)),
        ("id_bool", onnx::identity(Elem::Bool)),
        ("to_int8", onnx::cast(Elem::Int8)),
    ];
    graphs.into_iter().fold(builder, |b, (name, bytes)| {
        b.models_file(&format!("graphs/{name}.onnx"), &bytes)
    })
}

fn probe_host(manifest_extra: &str) -> Host {
    let host = with_graphs(HostBuilder::new(BIN))
        .model("probe", std::path::Path::new(NN_PROBE))
        .models_file(
            "probe.toml",
            format!("{manifest_extra}\n{GRAPHS}").as_bytes(),
        )
        .start();
    host.wait_ready();
    host
}

/// Runs `spec` through the probe: the status and the slot it answered.
fn probe(host: &Host, spec: Value) -> (u16, Value) {
    let reply = host.post_json(
        "/models/probe/predict",
        &json!({
            "tasks": [{"id": 1, "data": {"nn": spec}}],
            "label_config": "<View><Text name=\"t\" value=\"$t\"/></View>",
        }),
    );
    let slot = reply.body["results"][0].clone();
    (reply.status, if slot.is_null() { reply.body } else { slot })
}

fn input(name: &str, ty: &str, dims: &[u32], values: &[f64]) -> Value {
    json!({"name": name, "type": ty, "dims": dims, "values": values})
}

fn error_of(slot: &Value) -> (String, String) {
    (
        slot["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        slot["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    )
}

#[test]
fn graphs_compute_with_every_tensor_type_in_and_out() {
    let host = probe_host("");
    let (status, slot) = probe(
        &host,
        json!({"graph": "add_f32", "inputs": [
            input("a", "FP32", &[2], &[1.0, 2.0]),
            input("b", "FP32", &[2], &[0.5, -4.0]),
        ]}),
    );
    assert_eq!(status, 200, "{slot}");
    assert_eq!(slot["outputs"][0]["name"], "sum");
    assert_eq!(slot["outputs"][0]["type"], "FP32");
    assert_eq!(slot["outputs"][0]["values"], json!([1.5, -2.0]));

    // i64 inputs: the stock wasmtime backend panicked the host on these.
    let (_, slot) = probe(
        &host,
        json!({"graph": "add_i64", "inputs": [
            input("a", "I64", &[2], &[40.0, -7.0]),
            input("b", "I64", &[2], &[2.0, 7.0]),
        ]}),
    );
    assert_eq!(slot["outputs"][0]["values"], json!([42.0, 0.0]), "{slot}");

    // Each element type travels unchanged; ONNX bool travels as U8 0/1.
    for (graph, ty, values, expected) in [
        (
            "id_f16",
            "FP16",
            vec![15360.0, 49152.0],
            vec![15360.0, 49152.0],
        ),
        (
            "id_bf16",
            "BF16",
            vec![16256.0, 49024.0],
            vec![16256.0, 49024.0],
        ),
        ("id_f64", "FP64", vec![0.1, -1e300], vec![0.1, -1e300]),
        ("id_u8", "U8", vec![0.0, 255.0, 7.0], vec![0.0, 255.0, 7.0]),
        (
            "id_i32",
            "I32",
            vec![-2147483648.0, 5.0],
            vec![-2147483648.0, 5.0],
        ),
        ("id_bool", "U8", vec![0.0, 1.0, 2.0], vec![0.0, 1.0, 1.0]),
    ] {
        let dims = [values.len() as u32];
        let (status, slot) = probe(
            &host,
            json!({"graph": graph, "inputs": [input("x", ty, &dims, &values)]}),
        );
        assert_eq!(status, 200, "{graph}: {slot}");
        assert_eq!(slot["outputs"][0]["type"], ty, "{graph}: {slot}");
        assert_eq!(slot["outputs"][0]["dims"], json!(dims), "{graph}");
        assert_eq!(slot["outputs"][0]["values"], json!(expected), "{graph}");
    }

    let models = host.get("/models").body;
    let probe_entry = host.model_entry("probe").expect("listed");
    let graphs = probe_entry["nn"]["graphs"]
        .as_array()
        .expect("graphs")
        .clone();
    let add = graphs
        .iter()
        .find(|g| g["name"] == "add_f32")
        .expect("add_f32 listed");
    assert_eq!(
        add["inputs"][0],
        json!({"name": "a", "type": "float32", "shape": [2]})
    );
    assert_eq!(add["outputs"][0]["name"], "sum");
    assert_eq!(add["inferences"], 1, "{add}");
    assert!(add["load_ms"].is_u64());
    let identity = graphs
        .iter()
        .find(|g| g["name"] == "id_bool")
        .expect("listed");
    assert_eq!(
        identity["inputs"][0]["shape"],
        json!([-1]),
        "free dimension"
    );
    assert_eq!(
        models["nn"]["onnxruntime"]["state"], "loaded",
        "{}",
        models["nn"]
    );
}

#[test]
fn wrong_tensors_names_and_graphs_are_wasi_nn_errors_for_that_request_only() {
    let host = probe_host("");
    let cases = [
        (
            "wrong type",
            json!({"graph": "add_i64", "inputs": [
                input("a", "FP32", &[2], &[1.0, 2.0]), input("b", "I64", &[2], &[1.0, 2.0])]}),
            "invalid-argument",
            "takes I64, not FP32",
        ),
        (
            "wrong shape",
            json!({"graph": "add_f32", "inputs": [
                input("a", "FP32", &[3], &[1.0, 2.0, 3.0]), input("b", "FP32", &[2], &[1.0, 2.0])]}),
            "invalid-argument",
            "shape [3]",
        ),
        (
            "wrong rank",
            json!({"graph": "add_f32", "inputs": [
                input("a", "FP32", &[1, 2], &[1.0, 2.0]), input("b", "FP32", &[2], &[1.0, 2.0])]}),
            "invalid-argument",
            "shape [1, 2]",
        ),
        (
            "data shorter than the dimensions",
            json!({"graph": "add_f32", "inputs": [
                {"name": "a", "type": "FP32", "dims": [2], "fill": 1.0, "bytes": 7},
                input("b", "FP32", &[2], &[1.0, 2.0])]}),
            "invalid-argument",
            "7 bytes",
        ),
        (
            "unknown input",
            json!({"graph": "add_f32", "inputs": [
                input("a", "FP32", &[2], &[1.0, 2.0]), input("c", "FP32", &[2], &[1.0, 2.0])]}),
            "invalid-argument",
            "no input `c`",
        ),
        (
            "missing input",
            json!({"graph": "add_f32", "inputs": [input("a", "FP32", &[2], &[1.0, 2.0])]}),
            "invalid-argument",
            "needs inputs [\"b\"]",
        ),
        (
            "unknown graph",
            json!({"graph": "yolo", "inputs": []}),
            "not-found",
            "add_f32",
        ),
        (
            "an output wasi:nn cannot carry",
            json!({"graph": "to_int8", "inputs": [input("x", "FP32", &[2], &[1.0, 2.0])]}),
            "unsupported-operation",
            "int8",
        ),
        (
            "graph bytes from the guest",
            json!({"load_bytes": true}),
            "security",
            "[nn.graphs]",
        ),
    ];
    for (case, spec, code, needle) in cases {
        let (status, slot) = probe(&host, spec);
        assert_eq!(status, 200, "{case}: the guest reads the error: {slot}");
        let (got_code, message) = error_of(&slot);
        assert_eq!(got_code, code, "{case}: {slot}");
        assert!(message.contains(needle), "{case}: {message}");
    }
    // Still serving, and the failures did not count as inferences.
    let (status, slot) = probe(
        &host,
        json!({"graph": "add_f32", "inputs": [
            input("a", "FP32", &[2], &[1.0, 2.0]), input("b", "FP32", &[2], &[1.0, 2.0])]}),
    );
    assert_eq!(
        (status, slot["outputs"][0]["values"].clone()),
        (200, json!([2.0, 4.0]))
    );
}

#[test]
fn a_model_without_graphs_gets_not_found_and_one_over_its_tensor_budget_fails_alone() {
    // The same probe, no graphs named: load-by-name explains what to add.
    let host = HostBuilder::new(BIN)
        .model("probe", std::path::Path::new(NN_PROBE))
        .model("m", std::path::Path::new(MISBEHAVE))
        .start();
    host.wait_ready();
    let (status, slot) = probe(&host, json!({"graph": "det", "inputs": []}));
    assert_eq!(status, 200);
    let (code, message) = error_of(&slot);
    assert_eq!(code, "not-found");
    assert!(message.contains("names no graphs"), "{message}");
    drop(host);

    // 1 MiB of tensors per call: a 2 MiB input traps the call (a constructor cannot fail).
    let host = probe_host("[nn]\nmemory_mib = 1\n");
    let (status, body) = probe(
        &host,
        json!({"graph": "id_u8", "inputs": [{"name": "x", "type": "U8", "dims": [2097152], "fill": 1}]}),
    );
    assert_eq!(status, 500, "{body}");
    let error = body["error"].as_str().unwrap_or_default();
    assert!(
        error.contains("memory limit") || body.to_string().contains("memory_mib"),
        "{body}"
    );
    let (status, slot) = probe(
        &host,
        json!({"graph": "id_u8", "inputs": [{"name": "x", "type": "U8", "dims": [1000], "fill": 1}]}),
    );
    assert_eq!(status, 200, "{slot}");
    assert_eq!(slot["outputs"][0]["values"]["count"], 1000);
}

#[test]
fn an_inference_past_the_call_budget_is_stopped_and_the_request_times_out() {
    // The real PP-OCRv4 detector on a 2400x2400 image takes about 14 s on one thread; the
    // call has 5 s, most of it left when the inference starts (making and checking the 69 MB
    // input takes a second or more in a debug host on a loaded machine, which a shorter budget
    // could spend before the inference begins). ONNX Runtime is told to stop at the deadline.
    let det = std::path::Path::new(MODELS_DIR).join("weights/ocr/det.onnx");
    let det = std::fs::read(&det).expect("scripts/build-models put the det graph next to ocr");
    let host = with_graphs(HostBuilder::new(BIN))
        .model("probe", std::path::Path::new(NN_PROBE))
        .models_file("weights/det.onnx", &det)
        .models_file(
            "probe.toml",
            format!("[limits]\npredict_timeout_secs = 5\n{GRAPHS}det = \"weights/det.onnx\"\n")
                .as_bytes(),
        )
        .start();
    host.wait_ready();
    let started = std::time::Instant::now();
    let (status, body) = probe(
        &host,
        json!({"graph": "det", "inputs": [
            {"name": "x", "type": "FP32", "dims": [1, 3, 2400, 2400], "fill": 0.5}]}),
    );
    let took = started.elapsed();
    assert_eq!(status, 504, "{body}");
    // Within the budget plus slack, not the seconds the inference would have taken.
    assert!(took < std::time::Duration::from_secs(30), "{took:?}");
    let entry = host.model_entry("probe").expect("listed");
    let det = entry["nn"]["graphs"]
        .as_array()
        .and_then(|g| g.iter().find(|g| g["name"] == "det").cloned())
        .expect("det listed");
    assert_eq!(det["failed_inferences"], 1, "{det}");
    assert_eq!(det["inferences"], 0, "{det}");
    let (status, slot) = probe(
        &host,
        json!({"graph": "add_f32", "inputs": [
            input("a", "FP32", &[2], &[1.0, 2.0]), input("b", "FP32", &[2], &[1.0, 2.0])]}),
    );
    assert_eq!(status, 200, "still serving: {slot}");
}

#[test]
fn without_onnx_runtime_graph_models_fail_to_load_and_the_rest_serve() {
    let host = with_graphs(HostBuilder::new(BIN))
        .model("probe", std::path::Path::new(NN_PROBE))
        .models_file("probe.toml", GRAPHS.as_bytes())
        .model("m", std::path::Path::new(MISBEHAVE))
        .args(&["--onnxruntime", "/nonexistent/libonnxruntime.so"])
        .start();
    host.wait_ready();
    let probe = host.model_entry("probe").expect("listed");
    let error = probe["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("scripts/install-toolchains"), "{probe}");
    assert!(error.contains("--onnxruntime"), "{probe}");
    let reply = host.post_json(
        "/models/m/predict",
        &json!({"tasks": [{"id": 1, "data": {"action": "ok"}}], "label_config": "<View/>"}),
    );
    assert_eq!(reply.status, 200, "{}", reply.body);
    let nn = &host.get("/models").body["nn"];
    assert_eq!(nn["onnxruntime"]["state"], "unavailable", "{nn}");

    // A library that is not ONNX Runtime is refused the same way, without a crash.
    let dir = tempfile::tempdir().expect("dir");
    let fake = dir.path().join("libonnxruntime.so");
    std::fs::write(&fake, b"not a library").expect("write");
    let host = with_graphs(HostBuilder::new(BIN))
        .model("probe", std::path::Path::new(NN_PROBE))
        .models_file("probe.toml", GRAPHS.as_bytes())
        .args(&["--onnxruntime", &fake.display().to_string()])
        .start();
    host.wait_ready();
    let probe = host.model_entry("probe").expect("listed");
    let error = probe["last_error"].as_str().unwrap_or_default();
    assert!(error.contains("not a usable ONNX Runtime"), "{probe}");
}

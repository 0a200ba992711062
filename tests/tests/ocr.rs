//! The `ocr` example model, end to end over HTTP: images of known text, rendered by the test
//! (`tests/data/ocr/render.py`, Pillow's built-in font), served by a stand-in Label Studio as
//! uploaded files, read through the host's task data, recognised with the real PP-OCRv4
//! graphs on the host's ONNX Runtime. The text and the boxes are checked against what was
//! drawn.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Value, json};
use wasml_tests::Host;
use wasml_tests::fake_http::FakeServer;
use wasml_tests::uploads::{generate, host_with, iou, label_studio, pixels};

const BIN: &str = env!("CARGO_BIN_EXE_wasml-host-under-test");

/// Label Studio's OCR template (Computer Vision > Optical Character Recognition).
const TEMPLATE: &str = r#"<View>
  <Image name="image" value="$ocr"/>
  <Labels name="label" toName="image">
    <Label value="Text" background="green"/>
    <Label value="Handwriting" background="blue"/>
  </Labels>
  <Rectangle name="bbox" toName="image" strokeWidth="3"/>
  <Polygon name="poly" toName="image" strokeWidth="3"/>
  <TextArea name="transcription" toName="image" editable="true" perRegion="true"
            required="true" maxSubmissions="1" rows="5" placeholder="Recognized Text"
            displayMode="region-list"/>
</View>"#;

/// One rendered line: its text and the pixel box of its ink.
struct Drawn {
    text: String,
    bounds: [f64; 4],
}

/// Renders `lines` (text, x, y, font size) into an image of `width` x `height`.
fn render(
    dir: &Path,
    name: &str,
    (width, height): (u32, u32),
    format: &str,
    mode: &str,
    lines: &[(&str, u32, u32, u32)],
) -> (Vec<u8>, Vec<Drawn>) {
    let path = dir.join(name);
    let spec = json!({
        "path": path, "width": width, "height": height, "format": format, "mode": mode,
        "lines": lines.iter().map(|(text, x, y, size)| json!({"text": text, "x": x, "y": y, "size": size})).collect::<Vec<_>>(),
    });
    let boxes: Vec<[f64; 4]> =
        serde_json::from_value(generate("ocr/render.py", &spec)).expect("boxes");
    let drawn = lines
        .iter()
        .zip(boxes)
        .map(|((text, ..), bounds)| Drawn {
            text: (*text).to_owned(),
            bounds,
        })
        .collect();
    (std::fs::read(&path).expect("image"), drawn)
}

/// A host serving the `ocr` model with its manifest and graphs from the models build.
fn ocr_host(label_studio: &FakeServer) -> Host {
    host_with(BIN, label_studio, &["ocr"], &["ocr"])
}

fn predict(host: &Host, tasks: Value, context: Option<Value>) -> (u16, Value) {
    let mut body = json!({"tasks": tasks, "label_config": TEMPLATE, "project": "1"});
    if let Some(context) = context {
        body["params"] = json!({ "context": context });
    }
    let reply = host.post_json("/models/ocr/predict", &body);
    (reply.status, reply.body)
}

/// `text` without its spaces. PP-OCRv4's recogniser (a Chinese and English model) often
/// drops the spaces between English words, exactly as rapidocr does with the same graphs
/// ("Total due: 318.40 EUR" reads "Totaldue:318.40EUR" in both): the characters are checked
/// exactly, the spaces not.
fn unspaced(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

/// Checks that the prediction reads each drawn line (see [`unspaced`]), with boxes on its
/// ink. The detector may split a line at a wide word gap (rapidocr does too), so a line is
/// the regions whose centres fall on its ink, read left to right; no region may fall
/// elsewhere.
fn assert_reads(prediction: &Value, drawn: &[Drawn], (width, height): (u32, u32), what: &str) {
    let result = prediction["result"].as_array().expect("result");
    let (w, h) = (f64::from(width), f64::from(height));
    let texts: Vec<&Value> = result.iter().filter(|r| r["type"] == "textarea").collect();
    let mut claimed = 0;
    for line in drawn {
        let [x0, y0, x1, y1] = line.bounds;
        let margin = (y1 - y0) * 0.5;
        let mut on_line: Vec<(f64, &Value)> = texts
            .iter()
            .map(|r| (pixels(&r["value"], w, h), *r))
            .filter(|([a, b, c, d], _)| {
                let (cx, cy) = ((a + c) / 2.0, (b + d) / 2.0);
                (x0 - margin..=x1 + margin).contains(&cx)
                    && (y0 - margin..=y1 + margin).contains(&cy)
            })
            .map(|(b, r)| (b[0], r))
            .collect();
        on_line.sort_by(|a, b| a.0.total_cmp(&b.0));
        claimed += on_line.len();
        let read: String = on_line
            .iter()
            .filter_map(|(_, r)| r["value"]["text"][0].as_str())
            .collect();
        assert_eq!(
            unspaced(&read),
            unspaced(&line.text),
            "{what}: {prediction}"
        );
        let boxes: Vec<[f64; 4]> = on_line
            .iter()
            .map(|(_, r)| pixels(&r["value"], w, h))
            .collect();
        let union = boxes
            .iter()
            .fold([f64::MAX, f64::MAX, f64::MIN, f64::MIN], |u, b| {
                [
                    u[0].min(b[0]),
                    u[1].min(b[1]),
                    u[2].max(b[2]),
                    u[3].max(b[3]),
                ]
            });
        let overlap = iou(union, line.bounds);
        assert!(
            overlap > 0.5,
            "{what}: the boxes {union:?} of {:?} miss its ink {:?} (IoU {overlap:.2})",
            line.text,
            line.bounds
        );
        for (_, text) in on_line {
            let id = &text["id"];
            let shared: Vec<&Value> = result.iter().filter(|r| &r["id"] == id).collect();
            let kinds: Vec<&str> = shared.iter().filter_map(|r| r["type"].as_str()).collect();
            assert_eq!(
                kinds,
                ["rectangle", "labels", "textarea"],
                "{what}: {prediction}"
            );
            let rectangle = shared[0];
            assert_eq!(rectangle["from_name"], "bbox");
            assert_eq!(rectangle["to_name"], "image");
            assert_eq!(rectangle["original_width"], width);
            assert_eq!(rectangle["original_height"], height);
            assert_eq!(rectangle["value"], {
                let mut v = text["value"].clone();
                v.as_object_mut().map(|o| o.remove("text"));
                v
            });
            let score = rectangle["score"].as_f64().expect("score");
            assert!((0.5..=1.0).contains(&score), "{what}: {rectangle}");
            assert_eq!(shared[1]["value"]["labels"], json!(["Text"]));
        }
    }
    assert_eq!(
        claimed,
        texts.len(),
        "{what}: a region reads no drawn line: {prediction}"
    );
    assert!(prediction["score"].as_f64().is_some(), "{prediction}");
}

#[test]
fn ocr_reads_rendered_text_in_png_and_jpeg_with_boxes_on_the_ink() {
    let dir = tempfile::tempdir().expect("dir");
    let page = (760, 260);
    let (png, png_lines) = render(
        dir.path(),
        "invoice.png",
        page,
        "PNG",
        "RGB",
        &[
            ("Invoice 2041 paid", 40, 30, 44),
            ("Total due: 318.40 EUR", 40, 120, 36),
            ("Thank you", 420, 200, 30),
        ],
    );
    let small = (420, 120);
    let (jpeg, jpeg_lines) = render(
        dir.path(),
        "note.jpg",
        small,
        "JPEG",
        "RGB",
        &[("Meeting at noon", 20, 30, 40)],
    );
    let grey_size = (720, 240);
    let (grey, grey_lines) = render(
        dir.path(),
        "grey.png",
        grey_size,
        "PNG",
        "L",
        &[("Meeting room 12B upstairs", 40, 90, 40)],
    );
    let files = HashMap::from([
        ("invoice.png".to_owned(), (png, "image/png")),
        ("note.jpg".to_owned(), (jpeg, "image/jpeg")),
        ("grey.png".to_owned(), (grey, "image/png")),
    ]);
    let ls = label_studio(files);
    let host = ocr_host(&ls);

    let (status, body) = predict(
        &host,
        json!([
            {"id": 1, "data": {"ocr": "/data/upload/1/invoice.png"}},
            {"id": 2, "data": {"ocr": "/data/upload/1/note.jpg"}},
            {"id": 3, "data": {"ocr": "/data/upload/1/grey.png"}},
        ]),
        None,
    );
    assert_eq!(status, 200, "{body}");
    let results = body["results"].as_array().expect("results");
    assert_eq!(results.len(), 3, "{body}");
    assert_reads(&results[0], &png_lines, page, "PNG page");
    assert_reads(&results[1], &jpeg_lines, small, "JPEG");
    assert_reads(&results[2], &grey_lines, grey_size, "greyscale PNG");

    // The graphs were loaded once, with the model, and each ran.
    let entry = host.model_entry("ocr").expect("listed");
    let graphs = entry["nn"]["graphs"].as_array().expect("graphs");
    let names: Vec<&str> = graphs.iter().filter_map(|g| g["name"].as_str()).collect();
    assert_eq!(names, ["cls", "det", "rec"]);
    let det = graphs.iter().find(|g| g["name"] == "det").expect("det");
    assert_eq!(det["inferences"], 3, "one detection per image: {det}");
}

#[test]
fn ocr_reads_the_text_inside_a_drawn_rectangle_interactively() {
    let dir = tempfile::tempdir().expect("dir");
    let size = (760, 260);
    let (png, lines) = render(
        dir.path(),
        "two.png",
        size,
        "PNG",
        "RGB",
        &[
            ("Order 7731 shipped", 40, 40, 40),
            ("Return window 30 days", 40, 150, 40),
        ],
    );
    let ls = label_studio(HashMap::from([("two.png".to_owned(), (png, "image/png"))]));
    let host = ocr_host(&ls);
    // The user drew a rectangle around the second line, with some margin.
    let [x0, y0, x1, y1] = lines[1].bounds;
    let (w, h) = (f64::from(size.0), f64::from(size.1));
    let drawn = json!({
        "id": "user-box", "from_name": "bbox", "to_name": "image", "type": "rectangle",
        "origin": "manual", "original_width": size.0, "original_height": size.1,
        "value": {
            "x": (x0 - 12.0) / w * 100.0, "y": (y0 - 12.0) / h * 100.0,
            "width": (x1 - x0 + 24.0) / w * 100.0, "height": (y1 - y0 + 24.0) / h * 100.0,
            "rotation": 0,
        },
    });
    let (status, body) = predict(
        &host,
        json!([{"id": 5, "data": {"ocr": "/data/upload/1/two.png"}}]),
        Some(json!({"result": [drawn], "user_id": 1})),
    );
    assert_eq!(status, 200, "{body}");
    let result = body["results"][0]["result"]
        .as_array()
        .expect("result")
        .clone();
    assert_eq!(result.len(), 1, "{body}");
    let answer = &result[0];
    assert_eq!(answer["type"], "textarea");
    assert_eq!(answer["from_name"], "transcription");
    assert_eq!(
        answer["id"], "user-box",
        "the answer is attached to the user's region"
    );
    let text = answer["value"]["text"][0].as_str().unwrap_or_default();
    assert_eq!(unspaced(text), unspaced(&lines[1].text), "{answer}");
    assert_eq!(answer["value"]["x"], drawn["value"]["x"]);
}

#[test]
fn unreadable_images_and_configs_fail_their_request_with_a_clear_error() {
    let files = HashMap::from([(
        "notes.txt".to_owned(),
        (b"just some text, not an image".to_vec(), "text/plain"),
    )]);
    let ls = label_studio(files);
    let host = ocr_host(&ls);
    let (status, body) = predict(
        &host,
        json!([{"id": 9, "data": {"ocr": "/data/upload/1/notes.txt"}}]),
        None,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("data.ocr"), "{body}");
    let (status, body) = predict(
        &host,
        json!([{"id": 10, "data": {"ocr": "/data/upload/1/missing.png"}}]),
        None,
    );
    assert_eq!(status, 422, "{body}");
    assert!(body.to_string().contains("not found"), "{body}");
    let reply = host.post_json(
        "/models/ocr/predict",
        &json!({
            "tasks": [{"id": 1, "data": {"ocr": "/data/upload/1/notes.txt"}}],
            "label_config": "<View><Image name=\"i\" value=\"$ocr\"/><Rectangle name=\"r\" toName=\"i\"/></View>",
        }),
    );
    assert_eq!(reply.status, 422, "{}", reply.raw);
    assert!(reply.raw.contains("TextArea"), "{}", reply.raw);
}

//! The Label Studio side: find the `<RectangleLabels>` on an `<Image>`, read each task's
//! image through the host's task data, detect on the host, answer one rectangle per region
//! the config has a label for.

use wasml_guest::image::{RgbImage, decode_rgb};
use wasml_guest::nn::{Graph, Tensor};
use wasml_guest::serde_json::Value;
use wasml_guest::vision::Detection;
use wasml_guest::{Call, Context, Control, Error, LabelMap, Model, Prediction, Region, Task};

use crate::picodet::{Head, INPUT_HEIGHT, INPUT_WIDTH, postprocess, preprocess};

/// The detector's classes, in its output order (the graph's ONNX metadata `character`,
/// which `fetch-assets` checks).
pub const CLASSES: [&str; 10] = [
    "text",
    "title",
    "figure",
    "figure_caption",
    "table",
    "table_caption",
    "header",
    "footer",
    "reference",
    "equation",
];
/// The graph's name in the manifest (`[nn.graphs]`).
const GRAPH: &str = "layout";
/// Scores at or below this are dropped unless the config or `extra_params` say otherwise
/// (`model_score_threshold`), as in `rapid_layout` and Label Studio's YOLO backend.
const DEFAULT_THRESHOLD: f32 = 0.5;
/// Overlap above which a box of the same class is suppressed (`rapid_layout`'s default).
const IOU_THRESHOLD: f32 = 0.5;

/// The model.
pub struct Layout;

impl Model for Layout {
    const NAME: &'static str = "layout";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Document layout detection with RapidLayout's PP-PicoDet \
        (CDLA) on the host's ONNX Runtime: text, title, figure, table, caption, header, footer, \
        reference and equation regions as labelled rectangles.";

    fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let (control, key, labels) = find_control(call)?;
        let threshold = score_threshold(call, control)?;
        let graph = Graph::named(GRAPH)?;
        let mut predictions = Vec::with_capacity(tasks.len());
        for task in tasks {
            let fetched = task.fetch(&key)?;
            let image = decode_rgb(&fetched.bytes)
                .map_err(|e| Error::invalid_input(format!("data.{key}: {e}")))?;
            let found = detect(&image, &graph, threshold)?;
            predictions.push(answer(control, &labels, &found, &image)?);
        }
        Ok(predictions)
    }
}

/// The regions with a label in the config, and their mean score as the prediction's.
fn answer(
    control: &Control,
    labels: &LabelMap,
    found: &[Detection],
    image: &RgbImage,
) -> Result<Prediction, Error> {
    let builder = control.regions()?;
    let (w, h) = (image.width as f32, image.height as f32);
    let result: Vec<Region> = found
        .iter()
        .filter_map(|d| {
            let label = labels.label(CLASSES[d.class])?;
            Some(
                builder
                    .rectangle(d.percent_of(w, h), &[label])
                    .with_score(f64::from(d.score))
                    .with_original_size(image.width, image.height),
            )
        })
        .collect();
    if result.is_empty() {
        return Ok(Prediction::empty());
    }
    let score = result.iter().filter_map(|r| r.score).sum::<f64>() / result.len() as f64;
    Ok(Prediction::new(result).with_score(score))
}

/// The first `<RectangleLabels>` on an `<Image>` with a label for at least one class, with the
/// image's data key and the label map.
fn find_control(call: &Call) -> Result<(&Control, String, LabelMap), Error> {
    call.label_config
        .control_for_classes("RectangleLabels", &["Image"], &CLASSES)
        .map(|found| (found.control, found.data_key().to_owned(), found.labels))
        .ok_or_else(|| {
            Error::unsupported_config(format!(
                "layout needs a <RectangleLabels> on an <Image value=\"$key\"> with a label for \
                 at least one of its classes ({}), by value or predicted_values",
                CLASSES.join(", ")
            ))
        })
}

/// `model_score_threshold` from `extra_params` (a number or numeric string), else from the
/// control's attribute, else the default; it must lie in `[0, 1]`.
fn score_threshold(call: &Call, control: &Control) -> Result<f32, Error> {
    const KEY: &str = "model_score_threshold";
    let from_params = call.extra_params.as_ref().and_then(|p| match &p[KEY] {
        Value::Number(n) => n.as_f64().map(|v| v.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => None,
    });
    let raw = from_params.or_else(|| call.label_config.control_attribute(&control.name, KEY));
    let Some(raw) = raw else {
        return Ok(DEFAULT_THRESHOLD);
    };
    match raw.trim().parse::<f32>() {
        Ok(v) if (0.0..=1.0).contains(&v) => Ok(v),
        _ => Err(Error::unsupported_config(format!(
            "{KEY} must be a number from 0 to 1, not \"{raw}\""
        ))),
    }
}

/// The regions of `image` scoring above `threshold`, in its pixels.
fn detect(image: &RgbImage, graph: &Graph, threshold: f32) -> Result<Vec<Detection>, Error> {
    let input = Tensor::f32(
        &[1, 3, INPUT_HEIGHT as u32, INPUT_WIDTH as u32],
        &preprocess(image),
    );
    let outputs = graph.compute(&[("image", input)])?;
    // Four score heads (last dimension: the classes) and four distance heads (4 * bins),
    // each in stride order: the one with the most points first.
    let mut scores = Vec::new();
    let mut distances = Vec::new();
    for tensor in outputs.0.iter().map(|(_, t)| t) {
        let last = tensor.dims.last().copied().unwrap_or(0) as usize;
        let points = tensor.dims.get(1).copied().unwrap_or(0) as usize;
        let values = tensor.to_f32()?;
        if last == CLASSES.len() {
            scores.push((points, values));
        } else {
            distances.push((points, values));
        }
    }
    if scores.len() != 4 || distances.len() != 4 {
        return Err(Error::internal(format!(
            "the layout graph gave {} score and {} distance heads, not 4 and 4",
            scores.len(),
            distances.len()
        )));
    }
    scores.sort_by_key(|(points, _)| std::cmp::Reverse(*points));
    distances.sort_by_key(|(points, _)| std::cmp::Reverse(*points));
    let heads: [Head; 4] = std::array::from_fn(|i| Head {
        scores: &scores[i].1,
        distances: &distances[i].1,
    });
    postprocess(
        &heads,
        CLASSES.len(),
        image.width,
        image.height,
        threshold,
        IOU_THRESHOLD,
    )
    .map_err(Error::internal)
}

wasml_guest::export!(Layout);

#[cfg(test)]
mod tests {
    use wasml_guest::serde_json::json;

    use super::*;

    const CONFIG: &str = r#"<View><Image name="page" value="$image"/>
        <RectangleLabels name="layout" toName="page" model_score_threshold="0.3">
          <Label value="Text" predicted_values="text"/><Label value="Title"/>
          <Label value="Table"/><Label value="Figure caption"/>
        </RectangleLabels></View>"#;

    #[test]
    fn the_control_labels_and_threshold_come_from_the_config() -> Result<(), Error> {
        let call = Call::from_xml(CONFIG)?;
        let (control, key, labels) = find_control(&call)?;
        assert_eq!((control.name.as_str(), key.as_str()), ("layout", "image"));
        assert_eq!(labels.label("title"), Some("Title"));
        assert_eq!(labels.label("figure_caption"), Some("Figure caption"));
        assert_eq!(labels.label("equation"), None);
        assert_eq!(score_threshold(&call, control)?, 0.3);
        let tuned = call
            .clone()
            .with_extra_params(json!({"model_score_threshold": "0.7"}));
        assert_eq!(score_threshold(&tuned, control)?, 0.7);
        let wrong = call
            .clone()
            .with_extra_params(json!({"model_score_threshold": 3}));
        assert!(matches!(
            score_threshold(&wrong, control),
            Err(Error::UnsupportedConfig(_))
        ));
        let plain = Call::from_xml(
            r#"<View><Image name="i" value="$img"/><RectangleLabels name="r" toName="i">
                <Label value="table"/></RectangleLabels></View>"#,
        )?;
        let (control, _, _) = find_control(&plain)?;
        assert_eq!(score_threshold(&plain, control)?, DEFAULT_THRESHOLD);
        let cars = Call::from_xml(
            r#"<View><Image name="i" value="$img"/><RectangleLabels name="r" toName="i">
                <Label value="Car"/></RectangleLabels></View>"#,
        )?;
        assert!(matches!(
            find_control(&cars),
            Err(Error::UnsupportedConfig(_))
        ));
        Ok(())
    }

    #[test]
    fn regions_are_percent_rectangles_of_named_classes_only() -> Result<(), Error> {
        let call = Call::from_xml(CONFIG)?;
        let (control, _, labels) = find_control(&call)?;
        let image = RgbImage::filled(200, 100, [255, 255, 255]);
        let found = [
            Detection {
                bounds: [20.0, 10.0, 120.0, 60.0],
                score: 0.9,
                class: 4,
            },
            Detection {
                bounds: [0.0, 0.0, 10.0, 10.0],
                score: 0.8,
                class: 9,
            },
            Detection {
                bounds: [0.0, 80.0, 200.0, 100.0],
                score: 0.5,
                class: 0,
            },
        ];
        let prediction = answer(control, &labels, &found, &image)?;
        assert_eq!(prediction.result.len(), 2);
        let table = &prediction.result[0];
        assert_eq!(table.value["rectanglelabels"], json!(["Table"]));
        assert_eq!(
            [
                &table.value["x"],
                &table.value["y"],
                &table.value["width"],
                &table.value["height"]
            ],
            [&json!(10.0), &json!(10.0), &json!(50.0), &json!(50.0)]
        );
        assert_eq!(table.extra["original_width"], json!(200));
        assert_eq!(
            prediction.result[1].value["rectanglelabels"],
            json!(["Text"])
        );
        assert!((prediction.score.unwrap_or(0.0) - 0.7).abs() < 1e-6);
        assert!(
            answer(control, &labels, &found[1..2], &image)?
                .result
                .is_empty()
        );
        Ok(())
    }
}

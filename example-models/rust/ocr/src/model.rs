//! The Label Studio side: read each task's image through the host's task data, run the
//! pipeline with its three graphs on the host (`wasi:nn`), and answer regions for the
//! project's OCR config; interactively, the text inside the rectangle the user drew.

use wasml_guest::nn::{Graph as NnGraph, Tensor as NnTensor};
use wasml_guest::serde_json::json;
use wasml_guest::{Call, Context, Error, Model, Prediction, Region, Task};

use crate::pipeline::{self, Graph, Infer, Options, RgbImage, Tensor};
use crate::regions::OcrControls;

/// Where the manifest mounts the recognition dictionary (`[capabilities] read_only_dir`).
const KEYS_PATH: &str = "/weights/keys.txt";

/// The model.
pub struct Ocr;

impl Model for Ocr {
    const NAME: &'static str = "ocr";
    const VERSION: &'static str = "0.1.0";
    const DESCRIPTION: &'static str = "Text detection and recognition with PP-OCRv4 (RapidOCR's \
        graphs) on the host's ONNX Runtime: a box and its transcription per text line; \
        interactively, the text inside a drawn rectangle.";
    const INTERACTIVE: bool = true;

    fn predict(
        call: &Call,
        tasks: &[Task],
        context: Option<&Context>,
    ) -> Result<Vec<Prediction>, Error> {
        let controls = OcrControls::find(&call.label_config)?;
        let keys = read_keys()?;
        let mut graphs = HostGraphs::open()?;
        let options = Options::default();
        let drawn = context.map(drawn_rectangles).unwrap_or_default();
        let mut predictions = Vec::with_capacity(tasks.len());
        for task in tasks {
            let image = load_image(task, &controls.image_key)?;
            let prediction = if drawn.is_empty() {
                read_page(&controls, &image, &mut graphs, &keys, &options)?
            } else {
                read_drawn(&controls, &drawn, &image, &mut graphs, &keys, &options)?
            };
            predictions.push(prediction);
        }
        Ok(predictions)
    }
}

/// Every text line on the page: its regions, and the mean line score as the prediction's.
fn read_page(
    controls: &OcrControls,
    image: &RgbImage,
    graphs: &mut HostGraphs,
    keys: &[String],
    options: &Options,
) -> Result<Prediction, Error> {
    let lines = pipeline::ocr(image, graphs, keys, options).map_err(Error::internal)?;
    let mut result = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let id = format!("ocr-{index}");
        result.extend(controls.line_regions(&id, line, image.width, image.height));
    }
    let score = mean(lines.iter().map(|l| f64::from(l.score)));
    Ok(match score {
        Some(score) => Prediction::new(result).with_score(score),
        None => Prediction::empty(),
    })
}

/// The text inside each rectangle the user drew, as a `TextArea` region on it (same `id` and
/// geometry), the way Label Studio's tesseract example answers. The page is read once, at
/// full resolution, and a rectangle gets the lines whose centres it holds, in reading order:
/// a small crop, scaled up to the detector's input size, reads worse than the page does.
/// Only a rectangle holding no detected line is read as a crop.
fn read_drawn(
    controls: &OcrControls,
    drawn: &[Region],
    image: &RgbImage,
    graphs: &mut HostGraphs,
    keys: &[String],
    options: &Options,
) -> Result<Prediction, Error> {
    let (w, h) = (image.width as f64, image.height as f64);
    let page = pipeline::ocr(image, graphs, keys, options).map_err(Error::internal)?;
    let mut result = Vec::new();
    let mut scores = Vec::new();
    for region in drawn {
        let v = &region.value;
        let number = |key: &str| v[key].as_f64().unwrap_or(0.0);
        let rect = [
            number("x") / 100.0 * w,
            number("y") / 100.0 * h,
            number("width") / 100.0 * w,
            number("height") / 100.0 * h,
        ];
        let inside: Vec<&pipeline::OcrLine> = page
            .iter()
            .filter(|line| holds(rect, centre(&line.points)))
            .collect();
        let read = if inside.is_empty() {
            let rect = rect.map(|v| v as f32);
            pipeline::read_region(image, rect, graphs, keys, options).map_err(Error::internal)?
        } else {
            let text: Vec<&str> = inside.iter().map(|l| l.text.as_str()).collect();
            let score = inside.iter().map(|l| l.score).sum::<f32>() / inside.len() as f32;
            Some((text.join(" "), score))
        };
        let Some((text, score)) = read else { continue };
        let value = json!({
            "x": number("x"), "y": number("y"),
            "width": number("width"), "height": number("height"),
            "rotation": v["rotation"].as_f64().unwrap_or(0.0),
            "text": [text],
        });
        result.push(controls.region(
            &controls.text,
            "textarea",
            value,
            region.id.as_deref(),
            f64::from(score),
            (image.width, image.height),
        ));
        scores.push(f64::from(score));
    }
    Ok(match mean(scores.into_iter()) {
        Some(score) => Prediction::new(result).with_score(score),
        None => Prediction::empty(),
    })
}

/// The centre of a line's box, in pixels.
fn centre(points: &[[f32; 2]; 4]) -> (f64, f64) {
    let (x, y) = points.iter().fold((0.0, 0.0), |(x, y), [px, py]| {
        (x + f64::from(*px), y + f64::from(*py))
    });
    (x / 4.0, y / 4.0)
}

/// Whether `[x, y, width, height]` holds `point`.
fn holds([x, y, width, height]: [f64; 4], (px, py): (f64, f64)) -> bool {
    (x..=x + width).contains(&px) && (y..=y + height).contains(&py)
}

/// The rectangles in an interactive context (`rectangle` or `rectanglelabels` regions).
fn drawn_rectangles(context: &Context) -> Vec<Region> {
    context
        .result
        .iter()
        .filter(|r| r.kind == "rectangle" || r.kind == "rectanglelabels")
        .cloned()
        .collect()
}

fn load_image(task: &Task, key: &str) -> Result<RgbImage, Error> {
    let fetched = task.fetch(key)?;
    pipeline::decode_image(&fetched.bytes)
        .map_err(|e| Error::invalid_input(format!("data.{key}: {e}")))
}

/// The recognition dictionary, one symbol per line, as the rec graph's metadata lists it.
fn read_keys() -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(KEYS_PATH).map_err(|e| {
        Error::internal(format!(
            "cannot read the recognition dictionary {KEYS_PATH} ({e}): the manifest must \
             mount the model's weights folder there"
        ))
    })?;
    Ok(pipeline::keys_from_metadata(&text))
}

fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, count) = values.fold((0.0, 0usize), |(s, n), v| (s + v, n + 1));
    (count > 0).then(|| sum / count as f64)
}

/// The three graphs on the host, opened once per call.
struct HostGraphs {
    det: NnGraph,
    cls: NnGraph,
    rec: NnGraph,
}

impl HostGraphs {
    fn open() -> Result<Self, Error> {
        Ok(Self {
            det: NnGraph::named("det")?,
            cls: NnGraph::named("cls")?,
            rec: NnGraph::named("rec")?,
        })
    }
}

impl Infer for HostGraphs {
    fn run(&mut self, graph: Graph, input: Tensor) -> Result<Tensor, String> {
        let graph = match graph {
            Graph::Det => &self.det,
            Graph::Cls => &self.cls,
            Graph::Rec => &self.rec,
        };
        let dims: Vec<u32> = input
            .dims
            .iter()
            .map(|&d| u32::try_from(d).map_err(|_| format!("dimension {d} is too large")))
            .collect::<Result<_, _>>()?;
        // PaddleOCR's exported graphs all take one input named `x`.
        let outputs = graph
            .compute(&[("x", NnTensor::f32(&dims, &input.data))])
            .map_err(|e| e.to_string())?;
        let output = outputs.first().map_err(|e| e.to_string())?;
        Ok(Tensor {
            dims: output.dims.iter().map(|&d| d as usize).collect(),
            data: output.to_f32().map_err(|e| e.to_string())?,
        })
    }
}

wasml_guest::export!(Ocr);

//! Turning recognised lines into Label Studio regions for the project's OCR config, whatever
//! its controls are named: a box (`Rectangle`/`RectangleLabels`, else `Polygon`/
//! `PolygonLabels`) on the image, an optional `Labels` label, and the per-region `TextArea`
//! with the text, all sharing one region `id` so Label Studio shows them as one region.

use wasml_guest::serde_json::{Map, Value, json};
use wasml_guest::{Control, Error, LabelConfig, Region};

use crate::pipeline::OcrLine;

/// The controls an OCR config gives the model, resolved once per call.
#[derive(Debug, Clone)]
pub struct OcrControls {
    /// The `<Image>` object's name (`to_name`).
    pub image: String,
    /// The task data key of the image (`$ocr` -> `ocr`).
    pub image_key: String,
    /// The box control: its name and tag (lower-cased: `rectangle`, `polygonlabels`...).
    pub shape: Option<(String, String)>,
    /// The label a labelled box (or the `Labels` control) gets, with that control's name
    /// when it is a separate `Labels` control.
    pub label: Option<(Option<String>, String)>,
    /// The per-region `TextArea`'s name.
    pub text: String,
}

/// Box controls, in the order a config's first match is used: rectangles are what Label
/// Studio's OCR template edits most easily; polygons carry the exact quadrilateral.
const SHAPES: [&str; 4] = ["Rectangle", "RectangleLabels", "Polygon", "PolygonLabels"];

impl OcrControls {
    /// Finds the controls in `config`: a `TextArea` on an `<Image>` is required, a box control
    /// on the same image is used when present.
    pub fn find(config: &LabelConfig) -> Result<Self, Error> {
        let text = config
            .controls
            .iter()
            .find(|c| c.tag == "TextArea" && image_of(c).is_some())
            .ok_or_else(|| {
                Error::unsupported_config(
                    "OCR needs a <TextArea> (perRegion) on an <Image>, as in Label Studio's \
                     OCR template",
                )
            })?;
        let (image, image_key) = image_of(text).ok_or_else(|| {
            Error::unsupported_config("the <Image> of the <TextArea> has no value=\"$key\"")
        })?;
        let on_image = |c: &&Control| image_of(c).is_some_and(|(name, _)| name == image);
        let shape = SHAPES.iter().find_map(|tag| {
            config
                .controls
                .iter()
                .filter(on_image)
                .find(|c| c.tag == *tag)
        });
        let labels = config
            .controls
            .iter()
            .filter(on_image)
            .find(|c| c.tag == "Labels");
        let label = match (shape, labels) {
            (Some(shape), _) if shape.tag.ends_with("Labels") => {
                text_label(shape).map(|l| (None, l))
            }
            (_, Some(labels)) => text_label(labels).map(|l| (Some(labels.name.clone()), l)),
            _ => None,
        };
        Ok(Self {
            image,
            image_key,
            shape: shape.map(|c| (c.name.clone(), c.tag.to_lowercase())),
            label,
            text: text.name.clone(),
        })
    }

    /// A region of `kind` on the image: with `id`, `score`, and the image's size in pixels
    /// as Label Studio records it (`original_width`, `original_height`, no rotation).
    pub fn region(
        &self,
        name: &str,
        kind: &str,
        value: Value,
        id: Option<&str>,
        score: f64,
        (width, height): (usize, usize),
    ) -> Region {
        let mut region = Region::new(name, &self.image, kind, value);
        region.id = id.map(str::to_owned);
        region.score = Some(score);
        region.extra.insert("original_width".into(), json!(width));
        region.extra.insert("original_height".into(), json!(height));
        region.extra.insert("image_rotation".into(), json!(0));
        region
    }

    /// The regions of one recognised line, `id` shared, in percent of `width` x `height`.
    pub fn line_regions(
        &self,
        id: &str,
        line: &OcrLine,
        width: usize,
        height: usize,
    ) -> Vec<Region> {
        let geometry = geometry(&line.points, width, height);
        let score = f64::from(line.score);
        let mut regions = Vec::new();
        let mut push = |name: &str, kind: &str, mut value: Map<String, Value>, extra: Value| {
            if let Value::Object(extra) = extra {
                value.extend(extra);
            }
            let size = (width, height);
            regions.push(self.region(name, kind, Value::Object(value), Some(id), score, size));
        };
        let shape_value = |polygon: bool| {
            if polygon {
                geometry.polygon.clone()
            } else {
                geometry.rectangle.clone()
            }
        };
        let polygon = self
            .shape
            .as_ref()
            .is_some_and(|(_, kind)| kind.starts_with("polygon"));
        if let Some((name, kind)) = &self.shape {
            let extra = match (&self.label, kind.ends_with("labels")) {
                (Some((None, label)), true) => json!({ kind.clone(): [label] }),
                _ => json!({}),
            };
            push(name, kind, shape_value(polygon), extra);
        }
        if let Some((Some(name), label)) = &self.label {
            push(
                name,
                "labels",
                shape_value(polygon),
                json!({ "labels": [label] }),
            );
        }
        push(
            &self.text,
            "textarea",
            shape_value(polygon),
            json!({ "text": [line.text] }),
        );
        regions
    }
}

/// The image a control points at: the first of its inputs that is an `<Image>`, as (object
/// name, task data key).
fn image_of(control: &Control) -> Option<(String, String)> {
    control
        .inputs
        .iter()
        .find(|i| i.tag == "Image")
        .and_then(|i| Some((i.name.clone(), i.value.clone()?)))
}

/// The label for text lines: the control's label for the class `text` (one naming it in
/// `predicted_values`, else one whose value is `Text` in any case: [`Control::label_map`]),
/// else the first.
fn text_label(control: &Control) -> Option<String> {
    control
        .label_map()
        .label("text")
        .map(str::to_owned)
        .or_else(|| control.labels.first().map(|l| l.value.clone()))
}

/// A line's quadrilateral as Label Studio values, in percent.
struct Geometry {
    /// `{x, y, width, height, rotation}`: the rotated rectangle from the first corner, its
    /// rotation in degrees clockwise; level lines (within [`LEVEL_DEGREES`]) get their
    /// axis-aligned bounds instead, which is what an annotator would draw.
    rectangle: Map<String, Value>,
    /// `{points: [[x, y], ...]}`.
    polygon: Map<String, Value>,
}

/// Tilts below this are the detector's noise on level text (its minimum-area rectangles
/// lean a degree or two on a level line), not a rotated line.
const LEVEL_DEGREES: f64 = 3.0;

fn geometry(points: &[[f32; 2]; 4], width: usize, height: usize) -> Geometry {
    let (w, h) = (width.max(1) as f64, height.max(1) as f64);
    let p: Vec<(f64, f64)> = points
        .iter()
        .map(|[x, y]| (f64::from(*x), f64::from(*y)))
        .collect();
    let distance =
        |a: (f64, f64), b: (f64, f64)| ((b.0 - a.0).powi(2) + (b.1 - a.1).powi(2)).sqrt();
    let angle = (p[1].1 - p[0].1).atan2(p[1].0 - p[0].0).to_degrees();
    let rectangle = if angle.abs() < LEVEL_DEGREES {
        let (x0, x1) = bounds(p.iter().map(|q| q.0));
        let (y0, y1) = bounds(p.iter().map(|q| q.1));
        json!({
            "x": x0 / w * 100.0, "y": y0 / h * 100.0,
            "width": (x1 - x0) / w * 100.0, "height": (y1 - y0) / h * 100.0,
            "rotation": 0,
        })
    } else {
        json!({
            "x": p[0].0 / w * 100.0, "y": p[0].1 / h * 100.0,
            "width": distance(p[0], p[1]) / w * 100.0,
            "height": distance(p[0], p[3]) / h * 100.0,
            "rotation": if angle < 0.0 { angle + 360.0 } else { angle },
        })
    };
    let polygon = json!({
        "points": p.iter().map(|(x, y)| [x / w * 100.0, y / h * 100.0]).collect::<Vec<_>>(),
    });
    Geometry {
        rectangle: rectangle.as_object().cloned().unwrap_or_default(),
        polygon: polygon.as_object().cloned().unwrap_or_default(),
    }
}

fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
        (lo.min(v), hi.max(v))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasml_guest::Call;

    /// Label Studio's OCR template (Templates > Computer Vision > Optical Character
    /// Recognition), with other names.
    const TEMPLATE: &str = r#"<View>
      <Image name="page" value="$scan"/>
      <Labels name="kind" toName="page">
        <Label value="Handwriting"/><Label value="Printed" predicted_values="text"/>
      </Labels>
      <Rectangle name="box" toName="page" strokeWidth="3"/>
      <Polygon name="poly" toName="page" strokeWidth="3"/>
      <TextArea name="words" toName="page" editable="true" perRegion="true" required="true"/>
    </View>"#;

    fn line() -> OcrLine {
        OcrLine {
            points: [[10.0, 20.0], [110.0, 20.0], [110.0, 40.0], [10.0, 40.0]],
            text: "hello".into(),
            score: 0.9,
        }
    }

    #[test]
    fn the_template_gets_a_box_a_label_and_the_text_sharing_one_id() {
        let call = Call::from_xml(TEMPLATE).expect("config");
        let controls = OcrControls::find(&call.label_config).expect("controls");
        assert_eq!(
            (controls.image.as_str(), controls.image_key.as_str()),
            ("page", "scan")
        );
        let regions = controls.line_regions("r1", &line(), 200, 100);
        let kinds: Vec<&str> = regions.iter().map(|r| r.kind.as_str()).collect();
        assert_eq!(kinds, ["rectangle", "labels", "textarea"]);
        assert!(regions.iter().all(|r| r.id.as_deref() == Some("r1")));
        let text = &regions[2];
        assert_eq!(text.from_name, "words");
        assert_eq!(text.value["text"], json!(["hello"]));
        assert_eq!(text.value["x"], json!(5.0));
        assert_eq!(text.value["y"], json!(20.0));
        assert_eq!(text.value["width"], json!(50.0));
        assert_eq!(text.value["height"], json!(20.0));
        assert_eq!(regions[1].value["labels"], json!(["Printed"]));
        assert_eq!(text.extra["original_width"], json!(200));
    }

    #[test]
    fn polygons_and_labelled_rectangles_are_used_when_that_is_what_the_config_has() {
        let polygon = r#"<View><Image name="i" value="$img"/>
          <PolygonLabels name="p" toName="i"><Label value="Line"/></PolygonLabels>
          <TextArea name="t" toName="i" perRegion="true"/></View>"#;
        let call = Call::from_xml(polygon).expect("config");
        let controls = OcrControls::find(&call.label_config).expect("controls");
        let regions = controls.line_regions("a", &line(), 200, 100);
        assert_eq!(regions[0].kind, "polygonlabels");
        assert_eq!(regions[0].value["polygonlabels"], json!(["Line"]));
        let corner = &regions[0].value["points"][1];
        let (x, y) = (
            corner[0].as_f64().unwrap_or(f64::NAN),
            corner[1].as_f64().unwrap_or(f64::NAN),
        );
        assert!(
            (x - 55.0).abs() < 1e-9 && (y - 20.0).abs() < 1e-9,
            "{corner}"
        );
        assert_eq!(regions.len(), 2);
        let tilted = OcrLine {
            points: [[0.0, 0.0], [100.0, 100.0], [90.0, 110.0], [-10.0, 10.0]],
            ..line()
        };
        let rect = r#"<View><Image name="i" value="$img"/>
          <Rectangle name="r" toName="i"/><TextArea name="t" toName="i" perRegion="true"/></View>"#;
        let call = Call::from_xml(rect).expect("config");
        let controls = OcrControls::find(&call.label_config).expect("controls");
        let regions = controls.line_regions("b", &tilted, 200, 200);
        let rotation = regions[0].value["rotation"].as_f64().expect("rotation");
        assert!((rotation - 45.0).abs() < 1e-9, "{rotation}");
    }

    #[test]
    fn a_config_without_a_text_area_on_an_image_is_unsupported() {
        let call = Call::from_xml(
            r#"<View><Image name="i" value="$img"/><Rectangle name="r" toName="i"/></View>"#,
        )
        .expect("config");
        assert!(matches!(
            OcrControls::find(&call.label_config),
            Err(Error::UnsupportedConfig(_))
        ));
    }
}

//! Predictions and their regions, with builders for the common control types.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

/// One region of a result: `{"from_name", "to_name", "type", "value", ...}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Region {
    /// Region id; Label Studio generates one when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The control's name.
    pub from_name: String,
    /// The object's name.
    pub to_name: String,
    /// The control tag, lower-cased (`choices`, `labels`, `rectanglelabels`...).
    #[serde(rename = "type")]
    pub kind: String,
    /// The type-specific value.
    pub value: Value,
    /// Confidence of this region.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
    /// Every other field (`origin`, `is_positive`, `readonly`...).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A text span of a `Labels` region, offsets in UTF-16 units.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Span {
    /// Start offset.
    pub start: usize,
    /// End offset (exclusive).
    pub end: usize,
    /// The selected text, when present.
    #[serde(default)]
    pub text: Option<String>,
    /// The labels applied.
    #[serde(default)]
    pub labels: Vec<String>,
}

impl Region {
    /// A region with a raw value, for control types without a builder.
    pub fn new(from_name: &str, to_name: &str, kind: &str, value: Value) -> Self {
        Self {
            id: None,
            from_name: from_name.to_owned(),
            to_name: to_name.to_owned(),
            kind: kind.to_owned(),
            value,
            score: None,
            extra: Map::new(),
        }
    }

    /// A `Choices` region: `{"choices": [...]}`.
    pub fn choices<S: AsRef<str>>(from_name: &str, to_name: &str, choices: &[S]) -> Self {
        let choices: Vec<&str> = choices.iter().map(AsRef::as_ref).collect();
        Self::new(from_name, to_name, "choices", json!({ "choices": choices }))
    }

    /// A `Labels` text span; `start`/`end` in UTF-16 units (see [`crate::text`]).
    pub fn labels_span<S: AsRef<str>>(
        from_name: &str,
        to_name: &str,
        start: usize,
        end: usize,
        text: &str,
        labels: &[S],
    ) -> Self {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        let value = json!({ "start": start, "end": end, "text": text, "labels": labels });
        Self::new(from_name, to_name, "labels", value)
    }

    /// A `RectangleLabels` box; coordinates in percent of the image size.
    pub fn rectangle<S: AsRef<str>>(
        from_name: &str,
        to_name: &str,
        [x, y, width, height]: [f64; 4],
        labels: &[S],
    ) -> Self {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        let value = json!({
            "x": x, "y": y, "width": width, "height": height, "rotation": 0,
            "rectanglelabels": labels,
        });
        Self::new(from_name, to_name, "rectanglelabels", value)
    }

    /// A `TextArea` region: `{"text": [...]}`.
    pub fn textarea<S: AsRef<str>>(from_name: &str, to_name: &str, texts: &[S]) -> Self {
        let texts: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        Self::new(from_name, to_name, "textarea", json!({ "text": texts }))
    }

    /// A `Taxonomy` region: each path from the root, e.g. `[["Animal", "Cat"]]`.
    pub fn taxonomy(from_name: &str, to_name: &str, paths: Vec<Vec<String>>) -> Self {
        Self::new(from_name, to_name, "taxonomy", json!({ "taxonomy": paths }))
    }

    /// A `Rating` region: `{"rating": n}`.
    pub fn rating(from_name: &str, to_name: &str, rating: u32) -> Self {
        Self::new(from_name, to_name, "rating", json!({ "rating": rating }))
    }

    /// A `PolygonLabels` region; points `[x, y]` in percent of the image size.
    pub fn polygon<S: AsRef<str>>(
        from_name: &str,
        to_name: &str,
        points: &[[f64; 2]],
        labels: &[S],
    ) -> Self {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        let value = json!({ "points": points, "closed": true, "polygonlabels": labels });
        Self::new(from_name, to_name, "polygonlabels", value)
    }

    /// A `KeyPointLabels` point at `[x, y]` in percent of the image size; `width` is the
    /// point's drawn size in percent of the image width.
    pub fn keypoint<S: AsRef<str>>(
        from_name: &str,
        to_name: &str,
        [x, y]: [f64; 2],
        width: f64,
        labels: &[S],
    ) -> Self {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        let value = json!({ "x": x, "y": y, "width": width, "keypointlabels": labels });
        Self::new(from_name, to_name, "keypointlabels", value)
    }

    /// A `Labels` segment of an `<Audio>` (or `<Video>` timeline): `start` and `end` in seconds.
    pub fn audio_segment<S: AsRef<str>>(
        from_name: &str,
        to_name: &str,
        start: f64,
        end: f64,
        labels: &[S],
    ) -> Self {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        let value = json!({ "start": start, "end": end, "channel": 0, "labels": labels });
        Self::new(from_name, to_name, "labels", value)
    }

    /// Sets the region's score.
    pub fn with_score(mut self, score: f64) -> Self {
        self.score = Some(score);
        self
    }

    /// Records the image's size in pixels (`original_width`, `original_height`) and no
    /// rotation, as Label Studio does for regions on an `<Image>`: it needs them to place
    /// masks, and exports use them to turn percent back into pixels.
    pub fn with_original_size(mut self, width: usize, height: usize) -> Self {
        self.extra.insert("original_width".into(), json!(width));
        self.extra.insert("original_height".into(), json!(height));
        self.extra.insert("image_rotation".into(), json!(0));
        self
    }

    /// The text span, for `labels` regions (and any value with `start`/`end`).
    pub fn span(&self) -> Option<Span> {
        serde_json::from_value(self.value.clone()).ok()
    }

    /// The selected choices, for `choices` regions.
    pub fn choice_values(&self) -> Vec<&str> {
        self.value_strings("choices")
    }

    /// The strings in `value[key]` (e.g. `labels`, `choices`, `rectanglelabels`).
    pub fn value_strings(&self, key: &str) -> Vec<&str> {
        self.value
            .get(key)
            .and_then(Value::as_array)
            .map(|items| items.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default()
    }
}

/// One prediction for one task: `{"result": [...], "score": 0.9}`. The host stamps the
/// model version.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The predicted regions; empty means "nothing to suggest".
    pub result: Vec<Region>,
    /// Overall confidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<f64>,
}

impl Prediction {
    /// A prediction with these regions.
    pub fn new(result: Vec<Region>) -> Self {
        Self {
            result,
            score: None,
        }
    }

    /// A prediction with no regions.
    pub fn empty() -> Self {
        Self::default()
    }

    /// Sets the overall score.
    pub fn with_score(mut self, score: f64) -> Self {
        self.score = Some(score);
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builders_produce_label_studio_shapes() {
        let region = Region::choices("sentiment", "text", &["Positive"]).with_score(0.5);
        assert_eq!(
            serde_json::to_value(&region).expect("json"),
            json!({"from_name": "sentiment", "to_name": "text", "type": "choices",
                   "value": {"choices": ["Positive"]}, "score": 0.5})
        );
        let span = Region::labels_span("label", "text", 32, 37, "Apple", &["ORG"]);
        assert_eq!(span.value["labels"], json!(["ORG"]));
        assert_eq!(span.span().map(|s| (s.start, s.end)), Some((32, 37)));
        let rect = Region::rectangle("box", "image", [1.0, 2.0, 3.0, 4.0], &["Car"]);
        assert_eq!(rect.kind, "rectanglelabels");
        assert_eq!(rect.value["width"], json!(3.0));
        let taxonomy = Region::taxonomy("t", "text", vec![vec!["A".into(), "B".into()]]);
        assert_eq!(taxonomy.value, json!({"taxonomy": [["A", "B"]]}));
        assert_eq!(Region::rating("r", "text", 4).value, json!({"rating": 4}));
        assert_eq!(
            Region::textarea("a", "audio", &["hi"]).value,
            json!({"text": ["hi"]})
        );
    }

    #[test]
    fn regions_keep_unknown_fields() {
        let region: Region = serde_json::from_value(json!({
            "from_name": "l", "to_name": "t", "type": "labels", "origin": "manual",
            "value": {"start": 0, "end": 1, "labels": ["X"]}
        }))
        .expect("region");
        assert_eq!(region.extra["origin"], "manual");
        assert_eq!(region.value_strings("labels"), ["X"]);
    }
}

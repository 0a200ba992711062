//! Prediction checks: does what a model answered fit the project's label config, so that
//! Label Studio can show it? A prediction it cannot show is dropped without a word in its
//! UI (the reference backend's most common "predictions don't appear" report), so the host
//! says why: each region's `from_name` must be a control, its `to_name` one of that
//! control's objects, its `type` the control's tag, its labels the control's labels
//! (unless the control's labels are dynamic), and its image coordinates percentages.
//!
//! A violation is counted in the metrics, kept as the model's `last_invalid_prediction`
//! (`GET /models`), logged once per model version, and with `strict_predictions = true`
//! in the manifest fails the request (500 `invalid model output`).

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::labelconfig::LabelConfig;

/// Percent coordinates may exceed their range by this much (rounding in models' math).
const PERCENT_SLACK: f64 = 1e-6;

/// What is wrong with one prediction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Violation {
    /// The kind, for the metrics' `problem` label.
    pub problem: &'static str,
    /// What is wrong, for a person.
    pub detail: String,
}

/// One slot of a `/predict` answer: a prediction or a list of them.
#[derive(Deserialize)]
#[serde(untagged)]
enum Slot {
    One(Prediction),
    Many(Vec<Prediction>),
}

#[derive(Deserialize)]
struct Prediction {
    #[serde(default)]
    result: Vec<Region>,
}

/// One item of a prediction's `result`.
#[derive(Deserialize)]
struct Region {
    from_name: Option<String>,
    to_name: Option<String>,
    #[serde(rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    value: RegionValue,
}

#[derive(Default, Deserialize)]
struct RegionValue {
    x: Option<f64>,
    y: Option<f64>,
    width: Option<f64>,
    height: Option<f64>,
    #[serde(default)]
    points: Vec<Vec<f64>>,
    /// The labels, under the key named by the type (`choices`, `labels`,
    /// `rectanglelabels`, ...), and whatever else the type carries.
    #[serde(flatten)]
    rest: HashMap<String, Value>,
}

fn violation(problem: &'static str, detail: String) -> Violation {
    Violation { problem, detail }
}

/// The first problem of the slot `json` against `config`, if any.
pub fn check_slot(config: &LabelConfig, json: &str) -> Option<Violation> {
    let slot: Slot = match serde_json::from_str(json) {
        Ok(slot) => slot,
        Err(err) => return Some(violation("malformed", format!("not a prediction: {err}"))),
    };
    let predictions = match slot {
        Slot::One(prediction) => vec![prediction],
        Slot::Many(predictions) => predictions,
    };
    predictions
        .iter()
        .flat_map(|p| &p.result)
        .find_map(|region| check_region(config, region))
}

fn check_region(config: &LabelConfig, region: &Region) -> Option<Violation> {
    // Relations (`type: relation`, `from_id`/`to_id`) name regions, not controls.
    if region.kind.as_deref() == Some("relation") {
        return None;
    }
    let Some(from_name) = &region.from_name else {
        return Some(violation(
            "malformed",
            "a region without `from_name`".into(),
        ));
    };
    let Some(control) = config.controls.get(from_name) else {
        let known: Vec<&str> = config.controls.keys().map(String::as_str).collect();
        return Some(violation(
            "unknown_from_name",
            format!(
                "from_name {from_name:?} is not a control of the label config (controls: {known:?})"
            ),
        ));
    };
    let to_name = region.to_name.as_deref().unwrap_or_default();
    if !control.to_name.iter().any(|name| name == to_name) {
        return Some(violation(
            "wrong_to_name",
            format!(
                "to_name {to_name:?} is not an object of control {from_name:?} (toName: {:?})",
                control.to_name
            ),
        ));
    }
    let tag = control.tag.to_ascii_lowercase();
    let kind = region.kind.as_deref().unwrap_or_default();
    if kind != tag {
        return Some(violation(
            "wrong_type",
            format!(
                "type {kind:?} on control {from_name:?}, which is a <{}> (type {tag:?})",
                control.tag
            ),
        ));
    }
    if let Some(Value::Array(labels)) = region.value.rest.get(&tag)
        && !control.dynamic_labels
        && !control.labels.is_empty()
        // Taxonomy values are paths through nested choices, checked by Label Studio.
        && tag != "taxonomy"
    {
        for label in labels {
            let known = label
                .as_str()
                .is_some_and(|l| control.labels.contains_key(l));
            if !known {
                return Some(violation(
                    "unknown_label",
                    format!("label {label} is not one of control {from_name:?}'s labels"),
                ));
            }
        }
    }
    check_coordinates(from_name, &region.value)
}

fn check_coordinates(from_name: &str, value: &RegionValue) -> Option<Violation> {
    let in_percent = |v: f64| (-PERCENT_SLACK..=100.0 + PERCENT_SLACK).contains(&v);
    let named = [
        ("x", value.x),
        ("y", value.y),
        ("width", value.width),
        ("height", value.height),
    ];
    for (name, v) in named {
        if let Some(v) = v.filter(|v| !in_percent(*v)) {
            return Some(violation(
                "out_of_range",
                format!("{from_name}: {name} = {v} is not a percentage (0-100) of the image"),
            ));
        }
    }
    let right = value.x.unwrap_or_default() + value.width.unwrap_or_default();
    let bottom = value.y.unwrap_or_default() + value.height.unwrap_or_default();
    if !in_percent(right) || !in_percent(bottom) {
        return Some(violation(
            "out_of_range",
            format!(
                "{from_name}: the region ends at ({right}, {bottom}), outside the image (0-100)"
            ),
        ));
    }
    let outside = value.points.iter().flatten().find(|v| !in_percent(**v));
    outside.map(|v| {
        violation(
            "out_of_range",
            format!("{from_name}: point coordinate {v} is not a percentage (0-100) of the image"),
        )
    })
}

/// The last invalid prediction of a model, as `GET /models` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct InvalidPrediction {
    /// The model version that answered it.
    pub model_version: String,
    /// The task's id, when it had one.
    pub task: Option<u64>,
    /// The kind of problem.
    pub problem: &'static str,
    /// What is wrong.
    pub detail: String,
    /// Unix seconds.
    pub at: f64,
}

/// What the host remembers of invalid predictions, per model.
#[derive(Default)]
pub struct PredictionChecks {
    models: Mutex<HashMap<String, ModelChecks>>,
}

#[derive(Default)]
struct ModelChecks {
    last: Option<InvalidPrediction>,
    /// Versions already logged: a model that is wrong on every task logs once, not per task.
    logged: HashSet<String>,
}

impl PredictionChecks {
    /// Records `invalid` of `model`; logs it when its version has not been logged before.
    pub fn record(&self, model: &str, invalid: InvalidPrediction) {
        crate::metrics::global().record_invalid_prediction(model, invalid.problem);
        let mut models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        let checks = models.entry(model.to_owned()).or_default();
        if checks.logged.insert(invalid.model_version.clone()) {
            tracing::warn!(
                model,
                version = invalid.model_version,
                task = invalid.task,
                problem = invalid.problem,
                "a prediction Label Studio cannot show: {} (logged once per model version)",
                invalid.detail
            );
        }
        checks.last = Some(invalid);
    }

    /// The last invalid prediction of `model`.
    pub fn last(&self, model: &str) -> Option<InvalidPrediction> {
        let models = self.models.lock().unwrap_or_else(|e| e.into_inner());
        models.get(model).and_then(|checks| checks.last.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"<View>
      <Image name="img" value="$image"/>
      <RectangleLabels name="box" toName="img"><Label value="Car"/><Label value="Tree"/></RectangleLabels>
      <PolygonLabels name="poly" toName="img"><Label value="Car"/></PolygonLabels>
      <Text name="text" value="$text"/>
      <Choices name="sentiment" toName="text"><Choice value="Positive"/><Choice value="Negative"/></Choices>
      <Labels name="ner" toName="text" value="$labels"/>
    </View>"#;

    fn check(slot: &str) -> Option<&'static str> {
        let config = LabelConfig::parse(CONFIG).expect("config");
        check_slot(&config, slot).map(|v| v.problem)
    }

    fn region(from: &str, to: &str, kind: &str, value: &str) -> String {
        format!(
            r#"{{"result": [{{"from_name": "{from}", "to_name": "{to}", "type": "{kind}", "value": {value}}}]}}"#
        )
    }

    #[test]
    fn predictions_that_fit_the_config_pass() {
        let choice = region(
            "sentiment",
            "text",
            "choices",
            r#"{"choices": ["Positive"]}"#,
        );
        assert_eq!(check(&choice), None);
        let boxed =
            r#"{"x": 10, "y": 20, "width": 30.5, "height": 80, "rectanglelabels": ["Tree"]}"#;
        assert_eq!(check(&region("box", "img", "rectanglelabels", boxed)), None);
        let poly = r#"{"points": [[0, 0], [100, 50], [20, 100]], "polygonlabels": ["Car"]}"#;
        assert_eq!(check(&region("poly", "img", "polygonlabels", poly)), None);
        // Dynamic labels: anything goes. A list of predictions, and an empty result.
        let dynamic = region(
            "ner",
            "text",
            "labels",
            r#"{"start": 0, "end": 3, "labels": ["Any"]}"#,
        );
        assert_eq!(check(&format!("[{dynamic}, {{\"result\": []}}]")), None);
        let relation = r#"{"result": [{"type": "relation", "from_id": "a", "to_id": "b"}]}"#;
        assert_eq!(check(relation), None);
    }

    #[test]
    fn each_kind_of_problem_is_named() {
        let cases = [
            (
                region("mood", "text", "choices", r#"{"choices": ["Positive"]}"#),
                "unknown_from_name",
            ),
            (
                region(
                    "sentiment",
                    "img",
                    "choices",
                    r#"{"choices": ["Positive"]}"#,
                ),
                "wrong_to_name",
            ),
            (
                region("sentiment", "text", "labels", r#"{"labels": ["Positive"]}"#),
                "wrong_type",
            ),
            (
                region(
                    "sentiment",
                    "text",
                    "choices",
                    r#"{"choices": ["Neutral"]}"#,
                ),
                "unknown_label",
            ),
            (
                region(
                    "box",
                    "img",
                    "rectanglelabels",
                    r#"{"x": 120, "y": 0, "width": 1, "height": 1, "rectanglelabels": ["Car"]}"#,
                ),
                "out_of_range",
            ),
            (
                region(
                    "box",
                    "img",
                    "rectanglelabels",
                    r#"{"x": 90, "y": 0, "width": 20, "height": 1, "rectanglelabels": ["Car"]}"#,
                ),
                "out_of_range",
            ),
            (
                region(
                    "poly",
                    "img",
                    "polygonlabels",
                    r#"{"points": [[0, 0], [640, 480]], "polygonlabels": ["Car"]}"#,
                ),
                "out_of_range",
            ),
            (
                r#"{"result": [{"to_name": "text", "type": "choices", "value": {}}]}"#.to_owned(),
                "malformed",
            ),
            ("{not json".to_owned(), "malformed"),
        ];
        for (slot, problem) in cases {
            assert_eq!(check(&slot), Some(problem), "{slot}");
        }
    }

    #[test]
    fn a_version_is_logged_once_and_the_last_problem_kept() {
        let checks = PredictionChecks::default();
        for task in [1, 2] {
            checks.record(
                "m",
                InvalidPrediction {
                    model_version: "1.0.0+ab".into(),
                    task: Some(task),
                    problem: "unknown_label",
                    detail: format!("task {task}"),
                    at: 0.0,
                },
            );
        }
        let last = checks.last("m").expect("kept");
        assert_eq!(last.task, Some(2));
        assert_eq!(checks.last("other").map(|l| l.task), None);
    }
}

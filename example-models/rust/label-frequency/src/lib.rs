//! Label frequency: suggests, for every task, the choice annotators picked most often in the
//! project so far. A baseline for classification projects, and the smallest model that learns
//! from `fit` through the store.
//!
//! The same model exists in Python, JavaScript and C; `example-models/MODELS.md` specifies the
//! behaviour all four builds share (store layout, tie-breaking, error cases), and the
//! cross-language tests check they answer alike.

mod tally;

use wasml_guest::serde_json::{self, Value, json};
use wasml_guest::{
    Call, Context, Control, Error, Event, EventKind, Fit, Model, Prediction, Region, Task, store,
};

use tally::{Tally, choices_of};

/// Store keys of annotations start with this; the annotation id follows.
const KEY_PREFIX: &str = "annotation/";

struct LabelFrequency;

impl Model for LabelFrequency {
    const NAME: &'static str = "Label frequency";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str =
        "Suggests the choice annotators picked most often in the project (a baseline).";

    fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let control = choices_control(call)?;
        let mut tally = Tally::default();
        for key in store::list_keys(KEY_PREFIX)? {
            let Some(bytes) = store::get(&key)? else {
                continue;
            };
            // A value this model did not write counts for nothing rather than failing predict.
            if let Ok(choices) = serde_json::from_slice::<Vec<String>>(&bytes) {
                tally.add(&choices);
            }
        }
        let prediction = match tally.winner(&control.label_values()) {
            Some((label, score)) => {
                let to_name = control.to_name().unwrap_or_default();
                let region = Region::choices(&control.name, to_name, &[label]).with_score(score);
                Prediction::new(vec![region]).with_score(score)
            }
            None => Prediction::empty(),
        };
        Ok(tasks.iter().map(|_| prediction.clone()).collect())
    }

    fn fit(call: &Call, event: &Event) -> Result<Fit, Error> {
        let control = choices_control(call)?;
        let mut trained = false;
        match event.kind() {
            EventKind::AnnotationCreated | EventKind::AnnotationUpdated => {
                let annotation = event.payload.get("annotation").unwrap_or(&Value::Null);
                let id = annotation_id(annotation)
                    .ok_or_else(|| Error::invalid_input("the annotation has no integer id"))?;
                trained = remember(control, id, annotation)?;
            }
            EventKind::AnnotationsCreated => {
                for annotation in event.annotation_list() {
                    if let Some(id) = annotation_id(annotation) {
                        trained |= remember(control, id, annotation)?;
                    }
                }
            }
            EventKind::AnnotationsDeleted => {
                for id in event.annotation_list().iter().filter_map(annotation_id) {
                    trained |= store::delete(&key(id))?;
                }
            }
            EventKind::StartTraining | EventKind::Other(_) => {}
        }
        let count = store::list_keys(KEY_PREFIX)?.len();
        let result = json!({ "annotations": count });
        Ok(if trained {
            Fit::trained(result)
        } else {
            Fit::unchanged(result)
        })
    }
}

/// The control this model predicts for: the first `Choices` that names an object.
fn choices_control(call: &Call) -> Result<&Control, Error> {
    call.label_config
        .controls
        .iter()
        .find(|c| c.tag == "Choices" && !c.to_name.is_empty())
        .ok_or_else(|| Error::unsupported_config("label-frequency needs a Choices control"))
}

/// Stores the annotation's choices, or forgets the annotation when it was cancelled or chose
/// nothing. True when the store changed.
fn remember(control: &Control, id: i64, annotation: &Value) -> Result<bool, Error> {
    let cancelled = annotation.get("was_cancelled") == Some(&Value::Bool(true));
    let choices = choices_of(annotation, &control.name);
    if cancelled || choices.is_empty() {
        return store::delete(&key(id));
    }
    store::set_json(&key(id), &choices)?;
    Ok(true)
}

/// The annotation's integer `id`.
fn annotation_id(annotation: &Value) -> Option<i64> {
    annotation.get("id")?.as_i64()
}

/// The store key of annotation `id`.
fn key(id: i64) -> String {
    format!("{KEY_PREFIX}{id}")
}

wasml_guest::export!(LabelFrequency);

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
    Call, Context, Control, Error, Event, EventKind, Fit, Model, Prediction, Task, store,
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
                Prediction::new(vec![control.choices(&[label])?.with_score(score)])
                    .with_score(score)
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

#[cfg(test)]
mod tests {
    use wasml_guest::Region;
    use wasml_guest::testing::store_snapshot;

    use super::*;

    const CONFIG: &str = r#"<View>
      <Text name="text" value="$text"/>
      <Labels name="ner" toName="text"><Label value="Positive"/></Labels>
      <Choices name="sentiment" toName="text">
        <Choice value="Positive"/><Choice value="Negative"/><Choice value="Neutral"/>
      </Choices>
    </View>"#;

    fn call() -> Call {
        Call::from_xml(CONFIG).expect("config")
    }

    /// An `ANNOTATION_CREATED` event of annotation `id` choosing `choices` for `sentiment`.
    fn annotated(id: i64, choices: &[&str]) -> Event {
        let region = Region::choices("sentiment", "text", choices);
        Event::new(
            "ANNOTATION_CREATED",
            json!({"annotation": {"id": id, "result": [region]}, "task": {"id": id}}),
        )
    }

    fn tasks() -> Vec<Task> {
        ["a", "b"]
            .iter()
            .map(|text| Task::from_json(json!({"data": {"text": text}})).expect("task"))
            .collect()
    }

    /// The `(choice, score)` predicted for every task; all tasks must agree.
    fn predicted(call: &Call) -> Option<(String, f64)> {
        let predictions = LabelFrequency::predict(call, &tasks(), None).expect("predict");
        assert_eq!(predictions.len(), 2, "one prediction per task");
        assert_eq!(predictions[0], predictions[1]);
        let region = predictions[0].result.first()?;
        assert_eq!(
            (region.from_name.as_str(), region.to_name.as_str()),
            ("sentiment", "text")
        );
        assert_eq!(region.score, predictions[0].score);
        Some((region.choice_values()[0].to_owned(), region.score?))
    }

    #[test]
    fn learns_the_most_frequent_choice_from_annotation_events() -> Result<(), Error> {
        let call = call();
        assert_eq!(
            predicted(&call),
            None,
            "nothing before the first annotation"
        );
        for (id, choice) in [(1, "Negative"), (2, "Positive"), (3, "Negative")] {
            let fit = LabelFrequency::fit(&call, &annotated(id, &[choice]))?;
            assert_eq!(fit, Fit::trained(json!({"annotations": id})));
        }
        assert_eq!(predicted(&call), Some(("Negative".into(), 2.0 / 3.0)));
        assert_eq!(
            store_snapshot().get("annotation/2").map(Vec::as_slice),
            Some(&br#"["Positive"]"#[..]),
            "the store layout every language shares"
        );
        // Annotation 3 changes its mind: a three-way tie, which the config's order breaks.
        let updated = Event::new("ANNOTATION_UPDATED", annotated(3, &["Neutral"]).payload);
        assert!(LabelFrequency::fit(&call, &updated)?.trained);
        assert_eq!(predicted(&call), Some(("Positive".into(), 1.0 / 3.0)));
        let deleted = Event::new("ANNOTATIONS_DELETED", json!({"annotations": [{"id": 2}]}));
        assert_eq!(
            LabelFrequency::fit(&call, &deleted)?,
            Fit::trained(json!({"annotations": 2}))
        );
        assert_eq!(predicted(&call), Some(("Negative".into(), 0.5)));
        Ok(())
    }

    #[test]
    fn bulk_cancelled_and_unrelated_events() -> Result<(), Error> {
        let call = call();
        let bulk = Event::new(
            "ANNOTATIONS_CREATED",
            json!({"annotation": [
                annotated(1, &["Neutral"]).payload["annotation"],
                annotated(2, &["Neutral", "Positive"]).payload["annotation"],
                {"result": []}
            ]}),
        );
        assert_eq!(
            LabelFrequency::fit(&call, &bulk)?,
            Fit::trained(json!({"annotations": 2}))
        );
        assert_eq!(predicted(&call), Some(("Neutral".into(), 2.0 / 3.0)));
        let mut cancelled = annotated(2, &["Positive"]);
        cancelled.payload["annotation"]["was_cancelled"] = json!(true);
        assert!(
            LabelFrequency::fit(&call, &cancelled)?.trained,
            "forgets annotation 2"
        );
        assert_eq!(predicted(&call), Some(("Neutral".into(), 1.0)));
        let training = Event::new("START_TRAINING", json!({}));
        assert_eq!(
            LabelFrequency::fit(&call, &training)?,
            Fit::unchanged(json!({"annotations": 1}))
        );
        let no_id = Event::new("ANNOTATION_CREATED", json!({"annotation": {"result": []}}));
        assert!(matches!(
            LabelFrequency::fit(&call, &no_id),
            Err(Error::InvalidInput(_))
        ));
        Ok(())
    }

    #[test]
    fn needs_a_choices_control() -> Result<(), Error> {
        let call = Call::from_xml(r#"<View><Text name="t" value="$t"/></View>"#)?;
        assert!(matches!(
            LabelFrequency::predict(&call, &tasks(), None),
            Err(Error::UnsupportedConfig(_))
        ));
        assert!(matches!(
            LabelFrequency::fit(&call, &annotated(1, &["Positive"])),
            Err(Error::UnsupportedConfig(_))
        ));
        Ok(())
    }
}

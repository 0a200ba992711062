//! Label Studio's "simplest backend" (`label_studio_ml/examples/the_simplest_backend`), as a
//! wasml model: a repeater that suggests your last annotation for every new task.
//!
//! - **Training**: on `ANNOTATION_CREATED` / `ANNOTATION_UPDATED` with a non-empty result, that
//!   result becomes the "prediction example", kept in the store under [`EXAMPLE_KEY`].
//! - **Inference**: every task gets the stored example as its prediction, with a random score
//!   in `[0, 1)`; without an example, every task gets an empty prediction.
//!
//! The reference downloads the project's labeled tasks from Label Studio when it trains and
//! takes the last one's first annotation. wasml models run in a sandbox without network
//! access, so this model learns from the annotation the webhook carries instead; the outcome
//! is the same when annotations arrive one by one. `START_TRAINING` and the other events
//! have nothing to download from and change nothing.
//!
//! The logic is kept as small as the reference's on purpose: it is the benchmark baseline.

use wasml_guest::serde_json::{self, Value, json};
use wasml_guest::{
    Call, Context, Error, Event, EventKind, Fit, Model, Prediction, Region, Task, store,
};

/// Store key of the prediction example: the regions of the latest annotation.
pub const EXAMPLE_KEY: &str = "prediction_example";

struct Simplest;

impl Model for Simplest {
    const NAME: &'static str = "simplest";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str =
        "Repeats the latest annotation as the prediction for every task, with a random score.";

    fn predict(_: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
        let Some(example) = store::get_json::<Vec<Region>>(EXAMPLE_KEY)? else {
            // Nothing learned yet: still one (empty) prediction per task.
            return Ok(tasks.iter().map(|_| Prediction::empty()).collect());
        };
        // One draw per call, as the reference does: it repeats a single prediction dict
        // (`[{...}] * len(tasks)`), so every task of a request shares the score.
        let score = random_unit()?;
        Ok(tasks
            .iter()
            .map(|_| Prediction::new(example.clone()).with_score(score))
            .collect())
    }

    fn fit(_: &Call, event: &Event) -> Result<Fit, Error> {
        if !matches!(
            event.kind(),
            EventKind::AnnotationCreated | EventKind::AnnotationUpdated
        ) {
            return Ok(Fit::unchanged(json!({})));
        }
        let result = annotation_result(event);
        if result.is_empty() {
            return Ok(Fit::unchanged(json!({})));
        }
        store::set_json(EXAMPLE_KEY, &result)?;
        // The reference's train output: what `predict` will repeat.
        Ok(Fit::trained(json!({ "prediction_example": result })))
    }
}

/// The regions of the event's annotation. Items that are not regions (relations have no
/// `from_name`/`value`) cannot be part of a prediction and are left out, rather than
/// discarding the whole annotation.
fn annotation_result(event: &Event) -> Vec<Region> {
    event
        .payload
        .pointer("/annotation/result")
        .and_then(Value::as_array)
        .map(|items| {
            items
                .iter()
                .filter_map(|item| serde_json::from_value(item.clone()).ok())
                .collect()
        })
        .unwrap_or_default()
}

/// A uniformly distributed number in `[0, 1)`, from the host's `wasi:random`.
fn random_unit() -> Result<f64, Error> {
    let bits = getrandom::u64().map_err(|e| Error::internal(format!("random: {e}")))?;
    // The top 53 bits fill an f64 mantissa exactly: k / 2^53 for k in [0, 2^53).
    Ok((bits >> 11) as f64 / (1u64 << 53) as f64)
}

wasml_guest::export!(Simplest);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_regions_of_the_annotation_and_drops_relations() {
        let event = Event {
            action: "ANNOTATION_CREATED".into(),
            payload: json!({"annotation": {"id": 1, "result": [
                {"from_name": "label", "to_name": "text", "type": "choices",
                 "value": {"choices": ["Positive"]}, "id": "a"},
                {"from_id": "a", "to_id": "b", "type": "relation", "direction": "right"}
            ]}}),
        };
        let result = annotation_result(&event);
        assert_eq!(result.len(), 1);
        assert_eq!(result[0].choice_values(), ["Positive"]);
        let empty = Event {
            action: "ANNOTATION_CREATED".into(),
            payload: json!({"annotation": {"project": 1}}),
        };
        assert!(annotation_result(&empty).is_empty());
    }

    const CONFIG: &str = r#"<View><Text name="text" value="$text"/>
        <Choices name="label" toName="text"><Choice value="Positive"/></Choices></View>"#;

    fn tasks() -> Vec<Task> {
        (1..=3)
            .map(|id| Task::from_json(json!({"id": id, "data": {"text": "t"}})).expect("task"))
            .collect()
    }

    #[test]
    fn repeats_the_latest_annotation_for_every_task() -> Result<(), Error> {
        let call = Call::from_xml(CONFIG)?;
        let control = call.label_config.control("label").expect("control");
        assert_eq!(
            Simplest::predict(&call, &tasks(), None)?,
            vec![Prediction::empty(); 3],
            "nothing learned yet: one empty prediction per task"
        );
        for choice in ["Negative", "Positive"] {
            let result = [control.choices(&[choice])?];
            let event = Event::new(
                "ANNOTATION_CREATED",
                json!({"annotation": {"id": 1, "result": result}}),
            );
            let fit = Simplest::fit(&call, &event)?;
            assert_eq!(fit, Fit::trained(json!({ "prediction_example": result })));
        }
        let predictions = Simplest::predict(&call, &tasks(), None)?;
        assert_eq!(predictions.len(), 3);
        let score = predictions[0].score.expect("a score");
        assert!((0.0..1.0).contains(&score));
        for prediction in &predictions {
            assert_eq!(prediction.result, [control.choices(&["Positive"])?]);
            assert_eq!(prediction.score, Some(score), "one draw per call");
        }
        Ok(())
    }

    #[test]
    fn other_events_and_empty_annotations_change_nothing() -> Result<(), Error> {
        let call = Call::from_xml(CONFIG)?;
        for event in [
            Event::new("START_TRAINING", json!({})),
            Event::new("ANNOTATIONS_DELETED", json!({"annotations": [{"id": 1}]})),
            Event::new(
                "ANNOTATION_UPDATED",
                json!({"annotation": {"id": 1, "result": []}}),
            ),
        ] {
            assert_eq!(Simplest::fit(&call, &event)?, Fit::unchanged(json!({})));
        }
        assert!(wasml_guest::testing::store_snapshot().is_empty());
        Ok(())
    }

    #[test]
    fn random_scores_are_in_the_unit_interval_and_vary() {
        let draws: Vec<f64> = (0..64).map(|_| random_unit().expect("random")).collect();
        assert!(draws.iter().all(|x| (0.0..1.0).contains(x)));
        assert!(draws.windows(2).any(|w| w[0] != w[1]), "not constant");
    }
}

//! `predict` and `fit` end to end, natively: a parsed label config, webhook events, and the
//! SDK's in-memory store in place of the host's.

use wasml_guest::serde_json::{Value, json};
use wasml_guest::testing::store_snapshot;

use super::*;

const CONFIG: &str = r#"<View>
  <Text name="text" value="$text"/>
  <Choices name="topic" toName="text">
    <Choice value="Sports"/><Choice value="Tech"/>
  </Choices>
</View>"#;

const EXAMPLES: [(i64, &str, &str); 4] = [
    (1, "the team won the match with a late goal", "Sports"),
    (2, "the striker scored twice in the final", "Sports"),
    (3, "the new phone has a faster processor", "Tech"),
    (4, "install the software update on your laptop", "Tech"),
];

fn call() -> Call {
    Call::from_xml(CONFIG).expect("config")
}

/// Webhook annotation `id` (of task `id`) choosing `choice`, its region built from the
/// config's control as Label Studio would send it.
fn annotation(call: &Call, id: i64, choice: &str) -> Value {
    let control = call.label_config.control("topic").expect("topic");
    let region = control.choices(&[choice]).expect("region");
    json!({"id": id, "task": id, "result": [region]})
}

/// `ANNOTATION_CREATED` (or `action`) of annotation `id` on a task with `text`.
fn annotated(call: &Call, action: &str, id: i64, text: &str, choice: &str) -> Event {
    Event::new(
        action,
        json!({"annotation": annotation(call, id, choice), "task": {"id": id, "data": {"text": text}}}),
    )
}

/// Fits every example of [`EXAMPLES`], one event each.
fn train(call: &Call) {
    for (id, text, label) in EXAMPLES {
        let fit = TextClassifier::fit(
            call,
            &annotated(call, "ANNOTATION_CREATED", id, text, label),
        )
        .expect("fit");
        assert!(fit.trained, "example {id} changes the counts");
        assert_eq!(fit.result["added"], 1);
    }
}

/// The `(choice, score)` predicted for `text`, checking the region's names and scores.
fn predicted(call: &Call, text: &str) -> Option<(String, f64)> {
    let task = Task::from_json(json!({"data": {"text": text}})).expect("task");
    let mut predictions = TextClassifier::predict(call, &[task], None).expect("predict");
    assert_eq!(predictions.len(), 1);
    let prediction = predictions.pop()?;
    let region = prediction.result.first()?;
    assert_eq!(
        (region.from_name.as_str(), region.to_name.as_str()),
        ("topic", "text")
    );
    assert_eq!(region.score, prediction.score);
    Some((region.choice_values()[0].to_owned(), region.score?))
}

#[test]
fn predicts_nothing_before_training_then_the_likely_choice() {
    let call = call();
    assert_eq!(predicted(&call, "a goal in the final match"), None);
    train(&call);
    let (label, probability) = predicted(&call, "a goal in the final match").expect("prediction");
    assert_eq!(label, "Sports");
    assert!(probability > 0.5 && probability <= 1.0, "{probability}");
    assert_eq!(
        predicted(&call, "laptop software and processor").map(|p| p.0),
        Some("Tech".into())
    );
    let no_text = Task::from_json(json!({"data": {"title": "x"}})).expect("task");
    let predictions = TextClassifier::predict(&call, &[no_text], None).expect("predict");
    assert_eq!(predictions, [Prediction::empty()], "a task without text");
}

#[test]
fn fit_summarises_the_model_and_stores_each_example() {
    let call = call();
    train(&call);
    let again = annotated(&call, "ANNOTATION_UPDATED", 1, EXAMPLES[0].1, "Sports");
    let fit = TextClassifier::fit(&call, &again).expect("fit");
    assert!(!fit.trained, "the same example again changes nothing");
    assert_eq!(fit.result["unchanged"], 1);
    assert_eq!(fit.result["documents"], 4);
    assert_eq!(fit.result["labels"], json!({"Sports": 2, "Tech": 2}));
    let keys: Vec<String> = store_snapshot().into_keys().collect();
    assert_eq!(
        keys,
        ["example/1", "example/2", "example/3", "example/4", "model"]
    );
}

#[test]
fn updates_and_deletes_change_the_training_set() {
    let call = call();
    train(&call);
    let relabelled = annotated(&call, "ANNOTATION_UPDATED", 1, EXAMPLES[0].1, "Tech");
    let fit = TextClassifier::fit(&call, &relabelled).expect("fit");
    assert!(fit.trained);
    assert_eq!(
        (fit.result["replaced"].clone(), fit.result["labels"].clone()),
        (json!(1), json!({"Sports": 1, "Tech": 3}))
    );
    let deleted = Event::new(
        "ANNOTATIONS_DELETED",
        json!({"annotations": [{"id": 2}, {"id": 9}]}),
    );
    let fit = TextClassifier::fit(&call, &deleted).expect("fit");
    assert_eq!(fit.result["removed"], 1);
    assert_eq!(fit.result["labels"], json!({"Tech": 3}));
    // A single class left: naive Bayes has nothing to compare it with.
    assert_eq!(
        predicted(&call, "a goal in the final match"),
        Some(("Tech".into(), 1.0))
    );
}

#[test]
fn bulk_events_and_start_training() {
    let call = call();
    let annotations: Vec<Value> = EXAMPLES
        .iter()
        .map(|(id, _, label)| annotation(&call, *id, label))
        .collect();
    let tasks: Vec<Value> = EXAMPLES
        .iter()
        .map(|(id, text, _)| json!({"id": id, "data": {"text": text}}))
        .collect();
    // Label Studio 1.23 sends both as lists under the singular keys.
    let bulk = Event::new(
        "ANNOTATIONS_CREATED",
        json!({"annotation": annotations, "task": tasks}),
    );
    let fit = TextClassifier::fit(&call, &bulk).expect("fit");
    assert!(fit.trained);
    assert_eq!(fit.result["added"], 4);
    let before = store_snapshot();
    let retrain =
        TextClassifier::fit(&call, &Event::new("START_TRAINING", json!({}))).expect("fit");
    assert_eq!(
        (retrain.trained, retrain.result["rebuilt"].clone()),
        (false, json!(true)),
        "rebuilding from the same examples gives the same counts"
    );
    assert_eq!(store_snapshot(), before);
    assert_eq!(
        predicted(&call, "the final match goal").map(|p| p.0),
        Some("Sports".into())
    );
}

#[test]
fn choices_the_config_no_longer_lists_are_not_predicted() {
    train(&call());
    let sports_only = Call::from_xml(
        r#"<View><Text name="text" value="$text"/>
             <Choices name="topic" toName="text"><Choice value="Sports"/></Choices></View>"#,
    )
    .expect("config");
    assert_eq!(
        predicted(&sports_only, "laptop software and processor"),
        Some(("Sports".into(), 1.0))
    );
}

#[test]
fn needs_a_choices_control_over_text() {
    let call = Call::from_xml(
        r#"<View><Image name="i" value="$i"/>
        <Choices name="c" toName="i"><Choice value="Cat"/></Choices></View>"#,
    )
    .expect("config");
    let task = Task::from_json(json!({"data": {"i": "x"}})).expect("task");
    assert!(matches!(
        TextClassifier::predict(&call, &[task], None),
        Err(Error::UnsupportedConfig(_))
    ));
}

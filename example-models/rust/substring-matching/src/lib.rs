//! Interactive NER, after Label Studio's substring-matching example: when the user labels a
//! span of text, every occurrence of that text in the task gets the same label.
//!
//! Offsets are UTF-16 code units, as Label Studio's front end counts them, so spans stay in
//! place in text with accents, CJK or emoji.

use wasml_guest::text::find_all_utf16;
use wasml_guest::{Call, Context, Error, Model, Prediction, Task};

/// Matches copy the user's certainty about the text, not a model's.
const MATCH_SCORE: f64 = 1.0;

struct SubstringMatching;

impl Model for SubstringMatching {
    const NAME: &'static str = "Substring matching";
    const VERSION: &'static str = "1.0.0";
    const DESCRIPTION: &'static str =
        "Labels every occurrence of the text span the user just labeled (interactive).";
    const INTERACTIVE: bool = true;

    fn predict(
        call: &Call,
        tasks: &[Task],
        context: Option<&Context>,
    ) -> Result<Vec<Prediction>, Error> {
        let Some(context) = context.filter(|c| !c.result.is_empty()) else {
            // Not interactive: nothing to match yet, but still one slot per task.
            return Ok(tasks.iter().map(|_| Prediction::empty()).collect());
        };
        tasks
            .iter()
            .map(|task| matches_in_task(call, task, context))
            .collect()
    }
}

/// Every occurrence, in `task`, of each labeled span of the context.
fn matches_in_task(call: &Call, task: &Task, context: &Context) -> Result<Prediction, Error> {
    let mut result = Vec::new();
    for selected in &context.result {
        let Some(span) = selected.span() else {
            continue;
        };
        let Some(label) = span.labels.first() else {
            continue;
        };
        let Some(control) = call.label_config.control(&selected.from_name) else {
            continue;
        };
        let input = control
            .inputs
            .iter()
            .find(|i| i.name == selected.to_name)
            .ok_or_else(|| Error::invalid_input(format!("no object named {}", selected.to_name)))?;
        let key = input.value.as_deref().unwrap_or_default();
        let text = task
            .text(key)
            .ok_or_else(|| Error::invalid_input(format!("task data has no text at \"{key}\"")))?;
        let needle = match span.text.as_deref() {
            Some(t) if !t.is_empty() => t.to_owned(),
            _ => match wasml_guest::text::slice_utf16(text, span.start, span.end) {
                Some(t) => t.to_owned(),
                None => continue,
            },
        };
        // The names come from the config: the input is one of the control's objects.
        let regions = control.regions_on(&input.name)?;
        for (start, end) in find_all_utf16(text, &needle) {
            let region = regions.span(start, end, &needle, &[label]);
            result.push(region.with_score(MATCH_SCORE));
        }
    }
    Ok(Prediction::new(result).with_score(MATCH_SCORE))
}

wasml_guest::export!(SubstringMatching);

#[cfg(test)]
mod tests {
    use wasml_guest::Region;
    use wasml_guest::serde_json::{Value, json};

    use super::*;

    const CONFIG: &str = r#"<View>
      <Text name="text" value="$text"/>
      <Text name="title" value="$title"/>
      <Labels name="ner" toName="text,title">
        <Label value="ORG"/><Label value="PER"/>
      </Labels>
    </View>"#;

    fn call() -> Call {
        Call::from_xml(CONFIG).expect("config")
    }

    fn task(text: &str) -> Task {
        Task::from_json(json!({"id": 1, "data": {"text": text, "title": "Apple"}})).expect("task")
    }

    /// A context with the user's span `value` on `to_name`.
    fn selected(to_name: &str, value: Value) -> Context {
        let region = Region::new("ner", to_name, "labels", value);
        Context::from_json(json!({"result": [region], "user_id": 1})).expect("context")
    }

    /// `(start, end, text, label)` of each region of `prediction`.
    fn spans(prediction: &Prediction) -> Vec<(usize, usize, String, String)> {
        prediction
            .result
            .iter()
            .map(|region| {
                assert_eq!(
                    (region.from_name.as_str(), region.kind.as_str()),
                    ("ner", "labels")
                );
                assert_eq!(region.score, Some(MATCH_SCORE));
                let span = region.span().expect("a span");
                (
                    span.start,
                    span.end,
                    span.text.unwrap_or_default(),
                    span.labels[0].clone(),
                )
            })
            .collect()
    }

    #[test]
    fn labels_every_occurrence_in_utf16_offsets() -> Result<(), Error> {
        let context = selected(
            "text",
            json!({"start": 0, "end": 5, "text": "Apple", "labels": ["ORG", "PER"]}),
        );
        let tasks = [task("Apple pie, 😀 Apple"), task("no match"), task("Apple")];
        let predictions = SubstringMatching::predict(&call(), &tasks, Some(&context))?;
        assert_eq!(predictions.len(), 3);
        let org = |start, end| (start, end, "Apple".to_owned(), "ORG".to_owned());
        // The emoji is two UTF-16 units, so the second match starts at 14, not 15 (bytes: 16).
        assert_eq!(spans(&predictions[0]), [org(0, 5), org(14, 19)]);
        assert!(predictions[0].result.iter().all(|r| r.to_name == "text"));
        assert_eq!(predictions[1], Prediction::empty().with_score(MATCH_SCORE));
        assert_eq!(spans(&predictions[2]), [org(0, 5)]);
        Ok(())
    }

    #[test]
    fn without_text_the_needle_comes_from_the_offsets_of_the_object() -> Result<(), Error> {
        let context = selected("title", json!({"start": 1, "end": 3, "labels": ["PER"]}));
        let predictions = SubstringMatching::predict(&call(), &[task("x")], Some(&context))?;
        // The needle is "pp" from the title "Apple": matched in the title, not the text.
        assert_eq!(
            spans(&predictions[0]),
            [(1, 3, "pp".to_owned(), "PER".to_owned())]
        );
        assert_eq!(predictions[0].result[0].to_name, "title");
        Ok(())
    }

    #[test]
    fn no_context_or_nothing_to_match_gives_empty_predictions() -> Result<(), Error> {
        let call = call();
        let tasks = [task("Apple"), task("Apple")];
        let empty = vec![Prediction::empty(); 2];
        assert_eq!(SubstringMatching::predict(&call, &tasks, None)?, empty);
        let none = Context::from_json(json!({"result": []}))?;
        assert_eq!(
            SubstringMatching::predict(&call, &tasks, Some(&none))?,
            empty
        );
        // Not a span, no label, or a control the config does not have: skipped.
        let mut skipped = selected("text", json!({"choices": ["x"]}));
        skipped.result.push(Region::new(
            "ner",
            "text",
            "labels",
            json!({"start": 0, "end": 1}),
        ));
        let other = Region::new(
            "other",
            "text",
            "labels",
            json!({"start": 0, "end": 1, "labels": ["ORG"]}),
        );
        skipped.result.push(other);
        let predictions = SubstringMatching::predict(&call, &tasks, Some(&skipped))?;
        assert!(predictions.iter().all(|p| p.result.is_empty()));
        Ok(())
    }

    #[test]
    fn unknown_objects_and_missing_text_are_invalid_input() -> Result<(), Error> {
        let span = json!({"start": 0, "end": 5, "text": "Apple", "labels": ["ORG"]});
        let unknown = selected("image", span.clone());
        let result = SubstringMatching::predict(&call(), &[task("Apple")], Some(&unknown));
        assert!(matches!(result, Err(Error::InvalidInput(m)) if m.contains("image")));
        let no_text = Task::from_json(json!({"data": {"title": "Apple"}}))?;
        let result = SubstringMatching::predict(&call(), &[no_text], Some(&selected("text", span)));
        assert!(matches!(result, Err(Error::InvalidInput(_))));
        Ok(())
    }
}

//! Interactive NER, after Label Studio's substring-matching example: when the user labels a
//! span of text, every occurrence of that text in the task gets the same label.
//!
//! Offsets are UTF-16 code units, as Label Studio's front end counts them, so spans stay in
//! place in text with accents, CJK or emoji.

use wasml_guest::text::find_all_utf16;
use wasml_guest::{Call, Context, Error, Model, Prediction, Region, Task};

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
        for (start, end) in find_all_utf16(text, &needle) {
            let region = Region::labels_span(
                &selected.from_name,
                &selected.to_name,
                start,
                end,
                &needle,
                &[label],
            );
            result.push(region.with_score(MATCH_SCORE));
        }
    }
    Ok(Prediction::new(result).with_score(MATCH_SCORE))
}

wasml_guest::export!(SubstringMatching);

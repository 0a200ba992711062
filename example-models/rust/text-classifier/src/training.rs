//! From a label config and webhook payloads to training examples: which control to learn,
//! and what each annotation teaches.

use serde::{Deserialize, Serialize};
use wasml_guest::serde_json::{self, Value};
use wasml_guest::{Error, LabelConfig, Region, RegionBuilder, Task};

/// Object tags whose task data is the text to classify.
const TEXT_OBJECTS: [&str; 2] = ["Text", "HyperText"];

/// What the model learns and predicts: a `Choices` control over a text object.
#[derive(Debug, Clone, PartialEq)]
pub struct Target<'a> {
    /// Builds the control's results on the text object: `from_name` and `to_name` come from
    /// the config.
    pub regions: RegionBuilder<'a>,
    /// The task data key holding the text (`$text` -> `text`).
    pub data_key: &'a str,
    /// The control's choices, when the config lists them; `None` for dynamic choices.
    pub choices: Option<Vec<&'a str>>,
}

impl<'a> Target<'a> {
    /// The first `Choices` control of `config` that reads a text object.
    pub fn find(config: &'a LabelConfig) -> Result<Self, Error> {
        config
            .controls
            .iter()
            .filter(|control| control.tag == "Choices")
            .find_map(|control| {
                let input = control
                    .inputs
                    .iter()
                    .find(|input| TEXT_OBJECTS.contains(&input.tag.as_str()))?;
                Some(Target {
                    // Inputs are the objects of the control's toName: this always succeeds.
                    regions: control.regions_on(&input.name).ok()?,
                    data_key: input.value.as_deref()?,
                    choices: (!control.dynamic_labels && !control.labels.is_empty())
                        .then(|| control.label_values()),
                })
            })
            .ok_or_else(|| {
                Error::unsupported_config(
                    "needs a <Choices> control whose toName is a <Text> or <HyperText> object \
                     with a $value",
                )
            })
    }

    /// True when `label` may be predicted under the current config: a choice it lists (or
    /// any label, for dynamic choices). Examples learned under an older config may carry
    /// choices that no longer exist; predicting those would give an invalid result.
    pub fn allows(&self, label: &str) -> bool {
        self.choices
            .as_ref()
            .is_none_or(|choices| choices.contains(&label))
    }
}

/// One training example: a text and the choices an annotator picked for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Example {
    /// The task's text.
    pub text: String,
    /// The chosen labels, without repeats. With `choice="multiple"` there can be several:
    /// the text then counts as a document of each.
    pub labels: Vec<String>,
}

/// What one annotation means for the training set.
#[derive(Debug, Clone, PartialEq)]
pub enum Lesson {
    /// The annotation's example (new, or replacing its previous one).
    Learn(Example),
    /// The annotation teaches nothing (skipped, or no choice for the target): drop any example
    /// it gave before.
    Forget,
    /// The payload lacks what is needed to know (no id, no text): leave things as they are.
    Ignore(&'static str),
}

/// The store key of the example of an annotation: its id, as Label Studio numbers it.
pub fn annotation_key(annotation: &Value) -> Option<String> {
    match annotation.get("id")? {
        Value::Number(id) => Some(id.to_string()),
        Value::String(id) if !id.is_empty() => Some(id.clone()),
        _ => None,
    }
}

/// What `annotation` (a webhook's annotation object) of `task` teaches about `target`.
///
/// The annotation is read field by field rather than as a whole
/// [`wasml_guest::Annotation`], so that a result item that is not a region (a relation) does
/// not hide the choices next to it.
pub fn lesson(target: &Target, annotation: &Value, task: Option<&Task>) -> Lesson {
    if annotation
        .get("was_cancelled")
        .and_then(Value::as_bool)
        .unwrap_or(false)
    {
        return Lesson::Forget;
    }
    let mut labels: Vec<String> = Vec::new();
    let regions = annotation
        .get("result")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|item| serde_json::from_value::<Region>(item.clone()).ok());
    for region in regions {
        if region.from_name != target.regions.from_name() || region.kind != "choices" {
            continue;
        }
        for choice in region.choice_values() {
            if !labels.iter().any(|l| l == choice) {
                labels.push(choice.to_owned());
            }
        }
    }
    if labels.is_empty() {
        return Lesson::Forget;
    }
    match task.and_then(|task| task.text(target.data_key)) {
        Some(text) => Lesson::Learn(Example {
            text: text.to_owned(),
            labels,
        }),
        None => Lesson::Ignore("the task has no text at the config's data key"),
    }
}

/// The task an annotation of `ANNOTATIONS_CREATED` belongs to: embedded in the annotation,
/// or listed by id among the event's `tasks`.
pub fn task_of(annotation: &Value, tasks: &[Value]) -> Option<Task> {
    match annotation.get("task")? {
        embedded @ Value::Object(_) => serde_json::from_value(embedded.clone()).ok(),
        id => tasks
            .iter()
            .find(|task| task.get("id") == Some(id))
            .and_then(|task| serde_json::from_value(task.clone()).ok()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use wasml_guest::{Call, Event};

    /// The label config `xml`, parsed as the host parses it.
    fn config(xml: &str) -> LabelConfig {
        Call::from_xml(xml).expect("config").label_config
    }

    fn task(text: &str) -> Task {
        Task::from_json(json!({"id": 1, "data": {"text": text}})).expect("task")
    }

    #[test]
    fn finds_the_first_choices_control_over_text() {
        let config = config(
            r#"<View><Image name="image" value="$image"/><Text name="text" value="$text"/>
                 <Choices name="image_class" toName="image"><Choice value="Cat"/></Choices>
                 <Choices name="topic" toName="image,text">
                   <Choice value="Sports"/><Choice value="Tech"/>
                 </Choices></View>"#,
        );
        let target = Target::find(&config).expect("target");
        assert_eq!(
            (
                target.regions.from_name(),
                target.regions.to_name(),
                target.data_key
            ),
            ("topic", "text", "text")
        );
        assert!(target.allows("Tech"));
        assert!(!target.allows("Cat"), "not a choice of this control");
        let only_image = self::config(
            r#"<View><Image name="image" value="$image"/>
                 <Choices name="c" toName="image"><Choice value="Cat"/></Choices></View>"#,
        );
        assert!(matches!(
            Target::find(&only_image),
            Err(Error::UnsupportedConfig(_))
        ));
        assert!(Target::find(&LabelConfig::default()).is_err());
    }

    #[test]
    fn dynamic_choices_allow_any_label() {
        let config = config(
            r#"<View><Text name="text" value="$text"/>
                 <Choices name="topic" toName="text" value="$options"/></View>"#,
        );
        assert!(Target::find(&config).expect("target").allows("Anything"));
    }

    #[test]
    fn lessons_from_annotations() {
        let config = config(
            r#"<View><Text name="text" value="$text"/>
                 <Choices name="topic" toName="text"><Choice value="A"/><Choice value="B"/></Choices>
               </View>"#,
        );
        let target = Target::find(&config).expect("target");
        let text = task("Some text");
        let annotation = json!({"id": 5, "result": [
            {"from_name": "other", "to_name": "text", "type": "choices", "value": {"choices": ["X"]}},
            {"from_id": "r1", "to_id": "r2", "type": "relation"},
            {"from_name": "topic", "to_name": "text", "type": "choices", "value": {"choices": ["B", "A", "B"]}}
        ]});
        assert_eq!(annotation_key(&annotation).as_deref(), Some("5"));
        assert_eq!(
            lesson(&target, &annotation, Some(&text)),
            Lesson::Learn(Example {
                text: "Some text".into(),
                labels: vec!["B".into(), "A".into()],
            })
        );
        let cancelled = json!({"id": 5, "was_cancelled": true, "result": annotation["result"]});
        assert_eq!(lesson(&target, &cancelled, Some(&text)), Lesson::Forget);
        let empty = json!({"id": 5, "result": []});
        assert_eq!(lesson(&target, &empty, Some(&text)), Lesson::Forget);
        assert!(matches!(
            lesson(&target, &annotation, None),
            Lesson::Ignore(_)
        ));
        assert_eq!(annotation_key(&json!({"result": []})), None);
    }

    #[test]
    fn tasks_of_bulk_annotations() {
        // Label Studio 1.23 sends the tasks of ANNOTATIONS_CREATED as a list under `task`.
        let event = Event {
            action: "ANNOTATIONS_CREATED".into(),
            payload: json!({"task": [
                {"id": 1, "data": {"text": "one"}},
                {"id": 2, "data": {"text": "two"}}
            ]}),
        };
        let tasks = event.task_list();
        let by_id = task_of(&json!({"id": 9, "task": 2}), tasks).expect("task");
        assert_eq!(by_id.text("text"), Some("two"));
        let embedded = json!({"id": 9, "task": {"id": 3, "data": {"text": "three"}}});
        assert_eq!(
            task_of(&embedded, tasks).and_then(|t| t.text("text").map(str::to_owned)),
            Some("three".into())
        );
        assert!(task_of(&json!({"id": 9, "task": 4}), tasks).is_none());
        assert!(task_of(&json!({"id": 9}), tasks).is_none());
    }
}

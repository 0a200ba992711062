//! Mapping a model's class names to a control's labels, as Label Studio's Python SDK does
//! with `predicted_values` (its `build_label_map`), so a project can name its labels as it
//! likes: `<Label value="Heading" predicted_values="title,header"/>` takes the model's
//! `title` and `header` classes.

use crate::{Control, Input, LabelConfig};

/// A control's labels, looked up by a model's class name. Built with [`Control::label_map`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LabelMap {
    /// `(class, label)`: explicit `predicted_values` first, then each label's own value.
    entries: Vec<(String, String)>,
}

/// Class names compare without case, with `_` and `-` read as spaces: `figure_caption`
/// matches a label `Figure caption`.
fn normalise(name: &str) -> String {
    name.trim()
        .chars()
        .map(|c| if c == '_' || c == '-' { ' ' } else { c })
        .flat_map(char::to_lowercase)
        .collect()
}

impl LabelMap {
    /// The label for the model's class `class`: one that lists it in `predicted_values`
    /// (exactly, then as [`normalise`]d), else one whose value is the class name (exactly,
    /// then normalised). `None` when the config does not name the class: leave it out.
    pub fn label(&self, class: &str) -> Option<&str> {
        let exact = self.entries.iter().find(|(c, _)| c == class);
        let wanted = normalise(class);
        exact
            .or_else(|| self.entries.iter().find(|(c, _)| normalise(c) == wanted))
            .map(|(_, label)| label.as_str())
    }

    /// Whether no class maps to a label (the control has no labels).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A control a classifier or detector answers for: found by [`LabelConfig::control_for_classes`].
#[derive(Debug, Clone)]
pub struct ClassControl<'a> {
    /// The control (`from_name`).
    pub control: &'a Control,
    /// The object it labels (`to_name`); its `value` is the task data key.
    pub object: &'a Input,
    /// The control's labels by the model's class names.
    pub labels: LabelMap,
}

impl ClassControl<'_> {
    /// The task data key of the object (`$image` gives `image`).
    pub fn data_key(&self) -> &str {
        self.object.value.as_deref().unwrap_or_default()
    }
}

impl LabelConfig {
    /// The first control tagged `control_tag` on an object tagged one of `object_tags` with a
    /// `value="$key"`, whose labels name at least one of the model's `classes` (by value or
    /// `predicted_values`): what a model with a fixed class list answers for.
    pub fn control_for_classes(
        &self,
        control_tag: &str,
        object_tags: &[&str],
        classes: &[&str],
    ) -> Option<ClassControl<'_>> {
        self.controls
            .iter()
            .filter(|c| c.tag == control_tag)
            .find_map(|control| {
                let object = control
                    .inputs
                    .iter()
                    .find(|i| object_tags.contains(&i.tag.as_str()) && i.value.is_some())?;
                let labels = control.label_map();
                classes
                    .iter()
                    .any(|class| labels.label(class).is_some())
                    .then_some(ClassControl {
                        control,
                        object,
                        labels,
                    })
            })
    }
}

impl Control {
    /// Its labels by the model's class names: see [`LabelMap`].
    pub fn label_map(&self) -> LabelMap {
        let mut explicit = Vec::new();
        let mut own = Vec::new();
        for label in &self.labels {
            if let Some(values) = label.attribute("predicted_values") {
                explicit.extend(
                    values
                        .split(',')
                        .map(str::trim)
                        .filter(|v| !v.is_empty())
                        .map(|v| (v.to_string(), label.value.clone())),
                );
            }
            own.push((label.value.clone(), label.value.clone()));
        }
        explicit.extend(own);
        LabelMap { entries: explicit }
    }
}

#[cfg(test)]
mod tests {
    use crate::{Input, Label, LabelConfig};

    use super::*;

    fn control(labels: &[(&str, Option<&str>)]) -> Control {
        Control {
            name: "label".into(),
            tag: "RectangleLabels".into(),
            labels: labels
                .iter()
                .map(|(value, predicted)| Label {
                    value: value.to_string(),
                    attributes: predicted
                        .map(|p| vec![("predicted_values".to_string(), p.to_string())])
                        .unwrap_or_default(),
                })
                .collect(),
            ..Control::default()
        }
    }

    #[test]
    fn classes_map_by_predicted_values_then_by_value() {
        let map = control(&[
            ("Heading", Some("title, header")),
            ("text", None),
            ("Figure caption", None),
            ("Table", Some("table")),
        ])
        .label_map();
        assert_eq!(map.label("title"), Some("Heading"));
        assert_eq!(map.label("header"), Some("Heading"));
        assert_eq!(map.label("text"), Some("text"));
        assert_eq!(map.label("figure_caption"), Some("Figure caption"));
        assert_eq!(map.label("table"), Some("Table"));
        assert_eq!(map.label("equation"), None);
    }

    #[test]
    fn the_control_for_a_models_classes() {
        let image = Input {
            name: "page".into(),
            tag: "Image".into(),
            value: Some("image".into()),
            ..Input::default()
        };
        let with = |name: &str, tag: &str, labels: &[(&str, Option<&str>)]| Control {
            name: name.into(),
            tag: tag.into(),
            inputs: vec![image.clone()],
            ..control(labels)
        };
        let config = LabelConfig {
            raw: String::new(),
            controls: vec![
                with("cars", "RectangleLabels", &[("Car", None)]),
                with("kind", "Choices", &[("table", None)]),
                with("layout", "RectangleLabels", &[("Tables", Some("table"))]),
            ],
        };
        let found = config
            .control_for_classes("RectangleLabels", &["Image"], &["text", "table"])
            .expect("found");
        assert_eq!(
            (found.control.name.as_str(), found.data_key()),
            ("layout", "image")
        );
        assert_eq!(found.labels.label("table"), Some("Tables"));
        assert!(
            config
                .control_for_classes("RectangleLabels", &["Audio"], &["table"])
                .is_none()
        );
        assert!(
            config
                .control_for_classes("Labels", &["Image"], &["table"])
                .is_none()
        );
    }

    #[test]
    fn predicted_values_win_over_a_label_of_the_same_name() {
        let map = control(&[("text", None), ("Body", Some("text"))]).label_map();
        assert_eq!(map.label("text"), Some("Body"));
        assert!(control(&[]).label_map().is_empty());
    }
}

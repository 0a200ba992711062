//! Mapping a model's class names to a control's labels, as Label Studio's Python SDK does
//! with `predicted_values` (its `build_label_map`), so a project can name its labels as it
//! likes: `<Label value="Heading" predicted_values="title,header"/>` takes the model's
//! `title` and `header` classes.

use crate::Control;

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
    use crate::Label;

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
    fn predicted_values_win_over_a_label_of_the_same_name() {
        let map = control(&[("text", None), ("Body", Some("text"))]).label_map();
        assert_eq!(map.label("text"), Some("Body"));
        assert!(control(&[]).label_map().is_empty());
    }
}

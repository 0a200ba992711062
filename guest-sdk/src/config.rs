//! The project's label config, parsed by the host, with the lookups models need.

use crate::bindings::wasml::model::types as wit;

/// A label config: every control, in document order, plus the raw XML.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelConfig {
    /// The XML as Label Studio sent it.
    pub raw: String,
    /// The controls, in document order.
    pub controls: Vec<Control>,
}

/// A control tag (`Choices`, `Labels`, ...).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Control {
    /// The control's name: a result's `from_name`.
    pub name: String,
    /// The tag, e.g. `Choices`.
    pub tag: String,
    /// The object names it points at.
    pub to_name: Vec<String>,
    /// The objects found for `to_name`.
    pub inputs: Vec<Input>,
    /// Labels in document order.
    pub labels: Vec<Label>,
    /// True when labels come from task data or an API.
    pub dynamic_labels: bool,
    /// For `perRegion` controls: `(kind, name)` of the condition, kind one of `tag`,
    /// `label`, `choice`.
    pub conditional: Option<(String, String)>,
}

/// An object tag a control reads from.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Input {
    /// The object's name: a result's `to_name`.
    pub name: String,
    /// The tag, e.g. `Text`.
    pub tag: String,
    /// The task data key (`$text` -> `text`).
    pub value: Option<String>,
    /// The task data key of a list (`valueList`).
    pub value_list: Option<String>,
    /// The `valueType` attribute.
    pub value_type: Option<String>,
}

/// One label of a control.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Label {
    /// What annotations hold for this label.
    pub value: String,
    /// All attributes, in document order.
    pub attributes: Vec<(String, String)>,
}

impl Label {
    /// The attribute `name`, if present.
    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

impl LabelConfig {
    /// The control named `name`.
    pub fn control(&self, name: &str) -> Option<&Control> {
        self.controls.iter().find(|c| c.name == name)
    }

    /// The first control whose tag is one of `tags` (e.g. `&["Choices", "Taxonomy"]`).
    pub fn first_control(&self, tags: &[&str]) -> Option<&Control> {
        self.controls
            .iter()
            .find(|c| tags.contains(&c.tag.as_str()))
    }

    /// The first control with tag `control_tag` reading an object with tag `object_tag`,
    /// as `(control, input)`: the `from_name`, `to_name` and data key of its results.
    pub fn first_pair(&self, control_tag: &str, object_tag: &str) -> Option<(&Control, &Input)> {
        self.controls
            .iter()
            .filter(|c| c.tag == control_tag)
            .find_map(|c| {
                c.inputs
                    .iter()
                    .find(|i| i.tag == object_tag)
                    .map(|i| (c, i))
            })
    }

    /// The attribute `attribute` of the control named `control`, read from the raw XML
    /// (feature `config-attributes`): settings Label Studio's examples put on a control, such
    /// as `model_score_threshold`. The host passes labels' attributes but not controls', so
    /// this parses the config (no DTDs, as the host); `None` when absent or unparsable.
    #[cfg(feature = "config-attributes")]
    pub fn control_attribute(&self, control: &str, attribute: &str) -> Option<String> {
        let options = roxmltree::ParsingOptions {
            allow_dtd: false,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(&self.raw, options).ok()?;
        doc.descendants()
            .find(|n| n.attribute("name") == Some(control) && n.has_attribute("toName"))
            .and_then(|n| n.attribute(attribute))
            .map(str::to_owned)
    }
}

impl Control {
    /// The label values, in order.
    pub fn label_values(&self) -> Vec<&str> {
        self.labels.iter().map(|l| l.value.as_str()).collect()
    }

    /// The first object this control reads from.
    pub fn input(&self) -> Option<&Input> {
        self.inputs.first()
    }

    /// The name of the first object it points at (a result's `to_name`).
    pub fn to_name(&self) -> Option<&str> {
        self.to_name.first().map(String::as_str)
    }
}

impl From<wit::LabelConfig> for LabelConfig {
    fn from(config: wit::LabelConfig) -> Self {
        Self {
            raw: config.raw,
            controls: config.controls.into_iter().map(Control::from).collect(),
        }
    }
}

impl From<wit::Control> for Control {
    fn from(c: wit::Control) -> Self {
        Self {
            name: c.name,
            tag: c.tag,
            to_name: c.to_name,
            inputs: c
                .inputs
                .into_iter()
                .map(|i| Input {
                    name: i.name,
                    tag: i.tag,
                    value: i.value,
                    value_list: i.value_list,
                    value_type: i.value_type,
                })
                .collect(),
            labels: c
                .labels
                .into_iter()
                .map(|l| Label {
                    value: l.value,
                    attributes: l
                        .attributes
                        .into_iter()
                        .map(|a| (a.name, a.value))
                        .collect(),
                })
                .collect(),
            dynamic_labels: c.dynamic_labels,
            conditional: c.conditional.map(|cond| {
                let kind = match cond.kind {
                    wit::ConditionalKind::Tag => "tag",
                    wit::ConditionalKind::Label => "label",
                    wit::ConditionalKind::Choice => "choice",
                };
                (kind.to_owned(), cond.name)
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> LabelConfig {
        let input = |name: &str, tag: &str| Input {
            name: name.into(),
            tag: tag.into(),
            value: Some(name.into()),
            ..Default::default()
        };
        LabelConfig {
            raw: String::new(),
            controls: vec![
                Control {
                    name: "boxes".into(),
                    tag: "RectangleLabels".into(),
                    to_name: vec!["image".into()],
                    inputs: vec![input("image", "Image")],
                    ..Default::default()
                },
                Control {
                    name: "label".into(),
                    tag: "Labels".into(),
                    to_name: vec!["text".into()],
                    inputs: vec![input("text", "Text")],
                    labels: vec![Label {
                        value: "PER".into(),
                        attributes: vec![("background".into(), "red".into())],
                    }],
                    ..Default::default()
                },
            ],
        }
    }

    #[test]
    fn lookups() {
        let config = config();
        assert_eq!(
            config
                .first_control(&["Choices", "Labels"])
                .map(|c| c.name.as_str()),
            Some("label")
        );
        let (control, input) = config.first_pair("Labels", "Text").expect("pair");
        assert_eq!(
            (control.name.as_str(), input.value.as_deref()),
            ("label", Some("text"))
        );
        assert!(config.first_pair("Labels", "Image").is_none());
        assert_eq!(control.label_values(), ["PER"]);
        assert_eq!(control.labels[0].attribute("background"), Some("red"));
        assert_eq!(
            config.control("boxes").and_then(Control::to_name),
            Some("image")
        );
    }

    #[cfg(feature = "config-attributes")]
    #[test]
    fn control_attributes_come_from_the_raw_config() {
        let config = LabelConfig {
            raw: r#"<View><Image name="image" value="$image"/>
                <RectangleLabels name="label" toName="image" model_score_threshold="0.3">
                  <Label value="Car"/></RectangleLabels></View>"#
                .into(),
            controls: Vec::new(),
        };
        assert_eq!(
            config
                .control_attribute("label", "model_score_threshold")
                .as_deref(),
            Some("0.3")
        );
        assert_eq!(config.control_attribute("label", "other"), None);
        assert_eq!(config.control_attribute("image", "value"), None);
    }
}

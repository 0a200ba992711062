//! Host values -> WIT records.

use super::bindings as wit;
use crate::labelconfig::{self, ConditionalKind, InputSource};

/// The label config as the WIT `label-config` record.
pub fn label_config(raw: &str, parsed: &labelconfig::LabelConfig) -> wit::LabelConfig {
    wit::LabelConfig {
        raw: raw.to_owned(),
        controls: parsed
            .controls
            .iter()
            .map(|(name, control)| control_record(name, control))
            .collect(),
    }
}

fn control_record(name: &str, control: &labelconfig::Control) -> wit::Control {
    wit::Control {
        name: name.to_owned(),
        tag: control.tag.clone(),
        to_name: control.to_name.clone(),
        inputs: control.inputs.iter().map(input_record).collect(),
        labels: control
            .labels
            .iter()
            .map(|(value, attrs)| wit::Label {
                value: value.clone(),
                attributes: attrs
                    .iter()
                    .map(|(name, value)| wit::Attribute {
                        name: name.clone(),
                        value: value.clone(),
                    })
                    .collect(),
            })
            .collect(),
        conditional: control.conditional.as_ref().map(|c| wit::Conditional {
            kind: match c.kind {
                ConditionalKind::Tag => wit::ConditionalKind::Tag,
                ConditionalKind::Label => wit::ConditionalKind::Label,
                ConditionalKind::Choice => wit::ConditionalKind::Choice,
            },
            name: c.name.clone(),
        }),
        dynamic_labels: control.dynamic_labels,
        regex: control
            .regex
            .iter()
            .map(|(variable, pattern)| wit::RegexVariable {
                variable: variable.clone(),
                pattern: pattern.clone(),
            })
            .collect(),
    }
}

fn input_record(input: &labelconfig::Input) -> wit::Input {
    let (value, value_list) = match &input.source {
        InputSource::Value(v) => (Some(v.clone()), None),
        InputSource::ValueList(v) => (None, Some(v.clone())),
    };
    wit::Input {
        name: input.name.clone(),
        tag: input.tag.clone(),
        value,
        value_list,
        value_type: input.value_type.clone(),
    }
}

//! Label Studio's JSON shape of a parsed label config (`parsed_label_config`).

use serde_json::{Map, Value, json};

use super::{ConditionalKind, Control, InputSource, LabelConfig};

impl LabelConfig {
    /// The config as Label Studio's `parse_config` returns it, with its key order: per control
    /// `type`, `to_name`, then `regex`, `conditionals`, `dynamic_labels` when present, then
    /// `inputs`, `labels`, `labels_attrs`.
    pub fn to_label_studio_json(&self) -> Value {
        let controls = self
            .controls
            .iter()
            .map(|(name, control)| (name.clone(), control_json(control)))
            .collect::<Map<_, _>>();
        Value::Object(controls)
    }
}

fn control_json(control: &Control) -> Value {
    let mut out = Map::new();
    out.insert("type".into(), json!(control.tag));
    out.insert("to_name".into(), json!(control.to_name));
    if !control.regex.is_empty() {
        out.insert("regex".into(), json!(control.regex));
    }
    if let Some(conditional) = &control.conditional {
        let kind = match conditional.kind {
            ConditionalKind::Tag => "tag",
            ConditionalKind::Label => "label",
            ConditionalKind::Choice => "choice",
        };
        out.insert(
            "conditionals".into(),
            json!({"type": kind, "name": conditional.name}),
        );
    }
    if control.dynamic_labels {
        out.insert("dynamic_labels".into(), Value::Bool(true));
    }
    let inputs = control
        .inputs
        .iter()
        .map(|input| {
            let mut obj = Map::new();
            obj.insert("type".into(), json!(input.tag));
            obj.insert("valueType".into(), json!(input.value_type));
            match &input.source {
                InputSource::Value(v) => obj.insert("value".into(), json!(v)),
                InputSource::ValueList(v) => obj.insert("valueList".into(), json!(v)),
            };
            Value::Object(obj)
        })
        .collect();
    out.insert("inputs".into(), Value::Array(inputs));
    out.insert(
        "labels".into(),
        json!(control.labels.keys().collect::<Vec<_>>()),
    );
    out.insert("labels_attrs".into(), json!(control.labels));
    Value::Object(out)
}

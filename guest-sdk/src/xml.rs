//! Label config XML to [`LabelConfig`], off wasm only: what the host does before every call,
//! so that [`crate::Call::from_xml`] gives a native test the config a guest would receive.
//!
//! The rules are the host's (`host/src/labelconfig`), which are Label Studio's `parse_config`:
//! a control is any element with a non-empty `name` and `toName` (but `Filter`), an object any
//! other named element with a `value` or `valueList`; `Label`, `Choice` and `Relation` elements
//! attach to the nearest enclosing control, keyed by `alias`, else `value`, else `valueList`.
//! A repeated control name or label keeps its first position and its last contents, like the
//! Python dicts of the reference.

use crate::{Control, Input, Label, LabelConfig};

/// Tags whose elements attach to the nearest enclosing control as its labels.
const LABEL_TAGS: [&str; 3] = ["Label", "Choice", "Relation"];
/// Tags with `name` and `toName` that are nevertheless not controls.
const NOT_CONTROL_TAGS: [&str; 1] = ["Filter"];
/// `perRegion` condition attributes, with the kind each one gives.
const CONDITIONS: [(&str, &str); 3] = [
    ("whenTagName", "tag"),
    ("whenLabelValue", "label"),
    ("whenChoiceValue", "choice"),
];

/// Parses `xml` as the host does; an empty string is an empty config, as in Label Studio.
pub fn parse(xml: &str) -> Result<LabelConfig, String> {
    let mut config = LabelConfig {
        raw: xml.to_owned(),
        controls: Vec::new(),
    };
    if xml.is_empty() {
        return Ok(config);
    }
    let options = roxmltree::ParsingOptions {
        // The host refuses DTDs (no entity expansion bombs); so must a test of what it accepts.
        allow_dtd: false,
        ..Default::default()
    };
    let doc = roxmltree::Document::parse_with_options(xml, options).map_err(|e| e.to_string())?;
    let mut objects: Vec<Input> = Vec::new();
    for node in doc.root_element().descendants().filter(|n| n.is_element()) {
        visit(node, &mut config.controls, &mut objects);
    }
    for control in &mut config.controls {
        control.inputs = control
            .to_name
            .iter()
            .filter_map(|name| objects.iter().find(|o| &o.name == name).cloned())
            .collect();
    }
    Ok(config)
}

/// Records `node` as a control, an object and/or a label.
fn visit(node: roxmltree::Node, controls: &mut Vec<Control>, objects: &mut Vec<Input>) {
    let tag = qualified(node.tag_name().namespace(), node.tag_name().name());
    let name = non_empty(node.attribute("name"));
    let to_name = non_empty(node.attribute("toName"));
    if let (Some(name), Some(to_name)) = (name, to_name)
        && !NOT_CONTROL_TAGS.contains(&tag.as_str())
    {
        let control = control(node, name, tag.clone(), to_name);
        match controls.iter_mut().find(|c| c.name == name) {
            // Labels gathered under the name so far stay, as the reference keys them by name.
            Some(old) => {
                *old = Control {
                    labels: std::mem::take(&mut old.labels),
                    ..control
                }
            }
            None => controls.push(control),
        }
    } else if let Some(name) = name
        && let Some(input) = object(node, name, &tag)
    {
        match objects.iter_mut().find(|o| o.name == name) {
            Some(old) => *old = input,
            None => objects.push(input),
        }
    }
    if LABEL_TAGS.contains(&tag.as_str()) {
        attach_label(node, controls);
    }
}

/// The control `node` declares, without inputs and labels (filled in later).
fn control(node: roxmltree::Node, name: &str, tag: String, to_name: &str) -> Control {
    let conditional = (node.attribute("perRegion") == Some("true"))
        .then(|| {
            CONDITIONS.iter().find_map(|(attribute, kind)| {
                non_empty(node.attribute(*attribute))
                    .map(|value| ((*kind).to_owned(), value.to_owned()))
            })
        })
        .flatten();
    Control {
        name: name.to_owned(),
        tag,
        to_name: to_name.split(',').map(str::to_owned).collect(),
        inputs: Vec::new(),
        labels: Vec::new(),
        dynamic_labels: node.attribute("value").is_some_and(is_variable)
            || non_empty(node.attribute("apiUrl")).is_some(),
        conditional,
    }
}

/// The object `node` declares, when it has a non-empty `value` or `valueList`. A present
/// `value` wins even when empty, as in the host.
fn object(node: roxmltree::Node, name: &str, tag: &str) -> Option<Input> {
    let (value, value_list) = (node.attribute("value"), node.attribute("valueList"));
    if non_empty(value).is_none() && non_empty(value_list).is_none() {
        return None;
    }
    let strip = |v: &str| v.trim_start_matches('$').to_owned();
    Some(Input {
        name: name.to_owned(),
        tag: tag.to_owned(),
        value: value.map(strip),
        value_list: value.is_none().then(|| value_list.map(strip)).flatten(),
        value_type: node.attribute("valueType").map(str::to_owned),
    })
}

/// Adds a `Label`/`Choice`/`Relation` to the nearest ancestor whose `name` is a control seen
/// so far (so the nested `Choice`s of a `Taxonomy` all attach to it).
fn attach_label(node: roxmltree::Node, controls: &mut [Control]) {
    let Some(parent) = node
        .ancestors()
        .skip(1)
        .filter_map(|a| a.attribute("name"))
        .find_map(|name| controls.iter().position(|c| c.name == name))
    else {
        return;
    };
    let Some(value) = ["alias", "value", "valueList"]
        .into_iter()
        .find_map(|attribute| non_empty(node.attribute(attribute)))
    else {
        return;
    };
    let label = Label {
        value: value.to_owned(),
        attributes: node
            .attributes()
            .map(|a| (qualified(a.namespace(), a.name()), a.value().to_owned()))
            .collect(),
    };
    let labels = &mut controls[parent].labels;
    match labels.iter_mut().find(|l| l.value == label.value) {
        Some(old) => *old = label,
        None => labels.push(label),
    }
}

/// Treats an empty attribute like a missing one, as Python's truthiness does.
fn non_empty(value: Option<&str>) -> Option<&str> {
    value.filter(|v| !v.is_empty())
}

/// Label Studio's `^\$[A-Za-z_]+$`: the whole value is one task data variable.
fn is_variable(value: &str) -> bool {
    value.strip_prefix('$').is_some_and(|rest| {
        !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphabetic() || b == b'_')
    })
}

/// A tag or attribute name as lxml spells it: `{namespace}local` when namespaced.
fn qualified(namespace: Option<&str>, name: &str) -> String {
    match namespace {
        Some(ns) => format!("{{{ns}}}{name}"),
        None => name.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    #[test]
    fn controls_objects_and_labels() {
        let config = parse(
            r#"<View>
              <Text name="text" value="$text" valueType="text"/>
              <Image name="img" valueList="$pages"/>
              <Choices name="topic" toName="text,img,missing" choice="multiple">
                <Choice value="Sports" background="red"/>
                <Choice value="Tech" alias="T"/>
                <Choice value="Sports" hint="again"/>
              </Choices>
              <Labels name="dyn" toName="text" value="$labels"/>
              <Rating name="r" toName="text" perRegion="true" whenLabelValue="PER"/>
              <Filter name="f" toName="topic"/>
            </View>"#,
        )
        .expect("parses");
        let names: Vec<_> = config.controls.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["topic", "dyn", "r"], "Filter is not a control");
        let topic = &config.controls[0];
        assert_eq!(topic.to_name, ["text", "img", "missing"]);
        let inputs: Vec<_> = topic.inputs.iter().map(|i| i.name.as_str()).collect();
        assert_eq!(inputs, ["text", "img"], "unknown objects are skipped");
        assert_eq!(topic.inputs[0].value.as_deref(), Some("text"));
        assert_eq!(topic.inputs[0].value_type.as_deref(), Some("text"));
        assert_eq!(
            (
                topic.inputs[1].value.as_deref(),
                topic.inputs[1].value_list.as_deref()
            ),
            (None, Some("pages"))
        );
        assert_eq!(
            topic.label_values(),
            ["Sports", "T"],
            "alias first; a repeat keeps its place"
        );
        assert_eq!(
            topic.labels[0].attribute("hint"),
            Some("again"),
            "and takes the last attributes"
        );
        assert_eq!(topic.labels[0].attribute("background"), None);
        assert!(config.controls[1].dynamic_labels);
        assert_eq!(
            config.controls[2].conditional,
            Some(("label".into(), "PER".into()))
        );
        assert!(config.raw.contains("<Filter"));
    }

    #[test]
    fn empty_invalid_and_dtd_configs() {
        assert_eq!(parse("").expect("empty").controls, []);
        assert!(parse("<View><Choices name='c' toName='t'></View>").is_err());
        let dtd = r#"<!DOCTYPE View [<!ENTITY a "x">]><View/>"#;
        assert!(parse(dtd).is_err(), "the host refuses DTDs");
    }

    /// Label Studio's `parse_config` JSON for `config` (without the Repeater `regex`, which
    /// the SDK does not carry).
    fn label_studio_json(config: &LabelConfig) -> Value {
        let controls = config.controls.iter().map(|c| {
            let mut out = Map::new();
            out.insert("type".into(), json!(c.tag));
            out.insert("to_name".into(), json!(c.to_name));
            if let Some((kind, name)) = &c.conditional {
                out.insert("conditionals".into(), json!({"type": kind, "name": name}));
            }
            if c.dynamic_labels {
                out.insert("dynamic_labels".into(), json!(true));
            }
            let inputs = c.inputs.iter().map(|i| {
                let mut input = Map::new();
                input.insert("type".into(), json!(i.tag));
                input.insert("valueType".into(), json!(i.value_type));
                match (&i.value, &i.value_list) {
                    (Some(v), _) => input.insert("value".into(), json!(v)),
                    (None, v) => input.insert("valueList".into(), json!(v)),
                };
                Value::Object(input)
            });
            out.insert("inputs".into(), inputs.collect());
            out.insert("labels".into(), json!(c.label_values()));
            let attrs = c.labels.iter().map(|l| {
                let attributes = l.attributes.iter().map(|(k, v)| (k.clone(), json!(v)));
                (l.value.clone(), Value::Object(attributes.collect()))
            });
            out.insert("labels_attrs".into(), Value::Object(attrs.collect()));
            (c.name.clone(), Value::Object(out))
        });
        Value::Object(controls.collect())
    }

    /// Every template shipped with Label Studio 1.23.2 parses as Label Studio parses it, key
    /// order included: the data the host's own conformance test uses.
    #[test]
    fn every_label_studio_template_parses_like_label_studio() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../tests/data/label-configs");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).expect("the conformance data") {
            let path = entry.expect("entry").path();
            if path.extension().is_none_or(|e| e != "xml") {
                continue;
            }
            let xml = std::fs::read_to_string(&path).expect("xml");
            let expected = std::fs::read_to_string(path.with_extension("json")).expect("json");
            let mut expected: Value = serde_json::from_str(&expected).expect("json");
            for control in expected.as_object_mut().expect("object").values_mut() {
                control
                    .as_object_mut()
                    .expect("control")
                    .shift_remove("regex");
            }
            let ours = label_studio_json(&parse(&xml).expect("parses"));
            assert_eq!(ours.to_string(), expected.to_string(), "{}", path.display());
            checked += 1;
        }
        assert_eq!(checked, 69, "all shipped templates");
    }
}

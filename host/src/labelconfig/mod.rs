//! The Label Studio label config parser.
//!
//! A faithful port of `parse_config` from the Label Studio SDK (the parser the reference ML
//! backend hands its models as `parsed_label_config`), on roxmltree. The rules, including the
//! surprising ones, are Label Studio's: see `spec/PROTOCOL.md` ("The parsed label config").
//! [`LabelConfig::to_label_studio_json`] reproduces Label Studio's JSON byte for byte (key
//! order included); the conformance suite in `tests/` checks all 69 shipped templates.

mod json;

use indexmap::IndexMap;

/// Tags whose elements attach to the nearest enclosing control as its labels.
const LABEL_TAGS: [&str; 3] = ["Label", "Choice", "Relation"];
/// Tags with `name` and `toName` that are nevertheless not controls.
const NOT_CONTROL_TAGS: [&str; 1] = ["Filter"];
/// The pattern Label Studio records for every Repeater variable found in a `toName`.
const REPEATER_PATTERN: &str = ".*";

/// A parsed label config: every control in document order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct LabelConfig {
    /// Controls keyed by name, in the order their names first appear.
    pub controls: IndexMap<String, Control>,
}

/// A control tag (`Choices`, `Labels`, `RectangleLabels`, ...).
#[derive(Debug, Clone, PartialEq)]
pub struct Control {
    /// The tag, e.g. `Choices`.
    pub tag: String,
    /// `toName` split on `,` (not trimmed, like Label Studio).
    pub to_name: Vec<String>,
    /// Repeater variables that occur in `to_name`, each with the pattern `.*`.
    pub regex: IndexMap<String, String>,
    /// The `perRegion` visibility condition, if any.
    pub conditional: Option<Conditional>,
    /// True when the labels come from task data or an API.
    pub dynamic_labels: bool,
    /// The objects named in `to_name` that exist, in `to_name` order.
    pub inputs: Vec<Input>,
    /// Labels keyed by alias/value, each with all its attributes in document order.
    pub labels: IndexMap<String, IndexMap<String, String>>,
}

/// The kind of a `perRegion` condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConditionalKind {
    /// `whenTagName`.
    Tag,
    /// `whenLabelValue`.
    Label,
    /// `whenChoiceValue`.
    Choice,
}

/// A `perRegion="true"` control's condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conditional {
    /// Which attribute set it.
    pub kind: ConditionalKind,
    /// That attribute's value.
    pub name: String,
}

/// An object tag (`Text`, `Image`, ...) a control reads from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    /// The object's `name`.
    pub name: String,
    /// The object tag.
    pub tag: String,
    /// `valueType`, when present.
    pub value_type: Option<String>,
    /// The task data key, `$` stripped: from `value`, or from `valueList`.
    pub source: InputSource,
}

/// Where an object takes its data from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InputSource {
    /// `value="$key"`: one value.
    Value(String),
    /// `valueList="$key"`: a list of values.
    ValueList(String),
}

/// Why a label config could not be parsed.
#[derive(Debug, thiserror::Error)]
#[error("invalid label config: {0}")]
pub struct LabelConfigError(String);

impl LabelConfig {
    /// Parses a label config. An empty string is an empty config, as in Label Studio.
    pub fn parse(xml: &str) -> Result<Self, LabelConfigError> {
        if xml.is_empty() {
            return Ok(Self::default());
        }
        let options = roxmltree::ParsingOptions {
            // Label configs never need a DTD, and refusing them rules out entity expansion bombs.
            allow_dtd: false,
            ..Default::default()
        };
        let doc = roxmltree::Document::parse_with_options(xml, options)
            .map_err(|e| LabelConfigError(e.to_string()))?;
        Parser::default().run(&doc)
    }

    /// The first control with tag `tag` (e.g. `Choices`), with its name.
    pub fn first_control(&self, tag: &str) -> Option<(&str, &Control)> {
        self.controls
            .iter()
            .find(|(_, c)| c.tag == tag)
            .map(|(n, c)| (n.as_str(), c))
    }
}

/// Parse state, mirroring the dictionaries of Label Studio's implementation.
#[derive(Default)]
struct Parser {
    /// Repeater `indexFlag` variables seen so far, in document order.
    variables: Vec<String>,
    controls: IndexMap<String, Control>,
    objects: IndexMap<String, Input>,
    labels: IndexMap<String, IndexMap<String, IndexMap<String, String>>>,
}

impl Parser {
    fn run(mut self, doc: &roxmltree::Document) -> Result<LabelConfig, LabelConfigError> {
        for node in doc.root_element().descendants().filter(|n| n.is_element()) {
            self.visit(node)?;
        }
        let Parser {
            mut controls,
            objects,
            mut labels,
            ..
        } = self;
        for (name, control) in controls.iter_mut() {
            control.inputs = control
                .to_name
                .iter()
                .filter_map(|object| objects.get(object).cloned())
                .collect();
            control.labels = labels.shift_remove(name).unwrap_or_default();
        }
        Ok(LabelConfig { controls })
    }

    fn visit(&mut self, node: roxmltree::Node) -> Result<(), LabelConfigError> {
        let tag = tag_name(node);
        if let Some(flag) = node.attribute("indexFlag") {
            self.variables.push(flag.to_owned());
        }
        let name = non_empty(node.attribute("name"));
        let to_name = non_empty(node.attribute("toName"));
        if let (Some(name), Some(to_name)) = (name, to_name)
            && !NOT_CONTROL_TAGS.contains(&tag.as_str())
        {
            let control = self.control(node, tag.clone(), to_name);
            // Like a Python dict: a repeated name keeps its first position, last value.
            self.controls.insert(name.to_owned(), control);
        } else if let Some(name) = name
            && (non_empty(node.attribute("value")).is_some()
                || non_empty(node.attribute("valueList")).is_some())
        {
            let source = match (node.attribute("value"), node.attribute("valueList")) {
                (Some(v), _) => InputSource::Value(v.trim_start_matches('$').to_owned()),
                (None, Some(v)) => InputSource::ValueList(v.trim_start_matches('$').to_owned()),
                (None, None) => {
                    return Err(LabelConfigError(format!(
                        "<{tag} name=\"{name}\"> has neither value nor valueList"
                    )));
                }
            };
            let input = Input {
                name: name.to_owned(),
                tag: tag.clone(),
                value_type: node.attribute("valueType").map(str::to_owned),
                source,
            };
            self.objects.insert(name.to_owned(), input);
        }
        if LABEL_TAGS.contains(&tag.as_str()) {
            self.attach_label(node);
        }
        Ok(())
    }

    fn control(&self, node: roxmltree::Node, tag: String, to_name: &str) -> Control {
        let to_name: Vec<String> = to_name.split(',').map(str::to_owned).collect();
        let mut regex = IndexMap::new();
        for variable in &self.variables {
            if to_name
                .iter()
                .any(|object| object.contains(variable.as_str()))
            {
                regex.insert(variable.clone(), REPEATER_PATTERN.to_owned());
            }
        }
        let conditional = if node.attribute("perRegion") == Some("true") {
            [
                ("whenTagName", ConditionalKind::Tag),
                ("whenLabelValue", ConditionalKind::Label),
                ("whenChoiceValue", ConditionalKind::Choice),
            ]
            .into_iter()
            .find_map(|(attr, kind)| {
                non_empty(node.attribute(attr)).map(|name| Conditional {
                    kind,
                    name: name.to_owned(),
                })
            })
        } else {
            None
        };
        let dynamic_labels = node.attribute("value").is_some_and(is_variable)
            || non_empty(node.attribute("apiUrl")).is_some();
        Control {
            tag,
            to_name,
            regex,
            conditional,
            dynamic_labels,
            inputs: Vec::new(),
            labels: IndexMap::new(),
        }
    }

    /// Attaches a `Label`/`Choice`/`Relation` to the nearest ancestor whose `name` is an
    /// already-seen control (so nested `Choice`s of a `Taxonomy` all attach to it).
    fn attach_label(&mut self, node: roxmltree::Node) {
        let parent = node
            .ancestors()
            .skip(1)
            .filter_map(|a| a.attribute("name"))
            .find(|name| self.controls.contains_key(*name));
        let Some(parent) = parent else { return };
        let key = ["alias", "value", "valueList"]
            .into_iter()
            .find_map(|attr| non_empty(node.attribute(attr)));
        let Some(key) = key else { return };
        let attributes = node
            .attributes()
            .map(|a| (attribute_name(&a), a.value().to_owned()))
            .collect();
        self.labels
            .entry(parent.to_owned())
            .or_default()
            .insert(key.to_owned(), attributes);
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

/// An element's name as lxml spells it: `{namespace}local` when namespaced.
fn tag_name(node: roxmltree::Node) -> String {
    let name = node.tag_name();
    match name.namespace() {
        Some(ns) => format!("{{{ns}}}{}", name.name()),
        None => name.name().to_owned(),
    }
}

/// An attribute's name as lxml spells it: `{namespace}local` when namespaced.
fn attribute_name(attr: &roxmltree::Attribute) -> String {
    match attr.namespace() {
        Some(ns) => format!("{{{ns}}}{}", attr.name()),
        None => attr.name().to_owned(),
    }
}

#[cfg(test)]
mod tests;

//! The call a model runs for, as the host passes it, and (off wasm) a constructor for tests.

use serde_json::Value;

use crate::LabelConfig;
use crate::bindings::wasml::model::types as wit;

/// What every call runs for: the project, its label config, and the version the host
/// stamps on predictions.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Call {
    /// The Label Studio project id (`"42"`); empty when unknown.
    pub project: String,
    /// The project's label config.
    pub label_config: LabelConfig,
    /// The model version the host assigns to this call's answer.
    pub model_version: String,
    /// The `extra_params` the user configured in Label Studio, parsed as JSON when possible
    /// (otherwise a JSON string holding the raw text).
    pub extra_params: Option<Value>,
}

impl From<wit::Request> for Call {
    fn from(request: wit::Request) -> Self {
        Self {
            project: request.project,
            label_config: request.label_config.into(),
            model_version: request.model_version,
            extra_params: request
                .extra_params
                .map(|raw| serde_json::from_str(&raw).unwrap_or(Value::String(raw))),
        }
    }
}

impl Call {
    /// A call for the label config `xml`, parsed the way the host parses it before a call:
    /// for native unit tests of [`crate::Model::predict`] and [`crate::Model::fit`]. The
    /// project and model version are empty and there are no extra params until set with the
    /// `with_*` methods.
    ///
    /// Fails with [`crate::Error::InvalidInput`] when `xml` is not well-formed XML (or has a
    /// DTD, which the host refuses). Available off wasm only.
    ///
    /// ```
    /// let call = wasml_guest::Call::from_xml(
    ///     r#"<View><Text name="text" value="$text"/>
    ///          <Choices name="sentiment" toName="text"><Choice value="Positive"/></Choices></View>"#,
    /// )?
    /// .with_project("3");
    /// let control = call.label_config.control("sentiment").expect("parsed");
    /// assert_eq!(control.label_values(), ["Positive"]);
    /// assert_eq!(control.input().and_then(|i| i.value.as_deref()), Some("text"));
    /// # Ok::<(), wasml_guest::Error>(())
    /// ```
    #[cfg(not(target_arch = "wasm32"))]
    pub fn from_xml(xml: &str) -> Result<Self, crate::Error> {
        let label_config = crate::xml::parse(xml)
            .map_err(|why| crate::Error::invalid_input(format!("invalid label config: {why}")))?;
        Ok(Self {
            label_config,
            ..Self::default()
        })
    }

    /// This call, for project `project`.
    pub fn with_project(mut self, project: impl Into<String>) -> Self {
        self.project = project.into();
        self
    }

    /// This call, with the model version the host would stamp.
    pub fn with_model_version(mut self, version: impl Into<String>) -> Self {
        self.model_version = version.into();
        self
    }

    /// This call, with the user's `extra_params`.
    pub fn with_extra_params(mut self, params: Value) -> Self {
        self.extra_params = Some(params);
        self
    }
}

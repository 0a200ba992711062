//! The `Model` trait authors implement, and the glue the `export!` macro calls.

use serde_json::Value;

use crate::bindings::wasml::model::types as wit;
use crate::{Call, Context, Error, Event, Fit, Prediction, Task};

/// A Label Studio ML model. Implement it on a unit struct and call [`crate::export!`].
///
/// Each call runs in a fresh instance: keep state in [`crate::store`], not in statics.
pub trait Model {
    /// Human-readable name.
    const NAME: &'static str;
    /// The author's version of the model code; the host adds the component hash and the
    /// trained state to it.
    const VERSION: &'static str;
    /// One or two sentences describing the model.
    const DESCRIPTION: &'static str = "";
    /// True when `predict` uses the interactive context.
    const INTERACTIVE: bool = false;

    /// Returns exactly one prediction per task, in order.
    fn predict(
        call: &Call,
        tasks: &[Task],
        context: Option<&Context>,
    ) -> Result<Vec<Prediction>, Error>;

    /// Learns from a webhook event. The default ignores every event.
    fn fit(call: &Call, event: &Event) -> Result<Fit, Error> {
        let _ = (call, event);
        Ok(Fit::unchanged(Value::Null))
    }
}

/// Glue between the raw exports and a [`Model`]; used by [`crate::export!`] only.
#[doc(hidden)]
pub mod glue {
    use super::*;

    pub fn info<M: Model>() -> wit::ModelInfo {
        wit::ModelInfo {
            name: M::NAME.to_owned(),
            version: M::VERSION.to_owned(),
            description: M::DESCRIPTION.to_owned(),
            interactive: M::INTERACTIVE,
        }
    }

    pub fn predict<M: Model>(
        request: wit::Request,
        tasks: Vec<String>,
        context: Option<String>,
    ) -> Result<Vec<String>, wit::ModelError> {
        let call = Call::from(request);
        let tasks = tasks
            .iter()
            .enumerate()
            .map(|(i, raw)| {
                serde_json::from_str::<Task>(raw)
                    .map_err(|e| Error::invalid_input(format!("task {i}: {e}")))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let context = match context.as_deref() {
            Some(raw) => Some(
                serde_json::from_str::<Context>(raw)
                    .map_err(|e| Error::invalid_input(format!("context: {e}")))?,
            ),
            None => None,
        };
        let predictions = M::predict(&call, &tasks, context.as_ref())?;
        if predictions.len() != tasks.len() {
            return Err(Error::internal(format!(
                "{} returned {} predictions for {} tasks",
                M::NAME,
                predictions.len(),
                tasks.len()
            ))
            .into());
        }
        predictions
            .iter()
            .map(|p| serde_json::to_string(p).map_err(|e| Error::from(e).into()))
            .collect()
    }

    pub fn fit<M: Model>(
        request: wit::Request,
        event: String,
        payload: String,
    ) -> Result<wit::FitOutcome, wit::ModelError> {
        let call = Call::from(request);
        let payload = serde_json::from_str(&payload)
            .map_err(|e| Error::invalid_input(format!("payload: {e}")))?;
        let fit = M::fit(
            &call,
            &Event {
                action: event,
                payload,
            },
        )?;
        Ok(wit::FitOutcome {
            result: serde_json::to_string(&fit.result).map_err(Error::from)?,
            trained: fit.trained,
        })
    }
}

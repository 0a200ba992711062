//! Write Label Studio ML models as WebAssembly components for the wasml host.
//!
//! Implement [`Model`] and call [`export!`]; build with
//! `cargo build --release --target wasm32-wasip2` and drop the `.wasm` into the host's
//! models folder. The host parses the label config, keeps a per-project key/value
//! [`store`], sandboxes each call and stamps model versions; a model only maps tasks to
//! predictions and, optionally, learns in `fit`.
//!
//! A complete model: `fit` remembers the choice of the latest annotation, `predict` suggests
//! it (or, before any annotation, the first choice of the first `Choices` control). Regions
//! are built from the control ([`Control::choices`]), which fills in `from_name` and
//! `to_name`.
//!
//! Off wasm, [`store`] is in memory (one per thread) and [`Call::from_xml`] builds the call
//! the host would pass for a label config, so `predict` and `fit` are unit-tested natively
//! with `cargo test`, as `predicts_the_last_annotated_choice` below does (see [`testing`]).
//!
//! ```
//! use wasml_guest::serde_json::json;
//! use wasml_guest::{Call, Context, Error, Event, Fit, Model, Prediction, Task, store};
//!
//! struct LastChoice;
//!
//! impl Model for LastChoice {
//!     const NAME: &'static str = "Last choice";
//!     const VERSION: &'static str = "1.0.0";
//!
//!     fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
//!         let control = call
//!             .label_config
//!             .first_control(&["Choices"])
//!             .ok_or_else(|| Error::unsupported_config("needs a <Choices> control"))?;
//!         let choice = match store::get_json::<String>("last")? {
//!             Some(choice) => choice,
//!             None => match control.labels.first() {
//!                 Some(label) => label.value.clone(),
//!                 None => return Err(Error::unsupported_config("the <Choices> has no choices")),
//!             },
//!         };
//!         let region = control.choices(&[choice])?;
//!         Ok(tasks.iter().map(|_| Prediction::new(vec![region.clone()]).with_score(0.5)).collect())
//!     }
//!
//!     fn fit(_: &Call, event: &Event) -> Result<Fit, Error> {
//!         let annotation = event.annotation().unwrap_or_default();
//!         let Some(choice) = annotation.result.iter().find_map(|r| r.choice_values().pop()) else {
//!             return Ok(Fit::unchanged(json!({})));
//!         };
//!         store::set_json("last", choice)?;
//!         Ok(Fit::trained(json!({ "last": choice })))
//!     }
//! }
//!
//! wasml_guest::export!(LastChoice);
//!
//! // In a model crate this is a `#[test]` in `#[cfg(test)] mod tests`.
//! fn predicts_the_last_annotated_choice() -> Result<(), Error> {
//!     let call = Call::from_xml(
//!         r#"<View>
//!              <Text name="text" value="$text"/>
//!              <Choices name="sentiment" toName="text">
//!                <Choice value="Positive"/><Choice value="Negative"/>
//!              </Choices>
//!            </View>"#,
//!     )?;
//!     let control = call.label_config.control("sentiment").expect("in the config");
//!     let tasks = [Task::from_json(json!({"id": 1, "data": {"text": "Great!"}}))?];
//!     assert_eq!(LastChoice::predict(&call, &tasks, None)?[0].result, [control.choices(&["Positive"])?]);
//!
//!     let annotation = json!({"id": 7, "result": [control.choices(&["Negative"])?]});
//!     let fit = LastChoice::fit(&call, &Event::new("ANNOTATION_CREATED", json!({ "annotation": annotation })))?;
//!     assert_eq!(fit, Fit::trained(json!({"last": "Negative"})));
//!     assert_eq!(LastChoice::predict(&call, &tasks, None)?[0].result, [control.choices(&["Negative"])?]);
//!     Ok(())
//! }
//! # fn main() { predicts_the_last_annotated_choice().expect("the test passes"); }
//! ```

mod bindings;
mod call;
mod config;
mod control_regions;
mod error;
mod event;
#[cfg(not(target_arch = "wasm32"))]
mod memory;
mod model;
mod region;
mod task;
#[cfg(not(target_arch = "wasm32"))]
mod xml;

#[cfg(feature = "audio")]
pub mod audio;
pub mod brush;
pub mod data;
#[cfg(feature = "image")]
pub mod image;
mod label_map;
pub mod log;
pub mod nn;
pub mod store;
#[cfg(not(target_arch = "wasm32"))]
pub mod testing;
pub mod text;
pub mod vision;

pub use call::Call;
pub use config::{Control, Input, Label, LabelConfig};
pub use control_regions::RegionBuilder;
pub use error::Error;
pub use event::{Event, EventKind, Fit};
pub use label_map::{ClassControl, LabelMap};
pub use model::Model;
pub use region::{Prediction, Region, Span};
pub use serde_json;
pub use task::{Annotation, Context, Task};

/// Items the [`export!`] macro expands to; not part of the API.
#[doc(hidden)]
pub mod __private {
    pub use crate::bindings::__export_model_world;
    pub use crate::model::glue;

    /// The raw bindings, at the path the generated export macro expects.
    pub mod bindings {
        pub use crate::bindings::*;
    }
}

/// Exports a [`Model`] implementation as this component's `wasml:model` world.
///
/// Call it once, at the crate root of a `cdylib` crate: `wasml_guest::export!(MyModel);`
#[macro_export]
macro_rules! export {
    ($model:ty) => {
        #[doc(hidden)]
        pub struct __WasmlModelExport;

        impl $crate::__private::bindings::Guest for __WasmlModelExport {
            fn info() -> $crate::__private::bindings::wasml::model::types::ModelInfo {
                $crate::__private::glue::info::<$model>()
            }

            fn predict(
                request: $crate::__private::bindings::wasml::model::types::Request,
                tasks: ::std::vec::Vec<::std::string::String>,
                context: ::std::option::Option<::std::string::String>,
            ) -> ::std::result::Result<
                ::std::vec::Vec<::std::string::String>,
                $crate::__private::bindings::wasml::model::types::ModelError,
            > {
                $crate::__private::glue::predict::<$model>(request, tasks, context)
            }

            fn fit(
                request: $crate::__private::bindings::wasml::model::types::Request,
                event: ::std::string::String,
                payload: ::std::string::String,
            ) -> ::std::result::Result<
                $crate::__private::bindings::wasml::model::types::FitOutcome,
                $crate::__private::bindings::wasml::model::types::ModelError,
            > {
                $crate::__private::glue::fit::<$model>(request, event, payload)
            }
        }

        $crate::__private::__export_model_world!(
            __WasmlModelExport with_types_in $crate::__private::bindings
        );
    };
}

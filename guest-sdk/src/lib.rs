//! Write Label Studio ML models as WebAssembly components for the wasml host.
//!
//! Implement [`Model`] and call [`export!`]; build with
//! `cargo build --release --target wasm32-wasip2` and drop the `.wasm` into the host's
//! models folder. The host parses the label config, keeps a per-project key/value
//! [`store`], sandboxes each call and stamps model versions; a model only maps tasks to
//! predictions and, optionally, learns in `fit`.
//!
//! A complete model: it predicts the first choice of the first `Choices` control.
//!
//! ```
//! use wasml_guest::{Call, Context, Error, Model, Prediction, Region, Task};
//!
//! struct FirstChoice;
//!
//! impl Model for FirstChoice {
//!     const NAME: &'static str = "First choice";
//!     const VERSION: &'static str = "1.0.0";
//!
//!     fn predict(call: &Call, tasks: &[Task], _: Option<&Context>) -> Result<Vec<Prediction>, Error> {
//!         let control = call
//!             .label_config
//!             .first_control(&["Choices"])
//!             .ok_or_else(|| Error::unsupported_config("needs a <Choices> control"))?;
//!         let (Some(label), Some(to_name)) = (control.labels.first(), control.to_name()) else {
//!             return Err(Error::unsupported_config("the <Choices> control has no choices"));
//!         };
//!         let region = Region::choices(&control.name, to_name, &[&label.value]).with_score(0.5);
//!         Ok(tasks.iter().map(|_| Prediction::new(vec![region.clone()]).with_score(0.5)).collect())
//!     }
//! }
//!
//! wasml_guest::export!(FirstChoice);
//! # fn main() {}
//! ```

mod bindings;
mod config;
mod error;
mod event;
mod model;
mod region;
mod task;

pub mod log;
pub mod store;
pub mod text;

pub use config::{Control, Input, Label, LabelConfig};
pub use error::Error;
pub use event::{Event, EventKind, Fit};
pub use model::{Call, Model};
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

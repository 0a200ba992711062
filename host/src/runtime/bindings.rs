//! Host bindings for the `wasml:model` world (`wit/model.wit`), generated once, here.

// Generated code: documented in the WIT file it comes from.
#![allow(missing_docs)]

wasmtime::component::bindgen!({
    path: "../wit",
    world: "model",
    imports: { default: async },
    exports: { default: async },
    // The standard interfaces have their own bindings, in the module that implements them.
    with: { "wasi:nn": crate::nn::bindings::wasi::nn },
});

pub use self::wasml::model::log::{Host as LogHost, Level as LogLevel};
pub use self::wasml::model::store::Host as StoreHost;
pub use self::wasml::model::task_data::{FetchError, Fetched as WitFetched, Host as TaskDataHost};
pub use self::wasml::model::types::{
    Attribute, Conditional, ConditionalKind, Control, Host as TypesHost, Input, Label, LabelConfig,
    RegexVariable, StoreError,
};
pub use self::wasml::model::{log, store, task_data, types};
pub use self::{Model as ModelBindings, ModelPre as ModelBindingsPre};

//! Raw guest bindings for the `wasml:model` world. Authors use the typed API instead; the
//! `export!` macro is the only user of these.

// Generated code: documented in the WIT file it comes from.
#![allow(missing_docs, clippy::too_many_arguments)]

wit_bindgen::generate!({
    path: "../wit",
    world: "model",
    pub_export_macro: true,
    export_macro_name: "__export_model_world",
    default_bindings_module: "wasml_guest::__private::bindings",
    // The world imports the standard `wasi:nn` package as well.
    generate_all,
});

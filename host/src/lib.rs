//! wasml: serve WebAssembly models to Label Studio over its ML backend protocol.
//!
//! Data flows top to bottom: [`server`] (hyper) -> [`routes`] -> [`app`] (the endpoints)
//! -> [`registry`] (name -> loaded model) -> [`runtime`] (one sandboxed store per call)
//! -> the guest, which reaches back into [`store`] through the WIT `store` interface.

pub mod alloc;
pub mod api;
pub mod app;
pub mod auth;
pub mod cli;
pub mod error;
pub mod identity;
pub mod jobs;
pub mod labelconfig;
pub mod limits;
pub mod local;
pub mod manifest;
pub mod metrics;
pub mod nn;
pub mod projects;
pub mod registry;
pub mod reload;
pub mod routes;
pub mod runtime;
pub mod server;
pub mod store;
pub mod taskdata;
pub mod version;

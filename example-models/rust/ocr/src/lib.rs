//! OCR for Label Studio: text detection and recognition with PP-OCRv4, the graphs RapidOCR
//! 1.4.4 ships (taken from its PyPI wheel at build time by `fetch-assets`), run on the host's
//! ONNX Runtime through `wasi:nn`; the pre- and post-processing run here, in the sandbox.
//!
//! - **`pipeline`**: a pure-Rust port of rapidocr's pipeline (detection with DB
//!   post-processing, direction classification, CTC recognition), matching it box for box
//!   and text for text, with the networks behind [`pipeline::Infer`].
//! - **`regions`**: recognised lines as regions for Label Studio's OCR template, whatever its
//!   controls are named: a `Rectangle` (else `Polygon`, or their labelled forms), the
//!   `Labels` label for text, and the per-region `TextArea`, all sharing one `id`, in percent
//!   with `original_width`/`original_height`.
//! - **`model`**: the Label Studio model. `predict` fetches each task's image through task
//!   data (PNG or JPEG, decoded here), reads it, and scores each region and prediction with
//!   the recogniser's confidence. Interactively, a rectangle the user drew gets a `TextArea`
//!   with the text of the lines inside it (the way Label Studio's tesseract example answers).
//!
//! PP-OCRv4's recogniser (Chinese and English) often drops the spaces between English words,
//! exactly as rapidocr does with these graphs.

pub mod pipeline;

mod model;
mod regions;

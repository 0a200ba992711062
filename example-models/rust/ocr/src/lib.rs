//! OCR for Label Studio: a pure-Rust port of the RapidOCR (PP-OCRv4) pipeline, with the
//! networks run elsewhere (see [`pipeline::Infer`]).

pub mod pipeline;

mod model;
mod regions;

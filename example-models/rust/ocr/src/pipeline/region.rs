//! Reading the text inside a rectangle a user drew (interactive labeling).

use super::infer::Infer;
use super::options::Options;
use super::preprocess::limit_sides;
use super::recognize::{ctc_labels, recognize};
use super::{RgbImage, classify, detect_and_read};

/// The text inside `rect` (`[x, y, width, height]` in `image` pixels): the pipeline runs on
/// that part of the image and its lines are joined in reading order with a space, the score
/// being their mean. When the detector finds nothing there, the whole part is recognised as
/// one line (as rapidocr does without detection). `None` when nothing readable is found
/// (or the rectangle misses the image).
pub fn read_region(
    image: &RgbImage,
    rect: [f32; 4],
    infer: &mut impl Infer,
    keys: &[String],
    options: &Options,
) -> Result<Option<(String, f32)>, String> {
    image.check()?;
    if rect.iter().any(|v| !v.is_finite()) {
        return Err(format!("the region {rect:?} is not a finite rectangle"));
    }
    let [x, y, w, h] = rect;
    // Whole pixels covering the rectangle, within the image.
    let clamp = |v: f32, size: usize| v.clamp(0.0, size as f32) as usize;
    let (x0, x1) = (
        clamp(x.floor(), image.width),
        clamp((x + w).ceil(), image.width),
    );
    let (y0, y1) = (
        clamp(y.floor(), image.height),
        clamp((y + h).ceil(), image.height),
    );
    if x1 <= x0 || y1 <= y0 {
        return Ok(None);
    }
    let part = image.crop(x0, y0, x1 - x0, y1 - y0);
    let found = match detect_and_read(&part, infer, keys, options)? {
        Some(lines) => lines
            .into_iter()
            .map(|line| (line.text, f64::from(line.score)))
            .collect(),
        None => read_whole(&part, infer, keys, options)?,
    };
    let found: Vec<(String, f64)> = found
        .into_iter()
        .filter(|(text, _)| !text.trim().is_empty())
        .collect();
    if found.is_empty() {
        return Ok(None);
    }
    let score = found.iter().map(|(_, s)| s).sum::<f64>() / found.len() as f64;
    let text = found
        .into_iter()
        .map(|(t, _)| t)
        .collect::<Vec<_>>()
        .join(" ");
    Ok(Some((text, score as f32)))
}

/// rapidocr with `use_det=False`: the (size-limited) image is one line for the classifier and
/// the recogniser. Kept only when it scores at least `text_score`.
fn read_whole(
    part: &RgbImage,
    infer: &mut impl Infer,
    keys: &[String],
    options: &Options,
) -> Result<Vec<(String, f64)>, String> {
    let mut lines = vec![limit_sides(part, options)?.image];
    if options.use_cls {
        classify::classify(&mut lines, infer, options)?;
    }
    let read = recognize(&lines, infer, &ctc_labels(keys), options)?;
    Ok(read
        .into_iter()
        .filter(|(_, score)| *score >= options.text_score)
        .collect())
}

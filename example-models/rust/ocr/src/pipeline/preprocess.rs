//! The image-level geometry of rapidocr's `main.py` and of the detector's input: scaling to
//! sides that are multiples of 32, padding flat images, and mapping boxes back.

use super::image::RgbImage;
use super::image::resize_linear;
use super::options::{LimitType, Options};

/// Python's `int(round(side / 32) * 32)`: the nearest multiple of 32, halves to even
/// (`round` is banker's rounding), so 48 becomes 64 and 80 becomes 64.
pub fn round_to_32(side: usize) -> usize {
    ((side as f64 / 32.0).round_ties_even() * 32.0) as usize
}

/// `int(h * ratio)`, `int(w * ratio)`, each then rounded to a multiple of 32, as
/// `reduce_max_side`, `increase_min_side` and the detector's resize compute the new size.
/// Returns `(width, height)`.
pub fn scaled_size(width: usize, height: usize, ratio: f64) -> (usize, usize) {
    let scale = |side: usize| round_to_32((side as f64 * ratio) as usize);
    (scale(width), scale(height))
}

/// The ratio `reduce_max_side` (`longest = true`) or `increase_min_side` uses: the limit over
/// the height when the height is the longer (shorter) side, otherwise over the width.
fn limit_ratio(width: usize, height: usize, limit: usize, longest: bool) -> f64 {
    let use_height = if longest {
        height > width
    } else {
        height < width
    };
    limit as f64 / if use_height { height } else { width } as f64
}

/// The image the detector works on, and how to map its coordinates back.
#[derive(Debug, Clone)]
pub(crate) struct Prepared {
    /// The scaled and padded image.
    pub image: RgbImage,
    /// Original pixels per prepared pixel, horizontally and vertically.
    pub ratio_w: f64,
    pub ratio_h: f64,
    /// Rows of black added above the image.
    pub pad_top: usize,
}

/// `RapidOCR.preprocess`: scales an image whose longer side exceeds `max_side_len` down, or
/// whose shorter side is below `min_side_len` up (to sides that are multiples of 32).
pub(crate) fn limit_sides(image: &RgbImage, options: &Options) -> Result<Prepared, String> {
    let (w, h) = (image.width, image.height);
    let mut scaled = image.clone();
    if w.max(h) > options.max_side_len {
        let ratio = limit_ratio(w, h, options.max_side_len, true);
        scaled = resize_to(image, scaled_size(w, h, ratio))?;
    }
    if scaled.width.min(scaled.height) < options.min_side_len {
        let (sw, sh) = (scaled.width, scaled.height);
        let ratio = limit_ratio(sw, sh, options.min_side_len, false);
        scaled = resize_to(&scaled, scaled_size(sw, sh, ratio))?;
    }
    // rapidocr keeps only the last step's ratios; composing them is the same whenever only
    // one step runs (always, with the default sides) and right when both do.
    Ok(Prepared {
        ratio_w: w as f64 / scaled.width as f64,
        ratio_h: h as f64 / scaled.height as f64,
        image: scaled,
        pad_top: 0,
    })
}

fn resize_to(image: &RgbImage, (width, height): (usize, usize)) -> Result<RgbImage, String> {
    if width == 0 || height == 0 {
        // rapidocr raises ResizeImgError here: the aspect ratio is too extreme.
        return Err(format!(
            "cannot scale a {}x{} image: one side would become 0",
            image.width, image.height
        ));
    }
    Ok(resize_linear(image, width, height))
}

/// `RapidOCR.maybe_add_letterbox`: an image at most `min_height` high, or wider than
/// `width_height_ratio` times its height, gets black bands above and below, because the
/// detector finds little in very flat images.
pub(crate) fn letterbox(prepared: Prepared, options: &Options) -> Prepared {
    let (w, h) = (prepared.image.width, prepared.image.height);
    let too_wide = options
        .width_height_ratio
        .is_some_and(|ratio| w as f64 / h as f64 > ratio);
    if h > options.min_height && !too_wide {
        return prepared;
    }
    // `_get_padding_h`; without a ratio rapidocr would divide by -1, giving a negative height
    // that `max` replaces by `min_height`, which is what this does.
    let by_ratio = options
        .width_height_ratio
        .map_or(0, |ratio| (w as f64 / ratio).max(0.0) as usize);
    let new_h = by_ratio.max(options.min_height) * 2;
    let pad = new_h.abs_diff(h) / 2;
    Prepared {
        image: prepared.image.pad_vertical(pad, pad),
        pad_top: pad,
        ..prepared
    }
}

/// `RapidOCR._get_origin_points` for one box: undo the padding and the scaling (in float32,
/// as numpy does), then clamp to `[0, width] × [0, height]` of the original image.
pub(crate) fn to_original(
    points: [[f32; 2]; 4],
    prepared: &Prepared,
    width: usize,
    height: usize,
) -> [[f32; 2]; 4] {
    let (rw, rh) = (prepared.ratio_w as f32, prepared.ratio_h as f32);
    points.map(|[x, y]| {
        let x = x * rw;
        let y = (y - prepared.pad_top as f32) * rh;
        [x.clamp(0.0, width as f32), y.clamp(0.0, height as f32)]
    })
}

/// `TextDetector.get_preprocess` and `DetPreProcess.resize`: the detector's input size, or
/// `None` when a side would round to 0 (then rapidocr finds nothing).
pub fn det_input_size(width: usize, height: usize, options: &Options) -> Option<(usize, usize)> {
    let ratio = match options.det_limit_type {
        LimitType::Min => {
            let limit = options.det_limit_side_len;
            if width.min(height) < limit {
                limit_ratio(width, height, limit, false)
            } else {
                1.0
            }
        }
        LimitType::Max => {
            let longest = width.max(height);
            let limit = match longest {
                0..960 => 960,
                960..1500 => 1500,
                _ => 2000,
            };
            if longest > limit {
                limit_ratio(width, height, limit, true)
            } else {
                1.0
            }
        }
    };
    let (w, h) = scaled_size(width, height, ratio);
    (w > 0 && h > 0).then_some((w, h))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounding_is_bankers() {
        assert_eq!(round_to_32(48), 64);
        assert_eq!(round_to_32(80), 64);
        assert_eq!(round_to_32(16), 0);
        assert_eq!(round_to_32(17), 32);
        assert_eq!(round_to_32(736), 736);
        assert_eq!(round_to_32(751), 736);
        assert_eq!(round_to_32(753), 768);
    }

    #[test]
    fn detector_size_limits_the_shorter_side() {
        let options = Options::default();
        // 900x700: ratio 736/700 -> 946x736 -> 960x736.
        assert_eq!(det_input_size(900, 700, &options), Some((960, 736)));
        // Large enough already: only rounding to 32.
        assert_eq!(det_input_size(1000, 800, &options), Some((992, 800)));
        // Portrait: the width is the shorter side.
        assert_eq!(det_input_size(100, 200, &options), Some((736, 1472)));
        let max = Options {
            det_limit_type: LimitType::Max,
            ..Options::default()
        };
        assert_eq!(det_input_size(1200, 600, &max), Some((1216, 608)));
        assert_eq!(det_input_size(1600, 400, &max), Some((1600, 384)));
        assert_eq!(det_input_size(2400, 1000, &max), Some((1984, 832)));
    }

    #[test]
    fn sides_are_limited_like_main_py() {
        let options = Options::default();
        let big = RgbImage::filled(4000, 1000, [9, 9, 9]);
        let prepared = limit_sides(&big, &options).expect("scales");
        assert_eq!((prepared.image.width, prepared.image.height), (1984, 512));
        assert!((prepared.ratio_w - 4000.0 / 1984.0).abs() < 1e-12);
        let small = RgbImage::filled(100, 20, [9, 9, 9]);
        // ratio 30/20 -> 150x30 -> 160x32.
        let prepared = limit_sides(&small, &options).expect("scales");
        assert_eq!((prepared.image.width, prepared.image.height), (160, 32));
        // 5000x40 would become 2000x16, then 0 rows: rapidocr's ResizeImgError.
        assert!(limit_sides(&RgbImage::filled(5000, 40, [0; 3]), &options).is_err());
    }

    #[test]
    fn flat_images_get_letterboxed() {
        let options = Options::default();
        let prepared = |w, h| Prepared {
            image: RgbImage::filled(w, h, [1, 1, 1]),
            ratio_w: 1.0,
            ratio_h: 1.0,
            pad_top: 0,
        };
        // 30 high: (max(400 / 8, 30) * 2 - 30) / 2 = 35 rows each side.
        let boxed = letterbox(prepared(400, 30), &options);
        assert_eq!((boxed.pad_top, boxed.image.height), (35, 100));
        // 1200x60 is wider than 8:1: (150 * 2 - 60) / 2 = 120.
        assert_eq!(letterbox(prepared(1200, 60), &options).pad_top, 120);
        assert_eq!(letterbox(prepared(400, 100), &options).pad_top, 0);
        // Points map back through the padding and the ratios, clamped to the image.
        let mut boxed = letterbox(prepared(400, 30), &options);
        boxed.ratio_w = 2.0;
        let back = to_original(
            [[10.0, 35.0], [500.0, 40.0], [1.0, 200.0], [0.0, 0.0]],
            &boxed,
            800,
            30,
        );
        assert_eq!(back, [[20.0, 0.0], [800.0, 5.0], [2.0, 30.0], [0.0, 0.0]]);
    }
}

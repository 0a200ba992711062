//! Text direction: rapidocr's `TextClassifier`, which turns lines the classifier reads as
//! upside down (label "180", surer than `cls_thresh`).

use super::image::resize_linear;
use super::image::{ChannelOrder, RgbImage, write_planes};
use super::infer::{Graph, Infer, Tensor, run_checked};
use super::options::Options;

/// Line indices by increasing width/height ratio (rapidocr batches similar lines together).
/// Equal ratios keep their reading order. rapidocr's `np.argsort` is not stable (numpy sorts
/// with CPU-specific SIMD code), so it can put one of several equally shaped lines into the
/// next batch instead; the line is then padded to that batch's width, which moves its score
/// slightly. No fixed order can match that on every CPU, so this one is simply stable.
pub(crate) fn by_aspect_ratio(images: &[RgbImage]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..images.len()).collect();
    let ratio = |i: usize| images[i].width as f64 / images[i].height as f64;
    order.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)));
    order
}

/// The width a line is scaled to at height `height`: `ceil(height * w / h)`, at most `max`.
pub(crate) fn scaled_width(image: &RgbImage, height: usize, max: usize) -> usize {
    let ratio = image.width as f64 / image.height as f64;
    let width = (height as f64 * ratio).ceil();
    if width > max as f64 {
        max
    } else {
        width as usize
    }
}

/// `resize_norm_img` for both line models: scale to `height` (keeping the aspect ratio, at
/// most `width` wide), map bytes to [-1, 1] as `(v / 255 - 0.5) / 0.5` in float32, and leave
/// the rest of the `width` zero. Writes one `[3, height, width]` block.
pub(crate) fn write_line(image: &RgbImage, height: usize, width: usize, out: &mut [f32]) {
    let resized = resize_linear(image, scaled_width(image, height, width), height);
    write_planes(&resized, ChannelOrder::Bgr, out, width, |_, v| {
        (f32::from(v) / 255.0 - 0.5) / 0.5
    });
}

/// The network input of the lines at `batch`: each written by [`write_line`] into its own
/// `3 x height x width` block of one `batch.len() x 3 x height x width` tensor.
pub(crate) fn line_batch(
    lines: &[RgbImage],
    batch: &[usize],
    height: usize,
    width: usize,
) -> Tensor {
    let block = 3 * height * width;
    let mut data = vec![0f32; batch.len() * block];
    for (slot, &line) in batch.iter().enumerate() {
        write_line(
            &lines[line],
            height,
            width,
            &mut data[slot * block..(slot + 1) * block],
        );
    }
    Tensor {
        dims: vec![batch.len(), 3, height, width],
        data,
    }
}

/// The index of the largest value, the first one on ties (`np.argmax`).
pub(crate) fn argmax(values: &[f32]) -> (usize, f32) {
    let mut best = (0, f32::NEG_INFINITY);
    for (i, &v) in values.iter().enumerate() {
        if v > best.1 || i == 0 {
            best = (i, v);
        }
    }
    best
}

/// Classifies each line's direction and turns the upside-down ones in place.
pub(crate) fn classify(
    lines: &mut [RgbImage],
    infer: &mut impl Infer,
    options: &Options,
) -> Result<(), String> {
    let [_, height, width] = options.cls_image_shape;
    let order = by_aspect_ratio(lines);
    for batch in order.chunks(options.cls_batch_num) {
        let input = line_batch(lines, batch, height, width);
        let output = run_checked(infer, Graph::Cls, input, 2)?;
        let classes = output.dims[1];
        if output.dims[0] != batch.len() || classes == 0 {
            return Err(format!(
                "the classifier returned {:?} for {} lines",
                output.dims,
                batch.len()
            ));
        }
        for (slot, &line) in batch.iter().enumerate() {
            let (label, score) = argmax(&output.data[slot * classes..(slot + 1) * classes]);
            let name = options.cls_label_list.get(label).ok_or_else(|| {
                format!("the classifier returned class {label}, which has no label")
            })?;
            if name.contains("180") && f64::from(score) > options.cls_thresh {
                lines[line] = lines[line].rotate_180();
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widths_follow_the_aspect_ratio() {
        let line = RgbImage::filled(100, 30, [0; 3]);
        // ceil(48 * 100 / 30) = 160.
        assert_eq!(scaled_width(&line, 48, 192), 160);
        assert_eq!(
            scaled_width(&RgbImage::filled(300, 30, [0; 3]), 48, 192),
            192
        );
    }

    #[test]
    fn argmax_takes_the_first_maximum() {
        assert_eq!(argmax(&[0.1, 0.7, 0.7, 0.2]), (1, 0.7));
        assert_eq!(argmax(&[0.9]), (0, 0.9));
    }

    #[test]
    fn line_input_is_padded_with_zeros() {
        let line = RgbImage::filled(4, 2, [255, 0, 255]);
        let mut out = vec![0.0; 3 * 2 * 6];
        write_line(&line, 2, 6, &mut out);
        // Blue plane: 1.0 over the 4 scaled columns, 0 beyond; green plane -1.0.
        assert_eq!(&out[..6], &[1.0, 1.0, 1.0, 1.0, 0.0, 0.0]);
        assert_eq!(&out[12..18], &[-1.0, -1.0, -1.0, -1.0, 0.0, 0.0]);
    }
}

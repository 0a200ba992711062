//! `cv2.resize` of 8-bit images, bit for bit: `INTER_LINEAR` (its default) and
//! `INTER_LANCZOS4`. OpenCV resizes 8-bit images in fixed point (11-bit weights, pixel centres
//! at +0.5); with `INTER_LINEAR` an exact halving of both sides is done by 2×2 averaging.

use super::RgbImage;

/// Weights are fixed point with this many fractional bits (`INTER_RESIZE_COEF_BITS`).
const COEF_BITS: u32 = 11;
const COEF_SCALE: f32 = (1 << COEF_BITS) as f32;

/// cv2's `saturate_cast<short>(float)`: round half to even.
fn weight(v: f32) -> i32 {
    (v * COEF_SCALE).round_ties_even() as i32
}

/// For each output coordinate along one axis: the first source index and the two weights,
/// as `cv::resize` computes them (`fx = (dx + 0.5) * scale - 0.5`, in float).
fn taps(src: usize, dst: usize, clamp_start: bool) -> Vec<(isize, i32, i32)> {
    // OpenCV's scale is the inverse of dst/src, which can differ from src/dst in the last bit.
    let scale = 1.0 / (dst as f64 / src as f64);
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let mut s = f.floor() as isize;
            let mut f = f - s as f32;
            // Columns are clamped here (the weight moves to the edge pixel); rows are not,
            // their out-of-range index is clamped when the row is fetched, weights unchanged.
            if clamp_start {
                if s < 0 {
                    s = 0;
                    f = 0.0;
                }
                if s >= src as isize - 1 {
                    s = src as isize - 1;
                    f = 0.0;
                }
            }
            (s, weight(1.0 - f), weight(f))
        })
        .collect()
}

/// Resizes `src` to `width × height` exactly as `cv2.resize` with `INTER_LINEAR` does.
/// Both sizes must be positive.
pub fn resize_linear(src: &RgbImage, width: usize, height: usize) -> RgbImage {
    if (width, height) == (src.width, src.height) {
        return src.clone();
    }
    if src.width == 2 * width && src.height == 2 * height {
        return halve(src);
    }
    let columns = taps(src.width, width, true);
    // Horizontal pass for one source row: values scaled by 2^11.
    let horizontal = |y: usize| -> Vec<i32> {
        let row = src.row(y);
        let mut out = Vec::with_capacity(width * 3);
        for &(sx, a0, a1) in &columns {
            let sx = sx as usize;
            for c in 0..3 {
                let left = i32::from(row[sx * 3 + c]);
                // At the right edge only the edge pixel counts (OpenCV's `xmax` branch).
                out.push(if sx + 1 < src.width {
                    left * a0 + i32::from(row[(sx + 1) * 3 + c]) * a1
                } else {
                    left << COEF_BITS
                });
            }
        }
        out
    };
    let last_row = src.height as isize - 1;
    let mut data = Vec::with_capacity(width * height * 3);
    let mut cache: Option<(usize, Vec<i32>)> = None;
    for (sy, b0, b1) in taps(src.height, height, false) {
        let y0 = sy.clamp(0, last_row) as usize;
        let y1 = (sy + 1).clamp(0, last_row) as usize;
        let row0 = match cache.take() {
            Some((y, row)) if y == y0 => row,
            _ => horizontal(y0),
        };
        let row1 = if y1 == y0 {
            row0.clone()
        } else {
            horizontal(y1)
        };
        vertical(&row0, &row1, b0, b1, &mut data);
        cache = Some((y1, row1));
    }
    RgbImage {
        width,
        height,
        data,
    }
}

/// OpenCV's vertical pass (`VResizeLinearVec_32s8u`), which opencv-python applies to whole
/// rows: 16-bit lanes, `mul_hi` of the row values shifted down by 4 with each weight, then a
/// rounding shift by 2. (Its scalar fallback rounds differently and is not reached.)
fn vertical(row0: &[i32], row1: &[i32], b0: i32, b1: i32, out: &mut Vec<u8>) {
    let hi = |s: i32, b: i32| ((s >> 4) * b) >> 16;
    out.extend(
        row0.iter()
            .zip(row1)
            .map(|(&s0, &s1)| ((hi(s0, b0) + hi(s1, b1) + 2) >> 2).clamp(0, 255) as u8),
    );
}

/// An exact halving: OpenCV switches `INTER_LINEAR` to its fast `INTER_AREA` path, the
/// rounded mean of each 2×2 block.
fn halve(src: &RgbImage) -> RgbImage {
    let (width, height) = (src.width / 2, src.height / 2);
    let mut data = Vec::with_capacity(width * height * 3);
    for y in 0..height {
        let (top, bottom) = (src.row(2 * y), src.row(2 * y + 1));
        for x in 0..width {
            for c in 0..3 {
                let at = 6 * x + c;
                let sum = u32::from(top[at])
                    + u32::from(top[at + 3])
                    + u32::from(bottom[at])
                    + u32::from(bottom[at + 3]);
                data.push(((sum + 2) >> 2) as u8);
            }
        }
    }
    RgbImage {
        width,
        height,
        data,
    }
}

/// Resizes `src` to `width × height` exactly as `cv2.resize` with `INTER_LANCZOS4` does for
/// 8-bit images: 8 taps per axis, weights in 11-bit fixed point, source indices clamped at the
/// edges. Both sizes must be positive. Slower than [`resize_linear`]; classifiers trained on
/// Lanczos-resized inputs (PaddleClas's `ResizeImage`) want it.
pub fn resize_lanczos4(src: &RgbImage, width: usize, height: usize) -> RgbImage {
    let columns = lanczos_taps(src.width, width);
    let rows = lanczos_taps(src.height, height);
    let clamp = |i: isize, size: usize| i.clamp(0, size as isize - 1) as usize;
    // Each output column's 8 source byte offsets, clamped once here rather than per pixel.
    let offsets: Vec<[usize; 8]> = columns
        .iter()
        .map(|(sx, _)| std::array::from_fn(|k| clamp(sx + k as isize - 3, src.width) * 3))
        .collect();
    // The horizontal pass of every source row, computed once: each is used by up to 8 rows.
    let mut horizontal = vec![0i32; src.height * width * 3];
    for (y, out) in horizontal.chunks_exact_mut(width * 3).enumerate() {
        let row = src.row(y);
        for ((pixel, at), (_, weights)) in out.chunks_exact_mut(3).zip(&offsets).zip(&columns) {
            let mut sum = [0i32; 3];
            for (&x, &w) in at.iter().zip(weights) {
                sum[0] += i32::from(row[x]) * w;
                sum[1] += i32::from(row[x + 1]) * w;
                sum[2] += i32::from(row[x + 2]) * w;
            }
            pixel.copy_from_slice(&sum);
        }
    }
    let stride = width * 3;
    let mut data = Vec::with_capacity(width * height * 3);
    for (sy, weights) in &rows {
        let taps: [&[i32]; 8] = std::array::from_fn(|k| {
            let y = clamp(sy + k as isize - 3, src.height);
            &horizontal[y * stride..(y + 1) * stride]
        });
        for i in 0..stride {
            let sum: i64 = taps
                .iter()
                .zip(weights)
                .map(|(row, &w)| i64::from(row[i]) * i64::from(w))
                .sum();
            // FixedPtCast<int, uchar, 22>: round, shift out both weights' 11 bits, saturate.
            data.push(((sum + (1 << 21)) >> 22).clamp(0, 255) as u8);
        }
    }
    RgbImage {
        width,
        height,
        data,
    }
}

/// For each output coordinate along one axis: the source index of tap 3 and the 8 fixed-point
/// weights of taps `s - 3 ..= s + 4`, as `cv::resize` computes them.
fn lanczos_taps(src: usize, dst: usize) -> Vec<(isize, [i32; 8])> {
    let scale = 1.0 / (dst as f64 / src as f64);
    (0..dst)
        .map(|d| {
            let f = ((d as f64 + 0.5) * scale - 0.5) as f32;
            let s = f.floor();
            let weights = lanczos4(f - s).map(weight);
            (s as isize, weights)
        })
        .collect()
}

/// OpenCV's `interpolateLanczos4`: the 8 normalised Lanczos weights for a fractional offset.
fn lanczos4(x: f32) -> [f32; 8] {
    const S45: f64 = std::f64::consts::FRAC_1_SQRT_2;
    const CS: [(f64, f64); 8] = [
        (1.0, 0.0),
        (-S45, -S45),
        (0.0, 1.0),
        (S45, -S45),
        (-1.0, 0.0),
        (S45, S45),
        (0.0, -1.0),
        (-S45, S45),
    ];
    let y0 = -(f64::from(x) + 3.0) * std::f64::consts::PI * 0.25;
    let (s0, c0) = y0.sin_cos();
    let mut coeffs = [0f32; 8];
    let mut sum = 0f32;
    for (i, (cs0, cs1)) in CS.iter().enumerate() {
        let t = x + 3.0 - i as f32;
        coeffs[i] = if t.abs() >= 1e-6 {
            let y = -f64::from(t) * std::f64::consts::PI * 0.25;
            ((cs0 * s0 + cs1 * c0) / (y * y)) as f32
        } else {
            1e30
        };
        sum += coeffs[i];
    }
    let inverse = 1.0 / sum;
    coeffs.map(|c| c * inverse)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grey(width: usize, height: usize, value: impl Fn(usize, usize) -> u8) -> RgbImage {
        let mut data = Vec::with_capacity(width * height * 3);
        for y in 0..height {
            for x in 0..width {
                data.extend([value(x, y); 3]);
            }
        }
        RgbImage::new(width, height, data).expect("valid image")
    }

    fn reds(image: &RgbImage) -> Vec<u8> {
        image.data.chunks(3).map(|p| p[0]).collect()
    }

    #[test]
    fn upscaling_uses_pixel_centres() {
        // 2 -> 4 columns: cv2.resize(np.array([[0, 100]], np.uint8), (4, 1)) == [0, 25, 75, 100]
        let src = grey(2, 1, |x, _| if x == 0 { 0 } else { 100 });
        assert_eq!(reds(&resize_linear(&src, 4, 1)), [0, 25, 75, 100]);
    }

    #[test]
    fn constant_images_stay_constant() {
        let src = grey(7, 5, |_, _| 77);
        for (w, h) in [(13, 9), (3, 2), (7, 11), (50, 1)] {
            let out = resize_linear(&src, w, h);
            assert_eq!((out.width, out.height), (w, h));
            assert!(reds(&out).iter().all(|&v| v == 77), "{w}x{h}");
        }
    }

    #[test]
    fn halving_averages_blocks() {
        let src = grey(4, 2, |x, y| (x * 10 + y * 40) as u8);
        // Blocks (0, 10, 40, 50) and (20, 30, 60, 70): means 25 and 45.
        assert_eq!(reds(&resize_linear(&src, 2, 1)), [25, 45]);
    }

    #[test]
    fn same_size_is_a_copy() {
        let src = grey(5, 3, |x, y| (x * 31 + y * 7) as u8);
        assert_eq!(resize_linear(&src, 5, 3), src);
    }

    const LANCZOS_4X4_TO_3X3: [u8; 9] = [9, 31, 53, 98, 120, 142, 187, 209, 231];
    const LANCZOS_3X3_TO_8X7: [u8; 56] = [
        0, 0, 14, 62, 105, 132, 144, 147, 25, 26, 31, 46, 74, 108, 135, 147, 148, 123, 71, 27, 25,
        66, 116, 140, 239, 203, 126, 50, 22, 49, 93, 116, 234, 217, 179, 132, 95, 79, 76, 76, 171,
        186, 213, 225, 194, 129, 67, 39, 132, 164, 227, 255, 245, 157, 64, 21,
    ];

    #[test]
    fn lanczos_weights_sum_to_one_and_peak_at_the_centre() {
        let at_pixel = lanczos4(0.0);
        assert!((at_pixel[3] - 1.0).abs() < 1e-6, "{at_pixel:?}");
        assert!(
            at_pixel
                .iter()
                .enumerate()
                .all(|(i, w)| i == 3 || w.abs() < 1e-6)
        );
        let between = lanczos4(0.5);
        assert!((between.iter().sum::<f32>() - 1.0).abs() < 1e-5);
        assert_eq!(between[3], between[4]);
    }

    #[test]
    fn lanczos_keeps_constant_images_and_matches_opencv() {
        let flat = grey(37, 23, |_, _| 77);
        let resized = resize_lanczos4(&flat, 11, 50);
        assert!(resized.data.iter().all(|&v| v == 77));
        // cv2.resize(np.arange(16, dtype=np.uint8).reshape(4, 4) * 16, (3, 3),
        //            interpolation=cv2.INTER_LANCZOS4) on each channel (opencv-python 5.0.0).
        let ramp = grey(4, 4, |x, y| ((y * 4 + x) * 16) as u8);
        assert_eq!(reds(&resize_lanczos4(&ramp, 3, 3)), LANCZOS_4X4_TO_3X3);
        // ((np.arange(35).reshape(5, 7) * 37) % 256) to 3x2, and
        // ((np.arange(9).reshape(3, 3) * 71) % 256) to 8x7: edges clamp, overshoot saturates.
        let down = grey(7, 5, |x, y| ((y * 7 + x) * 37 % 256) as u8);
        assert_eq!(
            reds(&resize_lanczos4(&down, 3, 2)),
            [24, 113, 202, 32, 121, 210]
        );
        let up = grey(3, 3, |x, y| ((y * 3 + x) * 71 % 256) as u8);
        assert_eq!(reds(&resize_lanczos4(&up, 8, 7)), LANCZOS_3X3_TO_8X7);
    }
}

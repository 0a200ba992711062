//! rapidocr's `get_rotate_crop_image`: each box is cut out with `cv2.getPerspectiveTransform`
//! and `cv2.warpPerspective(..., flags=INTER_CUBIC, borderMode=BORDER_REPLICATE)`, and turned
//! upright when it is much taller than wide.

use super::image::RgbImage;

/// Cuts the quadrilateral `points` (top-left, top-right, bottom-right, bottom-left) out of
/// `image` into an upright rectangle, rotated a quarter turn counter-clockwise when it is at
/// least 1.5 times taller than wide (vertical text). `None` when the box has no area.
pub fn crop_text(image: &RgbImage, points: &[[f32; 2]; 4]) -> Option<RgbImage> {
    let norm = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let width = norm(points[0], points[1]).max(norm(points[2], points[3])) as usize;
    let height = norm(points[0], points[3]).max(norm(points[1], points[2])) as usize;
    if width == 0 || height == 0 {
        return None;
    }
    let (w, h) = (width as f32, height as f32);
    let target = [[0.0, 0.0], [w, 0.0], [w, h], [0.0, h]];
    let forward = perspective_transform(points, &target);
    let crop = warp_perspective(image, &invert(&forward), width, height);
    if height as f64 / width as f64 >= 1.5 {
        Some(crop.rotate_90_ccw())
    } else {
        Some(crop)
    }
}

/// `cv2.getPerspectiveTransform(src, dst)`: the 3×3 matrix (row-major, last element 1) that
/// maps the four `src` points onto `dst`, solved by Gaussian elimination with partial
/// pivoting in double precision as OpenCV's `DECOMP_LU` does. When the points are degenerate
/// (three on a line), OpenCV's solver gives zeros, and so does this.
pub fn perspective_transform(src: &[[f32; 2]; 4], dst: &[[f32; 2]; 4]) -> [f64; 9] {
    let mut a = [[0f64; 8]; 8];
    let mut b = [0f64; 8];
    for i in 0..4 {
        let (sx, sy) = (f64::from(src[i][0]), f64::from(src[i][1]));
        let (dx, dy) = (f64::from(dst[i][0]), f64::from(dst[i][1]));
        a[i] = [sx, sy, 1.0, 0.0, 0.0, 0.0, -sx * dx, -sy * dx];
        a[i + 4] = [0.0, 0.0, 0.0, sx, sy, 1.0, -sx * dy, -sy * dy];
        b[i] = dx;
        b[i + 4] = dy;
    }
    for i in 0..8 {
        let pivot = (i..8).fold(i, |k, j| if a[j][i].abs() > a[k][i].abs() { j } else { k });
        if a[pivot][i].abs() < f64::EPSILON * 100.0 {
            return [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0];
        }
        a.swap(i, pivot);
        b.swap(i, pivot);
        let d = -1.0 / a[i][i];
        for j in i + 1..8 {
            let alpha = a[j][i] * d;
            let (upper, lower) = a.split_at_mut(j);
            for (x, &y) in lower[0][i + 1..].iter_mut().zip(&upper[i][i + 1..]) {
                *x += alpha * y;
            }
            b[j] += alpha * b[i];
        }
    }
    for i in (0..8).rev() {
        let mut s = b[i];
        for k in i + 1..8 {
            s -= a[i][k] * b[k];
        }
        b[i] = s / a[i][i];
    }
    [b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], 1.0]
}

/// OpenCV's closed-form 3×3 inverse (`invert` with `DECOMP_LU` on a 3×3 matrix); zeros for a
/// singular matrix, as OpenCV leaves it (every output pixel then samples the source's corner).
fn invert(m: &[f64; 9]) -> [f64; 9] {
    let e = |r: usize, c: usize| m[r * 3 + c];
    let det = e(0, 0) * (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1))
        - e(0, 1) * (e(1, 0) * e(2, 2) - e(1, 2) * e(2, 0))
        + e(0, 2) * (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0));
    if det == 0.0 {
        return [0.0; 9];
    }
    let d = 1.0 / det;
    [
        (e(1, 1) * e(2, 2) - e(1, 2) * e(2, 1)) * d,
        (e(0, 2) * e(2, 1) - e(0, 1) * e(2, 2)) * d,
        (e(0, 1) * e(1, 2) - e(0, 2) * e(1, 1)) * d,
        (e(1, 2) * e(2, 0) - e(1, 0) * e(2, 2)) * d,
        (e(0, 0) * e(2, 2) - e(0, 2) * e(2, 0)) * d,
        (e(0, 2) * e(1, 0) - e(0, 0) * e(1, 2)) * d,
        (e(1, 0) * e(2, 1) - e(1, 1) * e(2, 0)) * d,
        (e(0, 1) * e(2, 0) - e(0, 0) * e(2, 1)) * d,
        (e(0, 0) * e(1, 1) - e(0, 1) * e(1, 0)) * d,
    ]
}

/// The bicubic weights (Keys' kernel with a = -0.75, as OpenCV's `interpolateCubic`) for a
/// sample `x` in `[0, 1)` past the second of four pixels.
fn cubic(x: f64) -> [f64; 4] {
    const A: f64 = -0.75;
    let c0 = ((A * (x + 1.0) - 5.0 * A) * (x + 1.0) + 8.0 * A) * (x + 1.0) - 4.0 * A;
    let c1 = ((A + 2.0) * x - (A + 3.0)) * x * x + 1.0;
    let c2 = ((A + 2.0) * (1.0 - x) - (A + 3.0)) * (1.0 - x) * (1.0 - x) + 1.0;
    [c0, c1, c2, 1.0 - c0 - c1 - c2]
}

/// `cv2.warpPerspective` where `inverse` maps output pixels to source positions: bicubic, with
/// the edge pixels repeated beyond the border. OpenCV 5 samples at the exact (unquantised)
/// position in floating point; this does the same in double precision, which reproduces its
/// bytes except for rare values within about 0.001 of a half, which can round the other way.
fn warp_perspective(src: &RgbImage, inverse: &[f64; 9], width: usize, height: usize) -> RgbImage {
    let m = inverse;
    let mut data = Vec::with_capacity(width * height * 3);
    let clamp = |v: i64, size: usize| v.clamp(0, size as i64 - 1) as usize;
    for y in 0..height {
        for x in 0..width {
            let (xd, yd) = (x as f64, y as f64);
            let w = m[6] * xd + m[7] * yd + m[8];
            let (mut fx, mut fy) = (
                (m[0] * xd + m[1] * yd + m[2]) / w,
                (m[3] * xd + m[4] * yd + m[5]) / w,
            );
            if !fx.is_finite() || !fy.is_finite() {
                // A singular transform: sample the corner, as OpenCV's zero matrix does.
                (fx, fy) = (0.0, 0.0);
            }
            let (x0, y0) = (fx.floor(), fy.floor());
            let (wx, wy) = (cubic(fx - x0), cubic(fy - y0));
            // Saturating casts: far-off positions just clamp to the border.
            let (x0, y0) = (x0 as i64, y0 as i64);
            let columns = [0, 1, 2, 3].map(|k| clamp(x0 - 1 + k, src.width) * 3);
            for c in 0..3 {
                let mut sum = 0.0;
                for (r, wr) in wy.iter().enumerate() {
                    let row = src.row(clamp(y0 - 1 + r as i64, src.height));
                    for (k, wk) in wx.iter().enumerate() {
                        sum += f64::from(row[columns[k] + c]) * wr * wk;
                    }
                }
                data.push(sum.round_ties_even().clamp(0.0, 255.0) as u8);
            }
        }
    }
    RgbImage {
        width,
        height,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gradient(width: usize, height: usize) -> RgbImage {
        let data = (0..height)
            .flat_map(|y| (0..width).flat_map(move |x| [(x * 10) as u8, (y * 10) as u8, 7]))
            .collect();
        RgbImage::new(width, height, data).expect("valid image")
    }

    #[test]
    fn weights_sum_to_one() {
        for i in 0..32 {
            let w = cubic(f64::from(i) / 32.0);
            assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        }
        // At a whole-pixel position only the pixel itself counts.
        assert_eq!(cubic(0.0), [0.0, 1.0, 0.0, 0.0]);
    }

    #[test]
    fn an_axis_aligned_box_is_copied() {
        let image = gradient(20, 12);
        let crop =
            crop_text(&image, &[[3.0, 2.0], [13.0, 2.0], [13.0, 8.0], [3.0, 8.0]]).expect("crop");
        assert_eq!((crop.width, crop.height), (10, 6));
        assert_eq!(crop, image.crop(3, 2, 10, 6));
    }

    #[test]
    fn a_rotated_box_is_straightened() {
        // A 45° square: its crop is upright, sides sqrt(32) -> 5 pixels.
        let image = gradient(20, 20);
        let crop = crop_text(
            &image,
            &[[10.0, 2.0], [14.0, 6.0], [10.0, 10.0], [6.0, 6.0]],
        )
        .expect("crop");
        assert_eq!((crop.width, crop.height), (5, 5));
        // The top-left of the crop is near the box's first corner, (10, 2).
        assert!(
            crop.data[0].abs_diff(100) <= 6 && crop.data[1].abs_diff(20) <= 6,
            "{:?}",
            &crop.data[..3]
        );
    }

    #[test]
    fn tall_crops_are_turned() {
        let image = gradient(20, 20);
        let crop =
            crop_text(&image, &[[2.0, 2.0], [6.0, 2.0], [6.0, 14.0], [2.0, 14.0]]).expect("crop");
        assert_eq!((crop.width, crop.height), (12, 4));
        // Turned counter-clockwise: the top-left now shows the source's top-right, (5, 2).
        assert_eq!(&crop.data[..2], &[50, 20]);
        assert!(crop_text(&image, &[[1.0, 1.0]; 4]).is_none());
    }

    #[test]
    fn solves_a_translation() {
        let m = perspective_transform(
            &[[1.0, 2.0], [5.0, 2.0], [5.0, 4.0], [1.0, 4.0]],
            &[[0.0, 0.0], [4.0, 0.0], [4.0, 2.0], [0.0, 2.0]],
        );
        let expected = [1.0, 0.0, -1.0, 0.0, 1.0, -2.0, 0.0, 0.0, 1.0];
        assert!(
            m.iter().zip(expected).all(|(a, b)| (a - b).abs() < 1e-12),
            "{m:?}"
        );
    }
}

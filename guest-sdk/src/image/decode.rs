//! Decoding PNG and JPEG files (recognised by their signature, not a name) into 8-bit
//! samples, as PIL's `Image.open` + `np.array` would give them, and flattening those to RGB.

use std::io::Cursor;

use super::RgbImage;

/// Images above this many pixels are refused before any pixel buffer is allocated, so a small
/// file that declares a huge size cannot exhaust memory.
pub const MAX_PIXELS: usize = 50_000_000;

/// A decoded image with its own channels: 1 (grey), 2 (grey, alpha), 3 (RGB) or 4 (RGBA),
/// 8 bits each (16-bit samples keep their high byte, palettes and low bit depths are
/// expanded), row-major without padding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// Samples per pixel, 1 to 4.
    pub channels: usize,
    /// `width * height * channels` samples.
    pub samples: Vec<u8>,
    /// Whether the alpha channel comes from a PNG `tRNS` colour key on a grey or RGB image
    /// (PIL ignores such a key, and so does [`Decoded::to_rgb`]).
    pub alpha_from_color_key: bool,
}

impl Decoded {
    /// The image without an alpha channel that only a PNG colour key gave it (`tRNS` on a
    /// grey or RGB image), as PIL reads such a file; any other image unchanged.
    pub fn without_color_key(self) -> Decoded {
        if !self.alpha_from_color_key {
            return self;
        }
        let kept = self.channels - 1;
        let samples = self
            .samples
            .chunks_exact(self.channels)
            .flat_map(|pixel| pixel[..kept].iter().copied())
            .collect();
        Decoded {
            channels: kept,
            samples,
            alpha_from_color_key: false,
            ..self
        }
    }

    /// The image in RGB: grey replicated, transparency composited over white
    /// (`(c * a + 255 * (255 - a) + 127) / 255`, in integers). A PNG colour key (`tRNS` on a
    /// grey or RGB image) is ignored, as PIL ignores it: those pixels keep their colour.
    pub fn to_rgb(&self) -> RgbImage {
        if self.alpha_from_color_key {
            return self.clone().without_color_key().to_rgb();
        }
        let over_white = |c: u8, a: u8| {
            ((u32::from(c) * u32::from(a) + 255 * (255 - u32::from(a)) + 127) / 255) as u8
        };
        let data = match self.channels {
            1 => self.samples.iter().flat_map(|&g| [g, g, g]).collect(),
            2 => self
                .samples
                .chunks_exact(2)
                .flat_map(|la| [over_white(la[0], la[1]); 3])
                .collect(),
            3 => self.samples.clone(),
            _ => self
                .samples
                .chunks_exact(4)
                .flat_map(|p| {
                    [
                        over_white(p[0], p[3]),
                        over_white(p[1], p[3]),
                        over_white(p[2], p[3]),
                    ]
                })
                .collect(),
        };
        RgbImage {
            width: self.width,
            height: self.height,
            data,
        }
    }
}

/// Decodes a PNG or JPEG file into RGB: see [`decode`] and [`Decoded::to_rgb`].
pub fn decode_rgb(bytes: &[u8]) -> Result<RgbImage, String> {
    decode(bytes).map(|decoded| decoded.to_rgb())
}

/// Decodes a PNG or JPEG file, recognised by its signature, keeping its channels. EXIF
/// orientation is not applied (PIL's `Image.open` does not apply it either).
pub fn decode(bytes: &[u8]) -> Result<Decoded, String> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        decode_png(bytes)
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        decode_jpeg(bytes)
    } else {
        Err("unsupported image format: only PNG and JPEG can be read".to_string())
    }
}

/// Refuses sizes that will not be decoded.
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

fn decode_png(bytes: &[u8]) -> Result<Decoded, String> {
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
    let keyed =
        matches!(source_type, png::ColorType::Grayscale | png::ColorType::Rgb) && channels % 2 == 0;
    let sample_bytes = if depth == png::BitDepth::Sixteen {
        2
    } else {
        1
    };
    let mut samples = Vec::with_capacity(width * height * channels);
    let mut take_row = |row: &[u8]| {
        for pixel in row.chunks_exact(channels * sample_bytes).take(width) {
            samples.extend(pixel.iter().step_by(sample_bytes));
        }
    };
    if reader.info().interlaced {
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
    if samples.len() != width * height * channels {
        return Err("the PNG's image data is incomplete".to_string());
    }
    Ok(Decoded {
        width,
        height,
        channels,
        samples,
        alpha_from_color_key: keyed,
    })
}

fn decode_jpeg(bytes: &[u8]) -> Result<Decoded, String> {
    use zune_jpeg::zune_core::{
        bytestream::ZCursor, colorspace::ColorSpace, options::DecoderOptions,
    };

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
    let samples = decoder
        .decode()
        .map_err(|e| format!("invalid JPEG: {e:?}"))?;
    if samples.len() != width * height * 3 {
        return Err("the JPEG's image data is incomplete".to_string());
    }
    Ok(Decoded {
        width,
        height,
        channels: 3,
        samples,
        alpha_from_color_key: false,
    })
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
        assert_eq!(decode_rgb(&rgb).expect("rgb").data, [1, 2, 3, 4, 5, 6]);
        let grey = png_bytes(
            2,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::Eight,
            &[7, 9],
        );
        assert_eq!(decode_rgb(&grey).expect("grey").data, [7, 7, 7, 9, 9, 9]);
        // 1-bit grey expands to 0 and 255, as PIL's "1" -> "L" conversion does.
        let bits = png_bytes(
            8,
            1,
            png::ColorType::Grayscale,
            png::BitDepth::One,
            &[0b1000_0001],
        );
        let image = decode_rgb(&bits).expect("1-bit");
        assert_eq!(&image.data[..6], &[255, 255, 255, 0, 0, 0]);
    }

    #[test]
    fn png_sixteen_bits_keep_the_high_byte() {
        let data = [0x12, 0x34, 0xAB, 0xCD, 0xFF, 0x00];
        let image = decode_rgb(&png_bytes(
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
        assert_eq!(decode_rgb(&grey).expect("16-bit grey").data, [0x80; 3]);
    }

    #[test]
    fn alpha_is_composited_over_white() {
        let la = png_bytes(
            3,
            1,
            png::ColorType::GrayscaleAlpha,
            png::BitDepth::Eight,
            &[10, 255, 10, 0, 10, 128],
        );
        let reds: Vec<u8> = decode_rgb(&la)
            .expect("la")
            .data
            .chunks(3)
            .map(|p| p[0])
            .collect();
        // (10 * 128 + 255 * 127 + 127) / 255 = 132
        assert_eq!(reds, [10, 255, 132]);
        let rgba = png_bytes(
            2,
            1,
            png::ColorType::Rgba,
            png::BitDepth::Eight,
            &[10, 20, 30, 255, 9, 9, 9, 0],
        );
        assert_eq!(
            decode_rgb(&rgba).expect("rgba").data,
            [10, 20, 30, 255, 255, 255]
        );
        let raw = decode(&rgba).expect("rgba");
        assert_eq!((raw.channels, raw.alpha_from_color_key), (4, false));
    }

    #[test]
    fn a_colour_key_is_ignored_as_pil_ignores_it() {
        let mut out = Vec::new();
        {
            let mut encoder = png::Encoder::new(&mut out, 2, 1);
            encoder.set_color(png::ColorType::Rgb);
            encoder.set_depth(png::BitDepth::Eight);
            encoder.set_trns(vec![0, 10, 0, 20, 0, 30]);
            let mut writer = encoder.write_header().expect("header");
            writer
                .write_image_data(&[10, 20, 30, 1, 2, 3])
                .expect("data");
        }
        let raw = decode(&out).expect("keyed");
        assert_eq!((raw.channels, raw.alpha_from_color_key), (4, true));
        assert_eq!(raw.to_rgb().data, [10, 20, 30, 1, 2, 3]);
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
        assert_eq!(decode_rgb(&out).expect("palette").data, [4, 5, 6, 1, 2, 3]);
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
        let image = decode_rgb(&jpeg_bytes(w, h, jpeg_encoder::ColorType::Rgb, &rgb)).expect("rgb");
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
            decode_rgb(&jpeg_bytes(w, h, jpeg_encoder::ColorType::Luma, &grey)).expect("grey");
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
        assert!(decode_rgb(b"GIF89a....").is_err());
        assert!(decode_rgb(&[]).is_err());
        // A PNG header that declares 100000 x 100000 pixels (10 gigapixels) and nothing else.
        let mut huge = png_bytes(1, 1, png::ColorType::Rgb, png::BitDepth::Eight, &[0, 0, 0]);
        huge[16..20].copy_from_slice(&100_000u32.to_be_bytes());
        huge[20..24].copy_from_slice(&100_000u32.to_be_bytes());
        let crc = crc32(&huge[12..29]);
        huge[29..33].copy_from_slice(&crc.to_be_bytes());
        let error = decode_rgb(&huge).expect_err("too large");
        assert!(error.contains("pixels"), "{error}");
    }
}

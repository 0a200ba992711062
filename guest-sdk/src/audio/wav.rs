//! RIFF/WAVE decoding: PCM (unsigned 8-bit, signed 16, 24 and 32-bit), IEEE float (32 and
//! 64-bit), plain or `WAVE_FORMAT_EXTENSIBLE`, any channel count.

use super::{Audio, MAX_SAMPLES};

/// `wFormatTag` values, and the first two bytes of an extensible format's sub-format GUID.
const PCM: u16 = 1;
const FLOAT: u16 = 3;
const EXTENSIBLE: u16 = 0xFFFE;

/// The `fmt ` chunk's fields this decoder uses.
struct Format {
    tag: u16,
    channels: usize,
    sample_rate: u32,
    bits: u16,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn parse_format(chunk: &[u8]) -> Result<Format, String> {
    let short = || "invalid WAV: the fmt chunk is too short".to_string();
    let mut tag = u16_at(chunk, 0).ok_or_else(short)?;
    let channels = usize::from(u16_at(chunk, 2).ok_or_else(short)?);
    let sample_rate = u32_at(chunk, 4).ok_or_else(short)?;
    let bits = u16_at(chunk, 14).ok_or_else(short)?;
    if tag == EXTENSIBLE {
        // cbSize (2), valid bits (2), channel mask (4), then the sub-format GUID.
        tag = u16_at(chunk, 24).ok_or_else(short)?;
    }
    if channels == 0 || sample_rate == 0 {
        return Err("invalid WAV: no channels or a zero sample rate".to_string());
    }
    Ok(Format {
        tag,
        channels,
        sample_rate,
        bits,
    })
}

/// Decodes a WAV file to interleaved samples in `[-1, 1]`.
pub fn decode_wav(bytes: &[u8]) -> Result<Audio, String> {
    if !bytes.starts_with(b"RIFF") || bytes.get(8..12) != Some(b"WAVE") {
        return Err("not a WAV file (no RIFF/WAVE header)".to_string());
    }
    let mut format = None;
    let mut at = 12;
    while at + 8 <= bytes.len() {
        let id = &bytes[at..at + 4];
        let declared = u32_at(bytes, at + 4).unwrap_or(0) as usize;
        let start = at + 8;
        // A streamed WAV declares a data size it never knew (0 or 0xFFFFFFFF): read to the end.
        let end = start.saturating_add(declared).min(bytes.len());
        let body = &bytes[start..end];
        match id {
            b"fmt " => format = Some(parse_format(body)?),
            b"data" => {
                let format = format
                    .as_ref()
                    .ok_or("invalid WAV: the data chunk comes before the fmt chunk")?;
                let body = if declared == 0 || declared == u32::MAX as usize {
                    &bytes[start..]
                } else {
                    body
                };
                return samples(format, body);
            }
            _ => {}
        }
        // Chunks are padded to an even size.
        at = end + (declared & 1);
    }
    Err("invalid WAV: no data chunk".to_string())
}

fn samples(format: &Format, data: &[u8]) -> Result<Audio, String> {
    let width = usize::from(format.bits.div_ceil(8));
    let frame = width * format.channels;
    let count = data.len() / frame.max(1) * format.channels;
    if count > MAX_SAMPLES {
        return Err(format!(
            "the audio has {count} samples; at most {MAX_SAMPLES} are decoded"
        ));
    }
    let data = &data[..count * width];
    let samples: Vec<f32> = match (format.tag, format.bits) {
        (PCM, 8) => data
            .iter()
            .map(|&b| (f32::from(b) - 128.0) / 128.0)
            .collect(),
        (PCM, 16) => data
            .chunks_exact(2)
            .map(|s| f32::from(i16::from_le_bytes([s[0], s[1]])) / 32_768.0)
            .collect(),
        (PCM, 24) => data
            .chunks_exact(3)
            .map(|s| (i32::from_le_bytes([0, s[0], s[1], s[2]]) >> 8) as f32 / 8_388_608.0)
            .collect(),
        (PCM, 32) => data
            .chunks_exact(4)
            .map(|s| i32::from_le_bytes([s[0], s[1], s[2], s[3]]) as f32 / 2_147_483_648.0)
            .collect(),
        (FLOAT, 32) => data
            .chunks_exact(4)
            .map(|s| f32::from_le_bytes([s[0], s[1], s[2], s[3]]))
            .collect(),
        (FLOAT, 64) => data
            .chunks_exact(8)
            .map(|s| {
                let bytes: [u8; 8] = s.try_into().unwrap_or_default();
                f64::from_le_bytes(bytes) as f32
            })
            .collect(),
        (tag, bits) => {
            return Err(format!(
                "unsupported WAV encoding: format {tag:#06x} with {bits}-bit samples (PCM of 8, \
                 16, 24 or 32 bits and float of 32 or 64 bits are read)"
            ));
        }
    };
    Ok(Audio {
        sample_rate: format.sample_rate,
        channels: format.channels,
        samples,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A WAV file with one `fmt ` chunk (`extensible` wraps the tag in a sub-format GUID).
    fn wav(
        tag: u16,
        channels: u16,
        rate: u32,
        bits: u16,
        data: &[u8],
        extensible: bool,
    ) -> Vec<u8> {
        let mut fmt = Vec::new();
        fmt.extend(if extensible { EXTENSIBLE } else { tag }.to_le_bytes());
        fmt.extend(channels.to_le_bytes());
        fmt.extend(rate.to_le_bytes());
        let block = u32::from(channels) * u32::from(bits / 8);
        fmt.extend((rate * block).to_le_bytes());
        fmt.extend((block as u16).to_le_bytes());
        fmt.extend(bits.to_le_bytes());
        if extensible {
            fmt.extend(22u16.to_le_bytes());
            fmt.extend(bits.to_le_bytes());
            fmt.extend(0u32.to_le_bytes());
            fmt.extend(tag.to_le_bytes());
            fmt.extend([0u8; 14]);
        }
        let mut out = b"RIFF\0\0\0\0WAVE".to_vec();
        // An odd-sized chunk before fmt, which must be skipped with its pad byte.
        out.extend(b"LIST\x03\0\0\0abc\0");
        out.extend(b"fmt ");
        out.extend((fmt.len() as u32).to_le_bytes());
        out.extend(fmt);
        out.extend(b"data");
        out.extend((data.len() as u32).to_le_bytes());
        out.extend(data);
        out
    }

    #[test]
    fn every_pcm_width_and_float() {
        let u8s = decode_wav(&wav(PCM, 1, 8000, 8, &[0, 128, 255], false)).expect("8-bit");
        assert_eq!(u8s.samples, [-1.0, 0.0, 127.0 / 128.0]);
        let i16s: Vec<u8> = [i16::MIN, 0, 16_384]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let got = decode_wav(&wav(PCM, 1, 16_000, 16, &i16s, false)).expect("16-bit");
        assert_eq!(got.samples, [-1.0, 0.0, 0.5]);
        let i24 = [0x00, 0x00, 0x80, 0x00, 0x00, 0x40];
        let got = decode_wav(&wav(PCM, 1, 16_000, 24, &i24, true)).expect("24-bit");
        assert_eq!(got.samples, [-1.0, 0.5]);
        let i32s: Vec<u8> = [i32::MIN, 1 << 30]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode_wav(&wav(PCM, 1, 16_000, 32, &i32s, false))
                .expect("32")
                .samples,
            [-1.0, 0.5]
        );
        let f32s: Vec<u8> = [0.25f32, -0.5]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        assert_eq!(
            decode_wav(&wav(FLOAT, 1, 16_000, 32, &f32s, true))
                .expect("f32")
                .samples,
            [0.25, -0.5]
        );
        let f64s: Vec<u8> = [0.125f64].iter().flat_map(|v| v.to_le_bytes()).collect();
        assert_eq!(
            decode_wav(&wav(FLOAT, 1, 16_000, 64, &f64s, false))
                .expect("f64")
                .samples,
            [0.125]
        );
    }

    #[test]
    fn channels_interleave_and_mix_down() {
        let data: Vec<u8> = [16_384i16, -16_384, 8192, 8192]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let stereo = decode_wav(&wav(PCM, 2, 44_100, 16, &data, false)).expect("stereo");
        assert_eq!(
            (stereo.channels, stereo.sample_rate, stereo.frames()),
            (2, 44_100, 2)
        );
        assert_eq!(stereo.mono(), [0.0, 0.25]);
    }

    #[test]
    fn bad_files_are_errors() {
        assert!(decode_wav(b"RIFF\0\0\0\0WAVE").is_err());
        assert!(decode_wav(b"not audio").is_err());
        let err = decode_wav(&wav(2, 1, 8000, 4, &[0; 8], false)).expect_err("ADPCM");
        assert!(err.contains("unsupported"), "{err}");
        let mut no_rate = wav(PCM, 1, 0, 16, &[0; 4], false);
        no_rate.truncate(no_rate.len() - 4);
        assert!(decode_wav(&no_rate).is_err());
    }
}

//! Label Studio's brush masks: the run-length encoding of a `BrushLabels` region's
//! `value.rle`, bit for bit as `label-studio-converter`'s `brush.py` (`encode_rle`,
//! `mask2rle`) writes it, so segmentation models can answer masks Label Studio draws.
//!
//! The format: a 32-bit value count, the word size minus one in 5 bits (8), four run-length
//! field sizes minus one in 4 bits each (3, 4, 8, 16), then one record per run: a flag bit
//! (1: a run of one value, 0: literal values), two bits choosing the length field, the length
//! minus one, and the value(s) in 8 bits; zero-padded to whole bytes (with a whole zero byte
//! when already aligned, as `brush.py` does).

use serde_json::{Value, json};

use crate::{Region, RegionBuilder};

/// Run-length field sizes in bits, as `brush.py` fixes them.
const RLE_SIZES: [u32; 4] = [3, 4, 8, 16];

/// Bits appended most significant first.
#[derive(Default)]
struct BitWriter {
    bytes: Vec<u8>,
    bits: usize,
}

impl BitWriter {
    fn push(&mut self, value: u32, width: u32) {
        for bit in (0..width).rev() {
            if self.bits.is_multiple_of(8) {
                self.bytes.push(0);
            }
            if (value >> bit) & 1 == 1 {
                let last = self.bytes.len() - 1;
                self.bytes[last] |= 0x80 >> (self.bits % 8);
            }
            self.bits += 1;
        }
    }
}

/// `encode_rle(values)`: the RLE bytes of a flat array of 8-bit values (for a mask, its RGBA
/// samples: see [`mask_to_rle`]).
pub fn encode_rle(values: &[u8]) -> Vec<u8> {
    let mut out = BitWriter::default();
    out.push(values.len() as u32, 32);
    out.push(8 - 1, 5);
    for size in RLE_SIZES {
        out.push(size - 1, 4);
    }
    let mut start = 0;
    while start < values.len() {
        let value = values[start];
        let run = values[start..].iter().take_while(|&&v| v == value).count();
        write_run(&mut out, run, value);
        start += run;
    }
    // brush.py pads with `8 - len % 8` zero bits: a whole byte when already aligned.
    let padding = 8 - (out.bits % 8);
    out.push(0, padding as u32);
    out.bytes
}

/// One run, as brush.py writes it: a single value as a literal of length one, longer runs in
/// the smallest length field that holds them, runs over 65536 in 65536-value pieces.
fn write_run(out: &mut BitWriter, run: usize, value: u8) {
    let value = u32::from(value);
    if run == 1 {
        out.push(0, 1);
        out.push(0, 2);
        out.push(0, 3);
        out.push(value, 8);
        return;
    }
    let mut remaining = run;
    while remaining > 1 << 16 {
        out.push(1, 1);
        out.push(3, 2);
        out.push((1 << 16) - 1, 16);
        out.push(value, 8);
        remaining -= 1 << 16;
    }
    let field = match run {
        // Chosen by the whole run's length, as brush.py's if/elif chain does.
        2..=8 => 0,
        9..=16 => 1,
        17..=256 => 2,
        _ => 3,
    };
    out.push(1, 1);
    out.push(field, 2);
    out.push((remaining - 1) as u32, RLE_SIZES[field as usize]);
    out.push(value, 8);
}

/// `mask2rle(mask)`: a `height × width` mask of 8-bit values (0 background, 255 the region,
/// row-major) as Label Studio's brush RLE, each value repeated for the 4 RGBA channels.
pub fn mask_to_rle(mask: &[u8]) -> Vec<u8> {
    let rgba: Vec<u8> = mask.iter().flat_map(|&v| [v; 4]).collect();
    encode_rle(&rgba)
}

impl RegionBuilder<'_> {
    /// A `BrushLabels` region from a mask (`height × width` values, 0 outside, 255 inside,
    /// row-major): `{"format": "rle", "rle": [...], "brushlabels": [...]}`. Add the image's size
    /// with [`Region::with_original_size`], which Label Studio needs to draw a mask.
    pub fn brush<S: AsRef<str>>(&self, mask: &[u8], labels: &[S]) -> Region {
        let labels: Vec<&str> = labels.iter().map(AsRef::as_ref).collect();
        let rle: Vec<Value> = mask_to_rle(mask).into_iter().map(Value::from).collect();
        self.region(
            "brushlabels",
            json!({ "format": "rle", "rle": rle, "brushlabels": labels }),
        )
    }
}

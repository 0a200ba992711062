//! The brush RLE encoder against Label Studio's own (`brush.py`'s `mask2rle`), on masks of
//! several sizes and shapes: `tests/data/brush_vectors.json`, written by
//! `tests/data/brush_vectors.py` with label-studio-sdk, which describes each mask by a formula
//! this test rebuilds.

use serde_json::Value;
use wasml_guest::brush::mask_to_rle;

fn number(spec: &Value, key: &str) -> usize {
    spec[key].as_u64().expect("a number in the vector") as usize
}

/// The same masks as `brush_vectors.py`'s `build`.
fn build(spec: &Value) -> Vec<u8> {
    let (w, h) = (number(spec, "width"), number(spec, "height"));
    let pixels = (0..h).flat_map(|y| (0..w).map(move |x| (x, y)));
    match spec["kind"].as_str().expect("a kind") {
        "circle" => {
            let (cx, cy, r) = (number(spec, "cx"), number(spec, "cy"), number(spec, "r"));
            let d = |a: usize, b: usize| a.abs_diff(b).pow(2);
            pixels
                .map(|(x, y)| if d(x, cx) + d(y, cy) < r * r { 255 } else { 0 })
                .collect()
        }
        "rectangle" => {
            let b: Vec<usize> = spec["box"]
                .as_array()
                .expect("a box")
                .iter()
                .map(|v| v.as_u64().expect("a coordinate") as usize)
                .collect();
            pixels
                .map(|(x, y)| {
                    if (b[0]..b[2]).contains(&x) && (b[1]..b[3]).contains(&y) {
                        255
                    } else {
                        0
                    }
                })
                .collect()
        }
        "ramp" => pixels.map(|(x, y)| ((y * w + x) % 256) as u8).collect(),
        "noise" => {
            let (mut x, every) = (number(spec, "seed") as u64, number(spec, "every") as u64);
            (0..w * h)
                .map(|_| {
                    x = (x * 1_103_515_245 + 12_345) % (1 << 31);
                    if (x >> 16) % every == 0 { 255 } else { 0 }
                })
                .collect()
        }
        other => panic!("unknown mask kind {other}"),
    }
}

#[test]
fn masks_encode_as_label_studio_encodes_them() {
    let vectors: Vec<Value> =
        serde_json::from_str(include_str!("data/brush_vectors.json")).expect("vectors");
    assert!(vectors.len() >= 8);
    for spec in &vectors {
        let want: Vec<u8> = spec["rle"]
            .as_array()
            .expect("an rle")
            .iter()
            .map(|v| v.as_u64().expect("a byte") as u8)
            .collect();
        let got = mask_to_rle(&build(spec));
        assert_eq!(
            got, want,
            "{}x{} {}",
            spec["width"], spec["height"], spec["kind"]
        );
    }
}

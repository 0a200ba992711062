//! Text recognition: rapidocr's `TextRecognizer` (lines batched by aspect ratio, each batch as
//! wide as its widest line) and `CTCLabelDecode` (greedy CTC with a mean-probability score).

use super::classify::{argmax, by_aspect_ratio, line_batch};
use super::image::RgbImage;
use super::infer::{Graph, Infer, run_checked};
use super::options::Options;

/// Splits the rec model's `character` metadata into keys as Python's `str.splitlines` does
/// (rapidocr's `get_character_list`): on `\n`, `\r\n`, `\r`, `\v`, `\f`, `\x1c`–`\x1e`,
/// `\u{85}`, `\u{2028}` and `\u{2029}`, with no empty key after a final line break.
pub fn keys_from_metadata(character: &str) -> Vec<String> {
    let breaks = [
        '\n', '\r', '\u{b}', '\u{c}', '\u{1c}', '\u{1d}', '\u{1e}', '\u{85}', '\u{2028}',
        '\u{2029}',
    ];
    let mut keys = Vec::new();
    let mut rest = character;
    while !rest.is_empty() {
        match rest.find(breaks) {
            Some(at) => {
                keys.push(rest[..at].to_string());
                let skip = if rest[at..].starts_with("\r\n") {
                    2
                } else {
                    rest[at..].chars().next().map_or(1, char::len_utf8)
                };
                rest = &rest[at + skip..];
            }
            None => {
                keys.push(rest.to_string());
                break;
            }
        }
    }
    keys
}

/// The CTC labels for the recogniser's output classes: the blank first, the keys, and a space
/// last (rapidocr 1.4.4 always appends it; PP-OCR's models are trained with it).
pub fn ctc_labels(keys: &[String]) -> Vec<String> {
    let mut labels = Vec::with_capacity(keys.len() + 2);
    labels.push("blank".to_string());
    labels.extend_from_slice(keys);
    labels.push(" ".to_string());
    labels
}

/// numpy's pairwise summation of float64 (what `np.mean` adds with), so scores match to the
/// last bit.
fn pairwise_sum(values: &[f64]) -> f64 {
    let n = values.len();
    if n < 8 {
        return values.iter().fold(0.0, |sum, &v| sum + v);
    }
    if n <= 128 {
        let mut r = [0f64; 8];
        r.copy_from_slice(&values[..8]);
        let mut i = 8;
        while i + 8 <= n {
            for (k, acc) in r.iter_mut().enumerate() {
                *acc += values[i + k];
            }
            i += 8;
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &v in &values[i..] {
            sum += v;
        }
        return sum;
    }
    let half = n / 2 / 8 * 8;
    pairwise_sum(&values[..half]) + pairwise_sum(&values[half..])
}

/// `CTCLabelDecode` for one line: the most likely class per time step, repeats merged, blanks
/// (class 0) dropped; the score is the mean probability of the kept steps (0 for none).
pub fn ctc_decode(
    probs: &[f32],
    classes: usize,
    labels: &[String],
) -> Result<(String, f64), String> {
    let mut text = String::new();
    let mut kept = Vec::new();
    let mut previous = None;
    for step in probs.chunks_exact(classes) {
        let (index, prob) = argmax(step);
        if index != 0 && previous != Some(index) {
            let label = labels.get(index).ok_or_else(|| {
                format!(
                    "the recogniser returned class {index}, beyond its {} labels",
                    labels.len()
                )
            })?;
            text.push_str(label);
            kept.push(f64::from(prob));
        }
        previous = Some(index);
    }
    let score = if kept.is_empty() {
        0.0
    } else {
        pairwise_sum(&kept) / kept.len() as f64
    };
    Ok((text, score))
}

/// Recognises each line; returns the text and score of each, in the order given.
pub(crate) fn recognize(
    lines: &[RgbImage],
    infer: &mut impl Infer,
    labels: &[String],
    options: &Options,
) -> Result<Vec<(String, f64)>, String> {
    let [_, height, min_width] = options.rec_image_shape;
    let mut results = vec![(String::new(), 0.0); lines.len()];
    let order = by_aspect_ratio(lines);
    for batch in order.chunks(options.rec_batch_num) {
        // The batch is as wide as its widest line, and at least the model's own width.
        let max_ratio = batch
            .iter()
            .map(|&i| lines[i].width as f64 / lines[i].height as f64)
            .fold(min_width as f64 / height as f64, f64::max);
        let width = (height as f64 * max_ratio) as usize;
        let input = line_batch(lines, batch, height, width);
        let output = run_checked(infer, Graph::Rec, input, 3)?;
        let (steps, classes) = (output.dims[1], output.dims[2]);
        if output.dims[0] != batch.len() || classes == 0 {
            return Err(format!(
                "the recogniser returned {:?} for {} lines",
                output.dims,
                batch.len()
            ));
        }
        for (slot, &line) in batch.iter().enumerate() {
            let probs = &output.data[slot * steps * classes..(slot + 1) * steps * classes];
            results[line] = ctc_decode(probs, classes, labels)?;
        }
    }
    Ok(results)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels() -> Vec<String> {
        ctc_labels(&["a".to_string(), "b".to_string()])
    }

    fn steps(classes: &[(usize, f32)]) -> Vec<f32> {
        // 4 classes: blank, a, b, space; the rest of each step shares what is left.
        classes
            .iter()
            .flat_map(|&(class, p)| {
                let mut step = [(1.0 - p) / 3.0; 4];
                step[class] = p;
                step
            })
            .collect()
    }

    #[test]
    fn labels_are_blank_keys_space() {
        assert_eq!(labels(), ["blank", "a", "b", " "]);
    }

    #[test]
    fn repeats_merge_and_blanks_split() {
        let probs = steps(&[
            (1, 0.9),
            (1, 0.7),
            (0, 0.99),
            (1, 0.8),
            (2, 0.6),
            (3, 0.5),
            (0, 0.9),
        ]);
        let (text, score) = ctc_decode(&probs, 4, &labels()).expect("decodes");
        assert_eq!(text, "aab ");
        // Kept: the first step of each run (0.9, 0.8, 0.6, 0.5).
        assert!(
            (score - (0.9f32 as f64 + 0.8f32 as f64 + 0.6f32 as f64 + 0.5f32 as f64) / 4.0).abs()
                < 1e-12
        );
    }

    #[test]
    fn all_blank_scores_zero() {
        let (text, score) =
            ctc_decode(&steps(&[(0, 0.9), (0, 0.8)]), 4, &labels()).expect("decodes");
        assert_eq!((text.as_str(), score), ("", 0.0));
    }

    #[test]
    fn unknown_classes_are_errors() {
        assert!(ctc_decode(&[0.0, 0.0, 0.0, 0.0, 1.0], 5, &labels()).is_err());
    }

    #[test]
    fn metadata_splits_like_python() {
        assert_eq!(
            keys_from_metadata("a\nb\r\nc\rd\u{2028}e\n"),
            ["a", "b", "c", "d", "e"]
        );
        assert_eq!(keys_from_metadata("x\n\ny"), ["x", "", "y"]);
        assert!(keys_from_metadata("").is_empty());
    }

    #[test]
    fn pairwise_sum_matches_numpy_blocking() {
        let values: Vec<f64> = (0..300).map(|i| 1.0 / (i as f64 + 1.0)).collect();
        let naive: f64 = values.iter().sum();
        assert!((pairwise_sum(&values) - naive).abs() < 1e-12);
    }
}

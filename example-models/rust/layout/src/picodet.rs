//! PP-PicoDet's pre- and post-processing, as `rapid_layout` 1.2.1 does it (`PPPreProcess`,
//! `PPPostProcess`): the page resized to 608 × 800 (cv2's `INTER_LINEAR`), BGR planes with
//! ImageNet normalisation; then, for each of the four heads (strides 8, 16, 32, 64), class
//! scores per anchor point and a distribution of distances per side (GFL/DFL: a softmax over
//! `reg_max + 1` bins, its expectation times the stride), the 1000 best points per head,
//! per-class thresholding and hard NMS, and the boxes scaled back to the page.

use wasml_guest::image::{ChannelOrder, Normalize, RgbImage, resize_linear, to_chw};
use wasml_guest::vision::{Detection, nms_per_class};

/// The network's input size.
pub const INPUT_WIDTH: usize = 608;
/// The network's input size.
pub const INPUT_HEIGHT: usize = 800;
/// The heads' strides, in the order of their outputs.
const STRIDES: [usize; 4] = [8, 16, 32, 64];
/// Anchor points kept per head before NMS.
const TOP_K: usize = 1000;
/// Boxes kept per class after NMS.
const KEEP_PER_CLASS: usize = 100;

/// The `[1, 3, 800, 608]` input for `image`.
pub fn preprocess(image: &RgbImage) -> Vec<f32> {
    let resized = resize_linear(image, INPUT_WIDTH, INPUT_HEIGHT);
    // The package normalises its BGR image with the RGB-ordered ImageNet statistics.
    to_chw(&resized, ChannelOrder::Bgr, &Normalize::IMAGENET)
}

/// One head's outputs: `scores` is `[points, classes]`, `distances` `[points, 4 * bins]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Head<'a> {
    /// Class scores per anchor point, row-major.
    pub scores: &'a [f32],
    /// Side-distance distributions per anchor point, row-major.
    pub distances: &'a [f32],
}

/// Decodes the four heads into detections in the pixels of a page of
/// `page_width × page_height`, keeping scores above `score_threshold` and suppressing overlaps
/// above `iou_threshold` within each class.
pub fn postprocess(
    heads: &[Head; 4],
    classes: usize,
    page_width: usize,
    page_height: usize,
    score_threshold: f32,
    iou_threshold: f32,
) -> Result<Vec<Detection>, String> {
    let mut candidates = Vec::new();
    for (head, stride) in heads.iter().zip(STRIDES) {
        decode_head(head, stride, classes, &mut candidates)?;
    }
    let mut detections: Vec<Detection> = Vec::new();
    for (bounds, scores) in &candidates {
        for (class, &score) in scores.iter().enumerate() {
            if score > score_threshold {
                detections.push(Detection {
                    bounds: *bounds,
                    score,
                    class,
                });
            }
        }
    }
    let kept = nms_per_class(&detections, score_threshold, iou_threshold, KEEP_PER_CLASS);
    // Clipped to the network's input (the package's `warp_boxes`), then scaled to the page.
    let scale_x = INPUT_WIDTH as f32 / page_width as f32;
    let scale_y = INPUT_HEIGHT as f32 / page_height as f32;
    Ok(kept
        .into_iter()
        .map(|d| {
            let d = d.clipped(INPUT_WIDTH as f32, INPUT_HEIGHT as f32);
            let [x0, y0, x1, y1] = d.bounds;
            Detection {
                bounds: [x0 / scale_x, y0 / scale_y, x1 / scale_x, y1 / scale_y],
                ..d
            }
        })
        .collect())
}

/// The `TOP_K` best anchor points of one head, as (box in input pixels, class scores).
fn decode_head<'a>(
    head: &Head<'a>,
    stride: usize,
    classes: usize,
    out: &mut Vec<([f32; 4], &'a [f32])>,
) -> Result<(), String> {
    // `np.arange(800 / stride)` has ceil(800 / stride) points.
    let (rows, columns) = (INPUT_HEIGHT.div_ceil(stride), INPUT_WIDTH.div_ceil(stride));
    let points = rows * columns;
    if classes == 0
        || head.scores.len() != points * classes
        || !head.distances.len().is_multiple_of(points)
    {
        return Err(format!(
            "the layout head of stride {stride} has {} scores and {} distances for {points} points",
            head.scores.len(),
            head.distances.len()
        ));
    }
    let per_point = head.distances.len() / points;
    if !per_point.is_multiple_of(4) || per_point < 4 {
        return Err(format!(
            "the layout head of stride {stride} has {per_point} bins per point"
        ));
    }
    let bins = per_point / 4;
    let best = |i: usize| {
        head.scores[i * classes..(i + 1) * classes]
            .iter()
            .copied()
            .fold(f32::NEG_INFINITY, f32::max)
    };
    let mut order: Vec<usize> = (0..points).collect();
    order.sort_by(|&a, &b| best(b).total_cmp(&best(a)));
    order.truncate(TOP_K);
    for i in order {
        let (cx, cy) = (
            ((i % columns) as f32 + 0.5) * stride as f32,
            ((i / columns) as f32 + 0.5) * stride as f32,
        );
        let sides = &head.distances[i * per_point..(i + 1) * per_point];
        let [left, top, right, bottom] =
            std::array::from_fn(|s| expectation(&sides[s * bins..(s + 1) * bins]) * stride as f32);
        out.push((
            [cx - left, cy - top, cx + right, cy + bottom],
            &head.scores[i * classes..(i + 1) * classes],
        ));
    }
    Ok(())
}

/// The expected bin of a distribution given as logits: `sum(softmax(logits) * [0, 1, ...])`.
fn expectation(logits: &[f32]) -> f32 {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let total: f32 = weights.iter().sum();
    weights
        .iter()
        .enumerate()
        .map(|(bin, w)| bin as f32 * w)
        .sum::<f32>()
        / total
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Heads with nothing found, and one point of the stride-32 head scoring `score` for
    /// `class`, at row `row`, column `column`, its sides `distance` bins away.
    fn heads_with(
        classes: usize,
        found: &[(usize, usize, usize, f32, usize)],
    ) -> Vec<(Vec<f32>, Vec<f32>)> {
        STRIDES
            .iter()
            .map(|&stride| {
                let (rows, columns) = (INPUT_HEIGHT.div_ceil(stride), INPUT_WIDTH.div_ceil(stride));
                let mut scores = vec![0.0; rows * columns * classes];
                // Every distribution peaks at bin 0 (a zero-size box) unless set below.
                let mut distances = vec![0.0; rows * columns * 32];
                for point in distances.chunks_exact_mut(8) {
                    point[0] = 50.0;
                }
                for &(row, column, class, score, distance) in found {
                    if stride != 32 {
                        continue;
                    }
                    let i = row * columns + column;
                    scores[i * classes + class] = score;
                    for side in 0..4 {
                        let bins = &mut distances[i * 32 + side * 8..i * 32 + side * 8 + 8];
                        bins.fill(0.0);
                        bins[distance] = 50.0;
                    }
                }
                (scores, distances)
            })
            .collect()
    }

    fn run(raw: &[(Vec<f32>, Vec<f32>)], classes: usize, page: (usize, usize)) -> Vec<Detection> {
        let heads: [Head; 4] = std::array::from_fn(|i| Head {
            scores: &raw[i].0,
            distances: &raw[i].1,
        });
        postprocess(&heads, classes, page.0, page.1, 0.5, 0.5).expect("decoded")
    }

    #[test]
    fn a_point_decodes_to_a_box_around_it_on_the_page() {
        // Row 5, column 3 of stride 32: centre (112, 176); 4 bins * 32 = 128 px each side.
        let raw = heads_with(10, &[(5, 3, 4, 0.9, 4)]);
        let found = run(&raw, 10, (INPUT_WIDTH * 2, INPUT_HEIGHT));
        assert_eq!(found.len(), 1);
        let d = found[0];
        assert_eq!((d.class, d.score), (4, 0.9));
        // Clipped to the input at 0, then x doubled for a page twice as wide.
        let want = [0.0, 48.0, 480.0, 304.0];
        for (got, want) in d.bounds.iter().zip(want) {
            assert!((got - want).abs() < 0.01, "{:?}", d.bounds);
        }
    }

    #[test]
    fn overlaps_are_suppressed_per_class_and_low_scores_dropped() {
        let raw = heads_with(
            3,
            &[
                (5, 3, 0, 0.9, 4),
                (5, 4, 0, 0.8, 4),
                (5, 4, 1, 0.7, 4),
                (20, 10, 2, 0.4, 2),
            ],
        );
        let found = run(&raw, 3, (INPUT_WIDTH, INPUT_HEIGHT));
        let summary: Vec<(usize, f32)> = found.iter().map(|d| (d.class, d.score)).collect();
        assert_eq!(summary, [(0, 0.9), (1, 0.7)]);
    }

    #[test]
    fn heads_of_the_wrong_size_are_errors() {
        let raw = heads_with(10, &[]);
        let heads: [Head; 4] = std::array::from_fn(|i| Head {
            scores: &raw[i].0[1..],
            distances: &raw[i].1,
        });
        assert!(postprocess(&heads, 10, 100, 100, 0.5, 0.5).is_err());
    }

    #[test]
    fn the_input_is_the_resized_page_in_bgr() {
        let page = RgbImage::filled(100, 50, [255, 0, 0]);
        let input = preprocess(&page);
        assert_eq!(input.len(), 3 * INPUT_WIDTH * INPUT_HEIGHT);
        let plane = INPUT_WIDTH * INPUT_HEIGHT;
        // Blue plane (0) holds 0, red plane (2) holds 255.
        assert!((input[0] - (0.0 - 0.485) / 0.229).abs() < 1e-5);
        assert!((input[2 * plane] - (1.0 - 0.406) / 0.225).abs() < 1e-5);
    }
}

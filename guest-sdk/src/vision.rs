//! Boxes for detection models: intersection over union and non-maximum suppression, as the
//! detectors' reference post-processing does it (PaddleDetection's and RapidLayout's
//! `hard_nms`), per class or over all boxes.

/// An axis-aligned box in pixels, corners `[x0, y0, x1, y1]`, with a score and a class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Detection {
    /// `[x0, y0, x1, y1]`, `x0 <= x1`, `y0 <= y1`.
    pub bounds: [f32; 4],
    /// Confidence, usually in `[0, 1]`.
    pub score: f32,
    /// Index of the class in the model's class list.
    pub class: usize,
}

impl Detection {
    /// The box's area; zero for an empty or inverted box.
    pub fn area(&self) -> f32 {
        area(self.bounds)
    }

    /// Intersection over union with `other`, `eps` added to the union as the reference does
    /// (so two empty boxes give 0, not NaN).
    pub fn iou(&self, other: &Detection) -> f32 {
        iou(self.bounds, other.bounds)
    }

    /// The box clipped to an image of `width × height` pixels.
    pub fn clipped(mut self, width: f32, height: f32) -> Detection {
        let [x0, y0, x1, y1] = self.bounds;
        self.bounds = [
            x0.clamp(0.0, width),
            y0.clamp(0.0, height),
            x1.clamp(0.0, width),
            y1.clamp(0.0, height),
        ];
        self
    }

    /// `[x, y, width, height]` in percent of an image of `width × height` pixels: a
    /// rectangle region's geometry in Label Studio.
    pub fn percent_of(&self, width: f32, height: f32) -> [f64; 4] {
        let [x0, y0, x1, y1] = self.bounds.map(f64::from);
        let (w, h) = (f64::from(width), f64::from(height));
        [
            x0 / w * 100.0,
            y0 / h * 100.0,
            (x1 - x0) / w * 100.0,
            (y1 - y0) / h * 100.0,
        ]
    }
}

/// The area of `[x0, y0, x1, y1]`, zero when inverted.
pub fn area([x0, y0, x1, y1]: [f32; 4]) -> f32 {
    (x1 - x0).max(0.0) * (y1 - y0).max(0.0)
}

/// Intersection over union of two corner-form boxes, `1e-5` added to the union.
pub fn iou(a: [f32; 4], b: [f32; 4]) -> f32 {
    let overlap = area([
        a[0].max(b[0]),
        a[1].max(b[1]),
        a[2].min(b[2]),
        a[3].min(b[3]),
    ]);
    overlap / (area(a) + area(b) - overlap + 1e-5)
}

/// Greedy non-maximum suppression over one set of candidates (the reference's `hard_nms`):
/// of the `candidates` highest-scoring boxes, repeatedly keep the best remaining one and drop
/// those overlapping it by more than `iou_threshold`, until `keep` are kept (0: no limit).
/// Among equal scores the later box is taken first (numpy leaves that order unspecified).
pub fn hard_nms(
    detections: &[Detection],
    iou_threshold: f32,
    keep: usize,
    candidates: usize,
) -> Vec<Detection> {
    let mut order: Vec<usize> = (0..detections.len()).collect();
    // Stable ascending sort, best last, as `np.argsort` then taking from the end.
    order.sort_by(|&a, &b| detections[a].score.total_cmp(&detections[b].score));
    let start = order.len().saturating_sub(candidates);
    let mut remaining: Vec<usize> = order.split_off(start);
    let mut kept = Vec::new();
    while let Some(best) = remaining.pop() {
        kept.push(detections[best]);
        if keep > 0 && kept.len() == keep {
            break;
        }
        remaining.retain(|&i| detections[i].iou(&detections[best]) <= iou_threshold);
    }
    kept
}

/// [`hard_nms`] within each class, over the detections scoring above `score_threshold`;
/// the result lists class 0's boxes first, each class best first.
pub fn nms_per_class(
    detections: &[Detection],
    score_threshold: f32,
    iou_threshold: f32,
    keep_per_class: usize,
) -> Vec<Detection> {
    let classes = detections.iter().map(|d| d.class + 1).max().unwrap_or(0);
    let mut out = Vec::new();
    for class in 0..classes {
        let of_class: Vec<Detection> = detections
            .iter()
            .filter(|d| d.class == class && d.score > score_threshold)
            .copied()
            .collect();
        out.extend(hard_nms(&of_class, iou_threshold, keep_per_class, 200));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(bounds: [f32; 4], score: f32, class: usize) -> Detection {
        Detection {
            bounds,
            score,
            class,
        }
    }

    #[test]
    fn iou_of_identical_disjoint_and_half_overlapping_boxes() {
        let a = [0.0, 0.0, 10.0, 10.0];
        assert!((iou(a, a) - 1.0).abs() < 1e-6);
        assert_eq!(iou(a, [20.0, 20.0, 30.0, 30.0]), 0.0);
        // Overlap 50 over a union of 150.
        assert!((iou(a, [5.0, 0.0, 15.0, 10.0]) - 1.0 / 3.0).abs() < 1e-6);
        assert_eq!(iou([0.0; 4], [0.0; 4]), 0.0);
    }

    #[test]
    fn nms_keeps_the_best_of_each_cluster() {
        let boxes = [
            det([0.0, 0.0, 10.0, 10.0], 0.9, 0),
            det([1.0, 1.0, 11.0, 11.0], 0.8, 0),
            det([50.0, 50.0, 60.0, 60.0], 0.7, 0),
            det([0.0, 0.0, 10.0, 10.0], 0.6, 1),
        ];
        let kept = hard_nms(&boxes[..3], 0.5, 0, 200);
        assert_eq!(kept, [boxes[0], boxes[2]]);
        assert_eq!(hard_nms(&boxes[..3], 0.5, 1, 200), [boxes[0]]);
        // Only the best candidate is considered.
        assert_eq!(hard_nms(&boxes[..3], 0.5, 0, 1), [boxes[0]]);
        // Per class, the class-1 box survives its class-0 twin; the threshold drops 0.6.
        assert_eq!(
            nms_per_class(&boxes, 0.5, 0.5, 100),
            [boxes[0], boxes[2], boxes[3]]
        );
        assert_eq!(nms_per_class(&boxes, 0.65, 0.5, 100), [boxes[0], boxes[2]]);
    }

    #[test]
    fn percent_geometry_and_clipping() {
        let d = det([-5.0, 10.0, 50.0, 120.0], 1.0, 0).clipped(100.0, 100.0);
        assert_eq!(d.bounds, [0.0, 10.0, 50.0, 100.0]);
        assert_eq!(d.percent_of(200.0, 100.0), [0.0, 10.0, 25.0, 90.0]);
    }
}

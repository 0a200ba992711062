//! Text detection: the detector's input (`DetPreProcess`) and rapidocr's DB post-processing
//! (`DBPostProcess`, `filter_tag_det_res`, `sorted_boxes`) from its probability map to
//! ordered, four-point boxes.

use super::contours::find_contours;
use super::fill::fill_poly;
use super::image::resize_linear;
use super::image::{ChannelOrder, RgbImage, write_planes};
use super::infer::{Graph, Infer, Tensor, run_checked};
use super::min_area_rect::mini_box;
use super::options::{Options, ScoreMode};
use super::preprocess::det_input_size;
use super::unclip::unclip;

/// A box as four `[x, y]` corners: top-left, top-right, bottom-right, bottom-left.
pub type Quad = [[f32; 2]; 4];

/// A detector probability map: `height` rows of `width` values in `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ProbMap {
    /// Values per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// The probabilities, row-major.
    pub data: Vec<f32>,
}

/// Runs the detector on `image` and returns its boxes in `image` coordinates, in reading
/// order; empty when the image cannot be scaled to the detector or nothing is found.
pub(crate) fn detect(
    image: &RgbImage,
    infer: &mut impl Infer,
    options: &Options,
) -> Result<Vec<Quad>, String> {
    let Some((width, height)) = det_input_size(image.width, image.height, options) else {
        return Ok(Vec::new());
    };
    let resized = resize_linear(image, width, height);
    let mut data = vec![0f32; 3 * width * height];
    // (x * (1/255) - 0.5) / 0.5 with numpy's types: the product in float32, the rest exact.
    let scale = (1.0f64 / 255.0) as f32;
    write_planes(&resized, ChannelOrder::Bgr, &mut data, width, |_, v| {
        (f32::from(v) * scale - 0.5) / 0.5
    });
    let input = Tensor {
        dims: vec![1, 3, height, width],
        data,
    };
    let output = run_checked(infer, Graph::Det, input, 4)?;
    // pred[0, 0]: the first map of the first image.
    let (map_h, map_w) = (output.dims[2], output.dims[3]);
    if output.dims[0] == 0 || output.dims[1] == 0 || map_h == 0 || map_w == 0 {
        return Err(format!(
            "the detector returned an empty map {:?}",
            output.dims
        ));
    }
    let map = ProbMap {
        width: map_w,
        height: map_h,
        data: output.data[..map_w * map_h].to_vec(),
    };
    let boxes = boxes_from_map(&map, image.width, image.height, options);
    Ok(sort_boxes(filter_boxes(boxes, image.width, image.height)))
}

/// `DBPostProcess`: thresholds (and dilates) the map, and turns each region into a box grown
/// by the unclip ratio and scaled to `dest_width × dest_height`, with integer corners
/// (rapidocr's order: contours in `findContours` order; not yet filtered or sorted).
pub fn boxes_from_map(
    map: &ProbMap,
    dest_width: usize,
    dest_height: usize,
    options: &Options,
) -> Vec<Quad> {
    let (w, h) = (map.width, map.height);
    // `pred > thresh`, the threshold taken as float32 as numpy does with a Python float.
    let thresh = options.det_thresh as f32;
    let mut mask: Vec<u8> = map.data.iter().map(|&p| u8::from(p > thresh)).collect();
    if options.det_use_dilation {
        mask = dilate_2x2(&mask, w, h);
    }
    let mut boxes = Vec::new();
    for contour in find_contours(&mask, w, h)
        .iter()
        .take(options.det_max_candidates)
    {
        let (points, side) = mini_box(contour);
        if side < 3.0 {
            continue;
        }
        let score = match options.det_score_mode {
            ScoreMode::Fast => score_fast(map, &points),
            ScoreMode::Slow => score_slow(map, contour),
        };
        if options.det_box_thresh > score {
            continue;
        }
        let grown = unclip(&points, options.det_unclip_ratio);
        if grown.is_empty() {
            continue;
        }
        let (quad, side) = mini_box(&grown);
        if side < 5.0 {
            continue;
        }
        // np.round(x / width * dest_width) in float32, clipped (halves round to even; the
        // `+ 0.0` turns a rounded -0.0 into 0.0, as the integer cast does in rapidocr).
        let scale = |v: f32, from: usize, to: usize| {
            ((v / from as f32) * to as f32)
                .round_ties_even()
                .clamp(0.0, to as f32)
                + 0.0
        };
        boxes.push(quad.map(|[x, y]| [scale(x, w, dest_width), scale(y, h, dest_height)]));
    }
    boxes
}

/// `cv2.dilate` with a 2×2 kernel (anchor at its centre, so each pixel takes the maximum of
/// itself and its neighbours above and to the left).
fn dilate_2x2(mask: &[u8], width: usize, height: usize) -> Vec<u8> {
    let mut out = vec![0u8; mask.len()];
    for y in 0..height {
        for x in 0..width {
            let at = |dx: usize, dy: usize| mask[(y - dy) * width + x - dx];
            let mut v = at(0, 0);
            if x > 0 {
                v |= at(1, 0);
            }
            if y > 0 {
                v |= at(0, 1);
                if x > 0 {
                    v |= at(1, 1);
                }
            }
            out[y * width + x] = v;
        }
    }
    out
}

/// `cv2.mean(map[ymin..=ymax, xmin..=xmax], mask)`: the mean over the masked pixels, summed
/// in double precision and scaled by the reciprocal count, as OpenCV does.
fn masked_mean(
    map: &ProbMap,
    x0: usize,
    y0: usize,
    polygon: &[[i32; 2]],
    w: usize,
    h: usize,
) -> f64 {
    let mask = fill_poly(w, h, polygon);
    let (mut sum, mut count) = (0f64, 0usize);
    for y in 0..h {
        for x in 0..w {
            if mask.data[y * w + x] != 0 {
                sum += f64::from(map.data[(y0 + y) * map.width + x0 + x]);
                count += 1;
            }
        }
    }
    if count == 0 {
        0.0
    } else {
        sum * (1.0 / count as f64)
    }
}

/// `box_score_fast`: the mean probability inside the box, over its bounding rectangle's
/// pixels; the corners are truncated to integers as `astype(np.int32)` does.
fn score_fast(map: &ProbMap, quad: &Quad) -> f64 {
    let clip = |v: f32, size: usize| (v as i64).clamp(0, size as i64 - 1) as usize;
    let xs = quad.map(|p| p[0]);
    let ys = quad.map(|p| p[1]);
    let fold = |v: [f32; 4], f: fn(f32, f32) -> f32| v.into_iter().reduce(f).unwrap_or(0.0);
    let xmin = clip(fold(xs, f32::min).floor(), map.width);
    let xmax = clip(fold(xs, f32::max).ceil(), map.width);
    let ymin = clip(fold(ys, f32::min).floor(), map.height);
    let ymax = clip(fold(ys, f32::max).ceil(), map.height);
    let polygon: Vec<[i32; 2]> = quad
        .iter()
        .map(|&[x, y]| [(x - xmin as f32) as i32, (y - ymin as f32) as i32])
        .collect();
    masked_mean(map, xmin, ymin, &polygon, xmax - xmin + 1, ymax - ymin + 1)
}

/// `box_score_slow`: the mean probability inside the region's own contour.
fn score_slow(map: &ProbMap, contour: &[[i32; 2]]) -> f64 {
    let clip = |v: i32, size: usize| v.clamp(0, size as i32 - 1) as usize;
    let xmin = clip(contour.iter().map(|p| p[0]).min().unwrap_or(0), map.width);
    let xmax = clip(contour.iter().map(|p| p[0]).max().unwrap_or(0), map.width);
    let ymin = clip(contour.iter().map(|p| p[1]).min().unwrap_or(0), map.height);
    let ymax = clip(contour.iter().map(|p| p[1]).max().unwrap_or(0), map.height);
    let polygon: Vec<[i32; 2]> = contour
        .iter()
        .map(|&[x, y]| [x - xmin as i32, y - ymin as i32])
        .collect();
    masked_mean(map, xmin, ymin, &polygon, xmax - xmin + 1, ymax - ymin + 1)
}

/// `TextDetector.filter_tag_det_res`: orders each box's corners clockwise from the top-left,
/// clips them into the image (as integers) and drops boxes 3 pixels wide or high or less.
pub fn filter_boxes(boxes: Vec<Quad>, width: usize, height: usize) -> Vec<Quad> {
    let distance =
        |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    boxes
        .into_iter()
        .map(|quad| {
            order_clockwise(quad).map(|[x, y]| {
                [
                    x.clamp(0.0, width as f32 - 1.0).trunc(),
                    y.clamp(0.0, height as f32 - 1.0).trunc(),
                ]
            })
        })
        .filter(|quad| {
            distance(quad[0], quad[1]) as i64 > 3 && distance(quad[0], quad[3]) as i64 > 3
        })
        .collect()
}

/// `order_points_clockwise`: the two left-most corners (by x, stably) become top-left and
/// bottom-left by y, the other two top-right and bottom-right.
fn order_clockwise(quad: Quad) -> Quad {
    let mut by_x = quad;
    by_x.sort_by(|p, q| p[0].partial_cmp(&q[0]).unwrap_or(std::cmp::Ordering::Equal));
    let pair = |a: [f32; 2], b: [f32; 2]| if b[1] < a[1] { (b, a) } else { (a, b) };
    let (tl, bl) = pair(by_x[0], by_x[1]);
    let (tr, br) = pair(by_x[2], by_x[3]);
    [tl, tr, br, bl]
}

/// `RapidOCR.sorted_boxes`: by the top-left corner (y, then x), then boxes whose tops are
/// within 10 pixels are swapped into left-to-right order.
pub fn sort_boxes(mut boxes: Vec<Quad>) -> Vec<Quad> {
    boxes.sort_by(|a, b| {
        (a[0][1], a[0][0])
            .partial_cmp(&(b[0][1], b[0][0]))
            .unwrap_or(std::cmp::Ordering::Equal)
    });
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            let (upper, lower) = (boxes[j][0], boxes[j + 1][0]);
            if (lower[1] - upper[1]).abs() < 10.0 && lower[0] < upper[0] {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    boxes
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A map with `value` inside the rectangle centred at `(cx, cy)`, `w × h`, turned by
    /// `degrees` (pixel centres inside count).
    fn rotated_rect_map(
        width: usize,
        height: usize,
        rect: (f32, f32, f32, f32, f32),
        value: f32,
    ) -> ProbMap {
        let (cx, cy, w, h, degrees) = rect;
        let (sin, cos) = degrees.to_radians().sin_cos();
        let data = (0..width * height)
            .map(|i| {
                let (x, y) = ((i % width) as f32 - cx, (i / width) as f32 - cy);
                let (u, v) = (x * cos + y * sin, -x * sin + y * cos);
                if u.abs() <= w / 2.0 && v.abs() <= h / 2.0 {
                    value
                } else {
                    0.0
                }
            })
            .collect();
        ProbMap {
            width,
            height,
            data,
        }
    }

    fn side(a: [f32; 2], b: [f32; 2]) -> f32 {
        ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt()
    }

    #[test]
    fn a_rotated_rectangle_gives_one_grown_box() {
        let options = Options::default();
        let map = rotated_rect_map(240, 120, (120.0, 60.0, 100.0, 24.0, 12.0), 0.9);
        let boxes = boxes_from_map(&map, 240, 120, &options);
        assert_eq!(boxes.len(), 1, "{boxes:?}");
        let quad = boxes[0];
        // The 2x2 dilation makes the region about 101 x 25; unclip grows each side by
        // area * 1.6 / perimeter, about 16 here (and the corners are rounded to pixels).
        let (w, h) = (101.0, 25.0);
        let grow = w * h * 1.6 / (2.0 * (w + h));
        let (long, short) = (side(quad[0], quad[1]), side(quad[0], quad[3]));
        assert!((long - (w + 2.0 * grow)).abs() < 2.5, "{long} {quad:?}");
        assert!((short - (h + 2.0 * grow)).abs() < 2.5, "{short} {quad:?}");
        // Top-left first, clockwise, and tilted by the rectangle's angle.
        let angle = (quad[1][1] - quad[0][1])
            .atan2(quad[1][0] - quad[0][0])
            .to_degrees();
        assert!((angle - 12.0).abs() < 1.5, "{angle}");
        let centre = quad
            .iter()
            .fold([0.0, 0.0], |c, p| [c[0] + p[0] / 4.0, c[1] + p[1] / 4.0]);
        assert!(
            (centre[0] - 120.0).abs() < 1.5 && (centre[1] - 60.0).abs() < 1.5,
            "{centre:?}"
        );
    }

    #[test]
    fn boxes_scale_to_the_destination() {
        let options = Options::default();
        let map = rotated_rect_map(200, 100, (100.0, 50.0, 80.0, 20.0, 0.0), 0.9);
        let small = boxes_from_map(&map, 200, 100, &options);
        let large = boxes_from_map(&map, 400, 200, &options);
        assert_eq!((small.len(), large.len()), (1, 1));
        for (s, l) in small[0].iter().zip(&large[0]) {
            assert!((l[0] - 2.0 * s[0]).abs() <= 1.0 && (l[1] - 2.0 * s[1]).abs() <= 1.0);
        }
    }

    #[test]
    fn weak_and_tiny_regions_are_dropped() {
        let options = Options::default();
        // Above the pixel threshold (0.3) but below the box threshold (0.5).
        let faint = rotated_rect_map(200, 100, (100.0, 50.0, 80.0, 20.0, 0.0), 0.4);
        assert!(boxes_from_map(&faint, 200, 100, &options).is_empty());
        // Strong but only 2 pixels high: its shorter side is below 3.
        let thin = rotated_rect_map(200, 100, (100.0, 50.0, 80.0, 1.0, 0.0), 0.9);
        assert!(boxes_from_map(&thin, 200, 100, &options).is_empty());
        assert!(
            boxes_from_map(
                &rotated_rect_map(50, 50, (0.0, 0.0, 0.0, 0.0, 0.0), 0.0),
                50,
                50,
                &options
            )
            .is_empty()
        );
    }

    #[test]
    fn boxes_are_ordered_for_reading() {
        let quad = |x: f32, y: f32| [[x, y], [x + 20.0, y], [x + 20.0, y + 10.0], [x, y + 10.0]];
        // Same line (tops within 10 pixels) reads left to right; lines top to bottom.
        let sorted = sort_boxes(vec![
            quad(50.0, 42.0),
            quad(10.0, 45.0),
            quad(5.0, 10.0),
            quad(0.0, 80.0),
        ]);
        let starts: Vec<[f32; 2]> = sorted.iter().map(|q| q[0]).collect();
        assert_eq!(
            starts,
            [[5.0, 10.0], [10.0, 45.0], [50.0, 42.0], [0.0, 80.0]]
        );
        // Corners come out clockwise from the top-left, clipped into the image.
        let filtered = filter_boxes(
            vec![[[30.0, 5.0], [-4.0, 5.0], [-4.0, 20.0], [30.0, 20.0]]],
            25,
            15,
        );
        assert_eq!(
            filtered,
            vec![[[0.0, 5.0], [24.0, 5.0], [24.0, 14.0], [0.0, 14.0]]]
        );
    }
}

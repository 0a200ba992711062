//! `cv2.minAreaRect` and `cv2.boxPoints`, ported from OpenCV's rotating calipers in single
//! precision (its float rounding decides which pixels a box covers), and rapidocr's
//! `get_mini_boxes`, which orders the corners.

use super::hull::convex_hull;

/// A rotated rectangle as `cv2.minAreaRect` returns it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RotatedRect {
    /// The centre, `[x, y]`.
    pub center: [f32; 2],
    /// The side lengths, `[width, height]`, along and across `angle`.
    pub size: [f32; 2],
    /// The direction of the `width` side, in degrees.
    pub angle: f32,
}

/// `cv2.minAreaRect(points)`: the rectangle of least area containing the points, as OpenCV
/// 4.7+ reports it (angle in [-90, 0), the sides swapped to match).
pub fn min_area_rect(points: &[[i32; 2]]) -> RotatedRect {
    let hull: Vec<[f32; 2]> = convex_hull(points, false)
        .iter()
        .map(|&[x, y]| [x as f32, y as f32])
        .collect();
    let length = |x: f64, y: f64| (x * x + y * y).sqrt() as f32;
    let (center, size, radians) = match hull.len() {
        0 => ([0.0, 0.0], [0.0, 0.0], 0.0),
        1 => (hull[0], [0.0, 0.0], 0.0),
        2 => {
            let center = [
                (hull[0][0] + hull[1][0]) * 0.5,
                (hull[0][1] + hull[1][1]) * 0.5,
            ];
            let dx = f64::from(hull[1][0] - hull[0][0]);
            let dy = f64::from(hull[1][1] - hull[0][1]);
            (center, [length(dx, dy), 0.0], dy.atan2(dx))
        }
        _ => {
            let [corner, side1, side2] = rotating_calipers(&hull);
            let center = [
                corner[0] + (side1[0] + side2[0]) * 0.5,
                corner[1] + (side1[1] + side2[1]) * 0.5,
            ];
            let (x1, y1) = (f64::from(side1[0]), f64::from(side1[1]));
            let (x2, y2) = (f64::from(side2[0]), f64::from(side2[1]));
            (center, [length(x1, y1), length(x2, y2)], y1.atan2(x1))
        }
    };
    // Quarter turns into [-90, 0), each one swapping which side is the width.
    let mut angle = radians * 180.0 / std::f64::consts::PI;
    let mut size = size;
    while angle >= 0.0 {
        angle -= 90.0;
        size.swap(0, 1);
    }
    while angle < -90.0 {
        angle += 90.0;
        size.swap(0, 1);
    }
    RotatedRect {
        center,
        size,
        angle: angle as f32,
    }
}

/// Whether `a` points to the right of (clockwise from) `b`.
fn is_right_of(a: [f32; 2], b: [f32; 2]) -> bool {
    a[1] * b[0] + -a[0] * b[1] < 0.0
}

/// OpenCV's `rotatingCalipers` in `CALIPERS_MINAREARECT` mode over a convex polygon, in single
/// precision: returns a corner of the best rectangle and its two side vectors.
fn rotating_calipers(points: &[[f32; 2]]) -> [[f32; 2]; 3] {
    let n = points.len();
    let mut vect = vec![[0f32; 2]; n];
    let mut inv_length = vec![0f32; n];
    let (mut left, mut bottom, mut right, mut top) = (0, 0, 0, 0);
    let mut pt0 = points[0];
    let (mut left_x, mut right_x, mut top_y, mut bottom_y) = (pt0[0], pt0[0], pt0[1], pt0[1]);
    for i in 0..n {
        if pt0[0] < left_x {
            left_x = pt0[0];
            left = i;
        }
        if pt0[0] > right_x {
            right_x = pt0[0];
            right = i;
        }
        if pt0[1] > top_y {
            top_y = pt0[1];
            top = i;
        }
        if pt0[1] < bottom_y {
            bottom_y = pt0[1];
            bottom = i;
        }
        let pt = points[(i + 1) % n];
        let dx = f64::from(pt[0] - pt0[0]);
        let dy = f64::from(pt[1] - pt0[1]);
        vect[i] = [dx as f32, dy as f32];
        inv_length[i] = (1.0 / (dx * dx + dy * dy).sqrt()) as f32;
        pt0 = pt;
    }
    // (OpenCV also finds the polygon's orientation to start the calipers from; since it
    // compares edge directions instead of cosines, that start no longer affects the result.)
    let (mut base_a, mut base_b);
    let mut seq = [bottom, right, top, left];
    let mut min_area = f32::MAX;
    // Saved best: left point index, base_a, width, base_b, height, bottom point index.
    let mut best = (0usize, 0f32, 0f32, 0f32, 0f32, 0usize);
    for _ in 0..n {
        // The edge making the smallest angle with its caliper, compared by direction (each
        // caliper's edge turned into the first caliper's frame).
        let [v0, v1, v2, v3] = seq.map(|i| vect[i]);
        let turned = [v0, [v1[1], -v1[0]], [-v2[0], -v2[1]], [-v3[1], v3[0]]];
        let mut main = 0;
        for i in 1..4 {
            if is_right_of(turned[i], turned[main]) {
                main = i;
            }
        }
        // Rotate the calipers onto that edge.
        let p = seq[main];
        let lead_x = vect[p][0] * inv_length[p];
        let lead_y = vect[p][1] * inv_length[p];
        (base_a, base_b) = match main {
            0 => (lead_x, lead_y),
            1 => (lead_y, -lead_x),
            2 => (-lead_x, -lead_y),
            _ => (-lead_y, lead_x),
        };
        seq[main] = (seq[main] + 1) % n;
        let dx = points[seq[1]][0] - points[seq[3]][0];
        let dy = points[seq[1]][1] - points[seq[3]][1];
        let width = dx * base_a + dy * base_b;
        let dx = points[seq[2]][0] - points[seq[0]][0];
        let dy = points[seq[2]][1] - points[seq[0]][1];
        let height = -dx * base_b + dy * base_a;
        let area = width * height;
        if area <= min_area {
            min_area = area;
            best = (seq[3], base_a, width, base_b, height, seq[0]);
        }
    }
    let (left_i, a1, width, b1, height, bottom_i) = best;
    let (a2, b2) = (-b1, a1);
    let c1 = a1 * points[left_i][0] + points[left_i][1] * b1;
    let c2 = a2 * points[bottom_i][0] + points[bottom_i][1] * b2;
    let idet = 1.0 / (a1 * b2 - a2 * b1);
    let px = (c1 * b2 - c2 * b1) * idet;
    let py = (a1 * c2 - a2 * c1) * idet;
    [
        [px, py],
        [a1 * width, b1 * width],
        [a2 * height, b2 * height],
    ]
}

/// `cv2.boxPoints(rect)`: the four corners (each computed from the centre, as OpenCV 5 does).
pub fn box_points(rect: &RotatedRect) -> [[f32; 2]; 4] {
    let angle = f64::from(rect.angle) * std::f64::consts::PI / 180.0;
    let b = angle.cos() as f32 * 0.5;
    let a = angle.sin() as f32 * 0.5;
    let [cx, cy] = rect.center;
    let [w, h] = rect.size;
    [
        [cx - a * h - b * w, cy + b * h - a * w],
        [cx + a * h - b * w, cy - b * h - a * w],
        [cx + a * h + b * w, cy - b * h + a * w],
        [cx - a * h + b * w, cy + b * h + a * w],
    ]
}

/// rapidocr's `get_mini_boxes`: the minimum-area rectangle's corners as top-left, top-right,
/// bottom-right, bottom-left (by sorting on x, then y within each side), and its shorter side.
pub fn mini_box(points: &[[i32; 2]]) -> ([[f32; 2]; 4], f32) {
    let rect = min_area_rect(points);
    let mut corners = box_points(&rect);
    // Python's sort is stable; so is this one.
    corners.sort_by(|p, q| p[0].partial_cmp(&q[0]).unwrap_or(std::cmp::Ordering::Equal));
    let (tl, bl) = if corners[1][1] > corners[0][1] {
        (0, 1)
    } else {
        (1, 0)
    };
    let (tr, br) = if corners[3][1] > corners[2][1] {
        (2, 3)
    } else {
        (3, 2)
    };
    let side = rect.size[0].min(rect.size[1]);
    ([corners[tl], corners[tr], corners[br], corners[bl]], side)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_aligned_rectangle_matches_cv2() {
        // cv2.minAreaRect of [[3, 2], [7, 2], [7, 4], [3, 4]] is ((5, 3), (2, 4), -90) and
        // boxPoints gives [[7, 4], [3, 4], [3, 2], [7, 2]].
        let rect = min_area_rect(&[[3, 2], [7, 2], [7, 4], [3, 4]]);
        assert_eq!(
            rect,
            RotatedRect {
                center: [5.0, 3.0],
                size: [2.0, 4.0],
                angle: -90.0
            }
        );
        let corners = box_points(&rect);
        assert_eq!(corners, [[7.0, 4.0], [3.0, 4.0], [3.0, 2.0], [7.0, 2.0]]);
        let (ordered, side) = mini_box(&[[3, 2], [7, 2], [7, 4], [3, 4]]);
        assert_eq!(ordered, [[3.0, 2.0], [7.0, 2.0], [7.0, 4.0], [3.0, 4.0]]);
        assert_eq!(side, 2.0);
    }

    #[test]
    fn tilted_square_matches_cv2() {
        // cv2: ((4.5000005, 4.5), (4.1231055, 4.1231055), -75.96375)
        let rect = min_area_rect(&[[3, 2], [7, 3], [6, 7], [2, 6]]);
        assert_eq!(rect.center, [4.500_000_5, 4.5]);
        assert_eq!(rect.size, [4.123_105_5, 4.123_105_5]);
        assert_eq!(rect.angle, -75.963_75);
    }

    #[test]
    fn a_line_has_no_area() {
        let (_, side) = mini_box(&[[0, 0], [5, 0], [9, 0]]);
        assert_eq!(side, 0.0);
    }
}

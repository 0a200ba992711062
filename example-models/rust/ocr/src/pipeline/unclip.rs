//! rapidocr's `unclip`: a text box grows by `area × unclip_ratio / perimeter` on every side,
//! with shapely measuring the box and pyclipper (Clipper 6.4.2) offsetting it with round
//! joins on integer coordinates. The offset is ported from `ClipperOffset`; its clean-up
//! union is replaced by what it amounts to for a convex polygon (dropping repeated and
//! collinear points, starting after the top-most point), which fixes the order in which
//! `minAreaRect` later walks the points.

type Point = [i64; 2];

/// Clipper's `Round`: half away from zero.
fn round(v: f64) -> i64 {
    if v < 0.0 {
        (v - 0.5) as i64
    } else {
        (v + 0.5) as i64
    }
}

/// shapely's `Polygon(box).area` and `.length` (GEOS: shoelace relative to the first x,
/// and the ring's summed edge lengths).
fn area_and_length(quad: &[[f32; 2]; 4]) -> (f64, f64) {
    let ring: Vec<[f64; 2]> = quad
        .iter()
        .chain(std::iter::once(&quad[0]))
        .map(|&[x, y]| [f64::from(x), f64::from(y)])
        .collect();
    let x0 = ring[0][0];
    let mut sum = 0.0;
    for i in 1..ring.len() - 1 {
        sum += (ring[i][0] - x0) * (ring[i - 1][1] - ring[i + 1][1]);
    }
    let mut length = 0.0;
    for pair in ring.windows(2) {
        let (dx, dy) = (pair[1][0] - pair[0][0], pair[1][1] - pair[0][1]);
        length += (dx * dx + dy * dy).sqrt();
    }
    ((sum / 2.0).abs(), length)
}

/// Clipper's `Area` (positive when counter-clockwise with y up).
fn clipper_area(path: &[Point]) -> f64 {
    let mut a = 0.0;
    let mut j = path.len() - 1;
    for i in 0..path.len() {
        a += (path[j][0] as f64 + path[i][0] as f64) * (path[j][1] as f64 - path[i][1] as f64);
        j = i;
    }
    -a * 0.5
}

/// Grows a box as rapidocr's `unclip` does and returns the polygon's integer points, or
/// nothing for a degenerate box.
pub fn unclip(quad: &[[f32; 2]; 4], unclip_ratio: f64) -> Vec<[i32; 2]> {
    let (area, length) = area_and_length(quad);
    if length == 0.0 {
        return Vec::new();
    }
    let delta = area * unclip_ratio / length;
    // pyclipper converts float coordinates to integers by truncation.
    let mut path: Vec<Point> = Vec::with_capacity(4);
    for &[x, y] in quad {
        let p = [x as i64, y as i64];
        if path.last() != Some(&p) {
            path.push(p);
        }
    }
    while path.len() > 1 && path.first() == path.last() {
        path.pop();
    }
    if path.len() < 3 {
        return Vec::new();
    }
    if clipper_area(&path) < 0.0 {
        path.reverse();
    }
    let offset = if delta.abs() < 1e-20 {
        path
    } else {
        offset_round(&path, delta)
    };
    clean(offset)
}

/// `ClipperOffset::DoOffset` for one closed polygon with round joins (arc tolerance 0.25).
fn offset_round(path: &[Point], delta: f64) -> Vec<Point> {
    use std::f64::consts::PI;
    let tolerance = if 0.25 > delta.abs() * 0.25 {
        delta.abs() * 0.25
    } else {
        0.25
    };
    let mut steps = PI / (1.0 - tolerance / delta.abs()).acos();
    if steps > delta.abs() * PI {
        steps = delta.abs() * PI;
    }
    let (mut sin, cos) = ((2.0 * PI / steps).sin(), (2.0 * PI / steps).cos());
    let steps_per_rad = steps / (2.0 * PI);
    if delta < 0.0 {
        sin = -sin;
    }
    let n = path.len();
    let normals: Vec<[f64; 2]> = (0..n)
        .map(|j| {
            let (p, q) = (path[j], path[(j + 1) % n]);
            let (dx, dy) = ((q[0] - p[0]) as f64, (q[1] - p[1]) as f64);
            let f = 1.0 / (dx * dx + dy * dy).sqrt();
            [dy * f, -dx * f]
        })
        .collect();
    let at = |p: Point, nrm: [f64; 2]| {
        [
            round(p[0] as f64 + nrm[0] * delta),
            round(p[1] as f64 + nrm[1] * delta),
        ]
    };
    let mut out = Vec::new();
    let mut k = n - 1;
    for j in 0..n {
        let (nk, nj, p) = (normals[k], normals[j], path[j]);
        let mut sin_a = nk[0] * nj[1] - nj[0] * nk[1];
        let cos_a = nk[0] * nj[0] + nj[1] * nk[1];
        if (sin_a * delta).abs() < 1.0 {
            if cos_a > 0.0 {
                // Nearly straight: one point.
                out.push(at(p, nk));
                k = j;
                continue;
            }
        } else {
            sin_a = sin_a.clamp(-1.0, 1.0);
        }
        if sin_a * delta < 0.0 {
            // A concave corner (cannot happen for a box, kept for fidelity).
            out.extend([at(p, nk), p, at(p, nj)]);
        } else {
            // DoRound: an arc from the previous edge's normal to this one's.
            let a = sin_a.atan2(cos_a);
            let count = round(steps_per_rad * a.abs()).max(1);
            let (mut x, mut y) = (nk[0], nk[1]);
            for _ in 0..count {
                out.push(at(p, [x, y]));
                (x, y) = (x * cos - sin * y, x * sin + y * cos);
            }
            out.push(at(p, nj));
        }
        k = j;
    }
    out
}

/// What Clipper's union leaves of a convex offset polygon: no repeated or collinear points,
/// ending at the top-most (then right-most) point.
fn clean(mut points: Vec<Point>) -> Vec<[i32; 2]> {
    let cross = |a: Point, b: Point, c: Point| {
        (b[0] - a[0]) * (c[1] - b[1]) - (b[1] - a[1]) * (c[0] - b[0])
    };
    let mut changed = true;
    while changed && points.len() >= 3 {
        changed = false;
        let n = points.len();
        for i in 0..n {
            let (prev, cur, next) = (points[(i + n - 1) % n], points[i], points[(i + 1) % n]);
            if cur == prev || cross(prev, cur, next) == 0 {
                points.remove(i);
                changed = true;
                break;
            }
        }
    }
    if points.len() < 3 {
        return Vec::new();
    }
    let top = (0..points.len())
        .min_by_key(|&i| (points[i][1], -points[i][0]))
        .unwrap_or(0);
    let n = points.len();
    points.rotate_left((top + 1) % n);
    points.iter().map(|&[x, y]| [x as i32, y as i32]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_pyclipper_on_a_rectangle() {
        // pyclipper offsetting [[0.9, 0.9], [10.7, 0.9], [10.7, 5.6], [0.9, 5.6]] by 2 after
        // truncation to (0, 0)-(10, 5) gives exactly these points.
        let grown = offset_round(&[[0, 0], [10, 0], [10, 5], [0, 5]], 2.0);
        let expected = [
            [12, -1],
            [12, 5],
            [11, 7],
            [0, 7],
            [-2, 6],
            [-2, 0],
            [-1, -2],
            [10, -2],
        ];
        assert_eq!(clean(grown), expected.to_vec());
    }

    #[test]
    fn distance_is_area_times_ratio_over_perimeter() {
        // A 20x10 box: 200 * 1.5 / 60 = 5 on every side.
        let quad = [[10.0, 10.0], [30.0, 10.0], [30.0, 20.0], [10.0, 20.0]];
        let grown = unclip(&quad, 1.5);
        let xs: Vec<i32> = grown.iter().map(|p| p[0]).collect();
        let ys: Vec<i32> = grown.iter().map(|p| p[1]).collect();
        assert_eq!((xs.iter().min(), xs.iter().max()), (Some(&5), Some(&35)));
        assert_eq!((ys.iter().min(), ys.iter().max()), (Some(&5), Some(&25)));
    }

    #[test]
    fn degenerate_boxes_vanish() {
        assert!(unclip(&[[1.0, 1.0]; 4], 1.6).is_empty());
        assert!(unclip(&[[0.0, 0.0], [5.0, 0.0], [5.0, 0.5], [0.0, 0.5]], 1.6).is_empty());
    }
}

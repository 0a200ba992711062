//! `cv2.fillPoly(mask, [polygon], 1)` for 8-connected drawing, ported from OpenCV's
//! `CollectPolyEdges` and `FillEdgeCollection`: the outline is drawn with Bresenham lines and
//! the inside filled scanline by scanline in 16.16 fixed point (OpenCV 4.10+/5 rules). The detector's box scores are
//! means over exactly these pixels.

const SHIFT: u32 = 16;
const ONE: i64 = 1 << SHIFT;

/// A `width × height` 0/1 mask.
pub struct Mask {
    /// Pixels per row.
    pub width: usize,
    /// Rows.
    pub height: usize,
    /// One byte per pixel, row-major.
    pub data: Vec<u8>,
}

impl Mask {
    fn set(&mut self, x: i64, y: i64) {
        if (0..self.width as i64).contains(&x) && (0..self.height as i64).contains(&y) {
            self.data[y as usize * self.width + x as usize] = 1;
        }
    }
}

struct Edge {
    y0: i64,
    y1: i64,
    x: i64,
    dx: i64,
}

/// A `width × height` mask with `polygon` (integer vertices) filled as `cv2.fillPoly` fills it.
pub fn fill_poly(width: usize, height: usize, polygon: &[[i32; 2]]) -> Mask {
    let mut mask = Mask {
        width,
        height,
        data: vec![0; width * height],
    };
    let mut edges = Vec::with_capacity(polygon.len());
    let Some(&last) = polygon.last() else {
        return mask;
    };
    let mut p0 = [i64::from(last[0]), i64::from(last[1])];
    for &[x, y] in polygon {
        let p1 = [i64::from(x), i64::from(y)];
        line(&mut mask, p0, p1);
        // The edge runs between the (clipped) endpoints' pixel columns.
        let (mut c0, mut c1) = (p0, p1);
        let inside =
            |p: [i64; 2]| (0..width as i64).contains(&p[0]) && (0..height as i64).contains(&p[1]);
        if !inside(p0) || !inside(p1) {
            clip_line(width as i64, height as i64, &mut c0, &mut c1);
            if c0[1] == c1[1] {
                (c0[1], c1[1]) = (p0[1], p1[1]);
            }
        }
        if p0[1] != p1[1] {
            let dx = ((c1[0] - c0[0]) << SHIFT) / (c1[1] - c0[1]);
            // Start at the upper endpoint's row, extrapolating back from the clipped point.
            let (p, c, y1) = if p0[1] < p1[1] {
                (p0, c0, p1[1])
            } else {
                (p1, c1, p0[1])
            };
            edges.push(Edge {
                y0: p[1],
                y1,
                x: (c[0] << SHIFT) + (p[1] - c[1]) * dx,
                dx,
            });
        }
        p0 = p1;
    }
    fill_edges(&mut mask, edges);
    mask
}

/// OpenCV's `clipLine`: clips a segment to `[0, width) × [0, height)` in place.
fn clip_line(width: i64, height: i64, p1: &mut [i64; 2], p2: &mut [i64; 2]) {
    let (right, bottom) = (width - 1, height - 1);
    let code = |p: &[i64; 2]| {
        i32::from(p[0] < 0)
            + i32::from(p[0] > right) * 2
            + i32::from(p[1] < 0) * 4
            + i32::from(p[1] > bottom) * 8
    };
    let (mut c1, mut c2) = (code(p1), code(p2));
    if (c1 & c2) != 0 || (c1 | c2) == 0 {
        return;
    }
    if c1 & 12 != 0 {
        let a = if c1 < 8 { 0 } else { bottom };
        p1[0] += ((a - p1[1]) as f64 * (p2[0] - p1[0]) as f64 / (p2[1] - p1[1]) as f64) as i64;
        p1[1] = a;
        c1 = i32::from(p1[0] < 0) + i32::from(p1[0] > right) * 2;
    }
    if c2 & 12 != 0 {
        let a = if c2 < 8 { 0 } else { bottom };
        p2[0] += ((a - p2[1]) as f64 * (p2[0] - p1[0]) as f64 / (p2[1] - p1[1]) as f64) as i64;
        p2[1] = a;
        c2 = i32::from(p2[0] < 0) + i32::from(p2[0] > right) * 2;
    }
    if (c1 & c2) == 0 && (c1 | c2) != 0 {
        if c1 != 0 {
            let a = if c1 == 1 { 0 } else { right };
            p1[1] += ((a - p1[0]) as f64 * (p2[1] - p1[1]) as f64 / (p2[0] - p1[0]) as f64) as i64;
            p1[0] = a;
        }
        if c2 != 0 {
            let a = if c2 == 1 { 0 } else { right };
            p2[1] += ((a - p2[0]) as f64 * (p2[1] - p1[1]) as f64 / (p2[0] - p1[0]) as f64) as i64;
            p2[0] = a;
        }
    }
}

/// OpenCV's 8-connected `Line` (a `LineIterator` drawn left to right), clipped to the mask.
fn line(mask: &mut Mask, a: [i64; 2], b: [i64; 2]) {
    let (mut p, mut q) = (a, b);
    let outside = |p: [i64; 2]| {
        !(0..mask.width as i64).contains(&p[0]) || !(0..mask.height as i64).contains(&p[1])
    };
    if outside(p) || outside(q) {
        clip_line(mask.width as i64, mask.height as i64, &mut p, &mut q);
        if outside(p) || outside(q) {
            return;
        }
    }
    if q[0] < p[0] {
        std::mem::swap(&mut p, &mut q);
    }
    let (dx, dy) = (q[0] - p[0], (q[1] - p[1]).abs());
    let step_y = if q[1] < p[1] { -1 } else { 1 };
    // Walk along the longer axis; step the other one when the error goes negative.
    let (major, minor) = if dy > dx { (dy, dx) } else { (dx, dy) };
    let mut err = major - 2 * minor;
    let [mut x, mut y] = p;
    for _ in 0..=major {
        mask.set(x, y);
        let diagonal = err < 0;
        err += -2 * minor + if diagonal { 2 * major } else { 0 };
        if dy > dx {
            y += step_y;
            x += i64::from(diagonal);
        } else {
            x += 1;
            y += if diagonal { step_y } else { 0 };
        }
    }
}

/// OpenCV's `FillEdgeCollection` with an even-odd active edge list.
fn fill_edges(mask: &mut Mask, mut edges: Vec<Edge>) {
    if edges.len() < 2 {
        return;
    }
    let y_min = edges.iter().map(|e| e.y0).min().unwrap_or(0);
    let y_max = edges.iter().map(|e| e.y1).max().unwrap_or(0);
    let x_ends = edges.iter().flat_map(|e| [e.x, e.x + (e.y1 - e.y0) * e.dx]);
    let (x_min, x_max) = x_ends.fold((i64::MAX, i64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
    if y_max < 0
        || y_min >= mask.height as i64
        || x_max < 0
        || x_min >= (mask.width as i64) << SHIFT
    {
        return;
    }
    edges.sort_by_key(|e| (e.y0, e.x, e.dx));
    let total = edges.len();
    let mut next = 0;
    let mut active: Vec<usize> = Vec::new();
    for y in edges[0].y0..y_max.min(mask.height as i64) {
        let mut draw = false;
        let mut pos = 0;
        loop {
            let new_here = next < total && edges[next].y0 == y;
            if pos >= active.len() && !new_here {
                break;
            }
            if pos < active.len() && edges[active[pos]].y1 == y {
                // The edge ends on this scanline.
                active.remove(pos);
                continue;
            }
            let keep = pos.checked_sub(1);
            let starts_later = next >= total || edges[next].y0 > y;
            if pos < active.len() && (starts_later || edges[active[pos]].x < edges[next].x) {
                pos += 1;
            } else if next < total {
                active.insert(pos, next);
                next += 1;
                pos += 1;
            } else {
                break;
            }
            // Every second edge closes a span with the one before it.
            if draw && let Some(keep) = keep {
                let (a, b) = (active[keep], active[pos - 1]);
                if y >= 0 {
                    span(mask, y, edges[a].x, edges[b].x);
                }
                edges[a].x += edges[a].dx;
                edges[b].x += edges[b].dx;
            }
            draw = !draw;
        }
        // Keep the active list sorted by x (OpenCV's bubble sort, which is stable).
        active.sort_by_key(|&i| edges[i].x);
    }
}

/// One scanline between two edges: from the left edge rounded up to the right edge rounded
/// down.
fn span(mask: &mut Mask, y: i64, xa: i64, xb: i64) {
    let (left, right) = if xa > xb { (xb, xa) } else { (xa, xb) };
    let (x1, x2) = ((left + ONE - 1) >> SHIFT, right >> SHIFT);
    if x1 >= mask.width as i64 || x2 < 0 {
        return;
    }
    let (x1, x2) = (x1.max(0) as usize, x2.min(mask.width as i64 - 1) as usize);
    if x1 <= x2 {
        let row = y as usize * mask.width;
        mask.data[row + x1..=row + x2].fill(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(mask: &Mask) -> Vec<String> {
        mask.data
            .chunks(mask.width)
            .map(|row| {
                row.iter()
                    .map(|&v| if v == 1 { '#' } else { '.' })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn rectangle_includes_its_outline() {
        let mask = fill_poly(6, 5, &[[1, 1], [4, 1], [4, 3], [1, 3]]);
        assert_eq!(
            rows(&mask),
            ["......", ".####.", ".####.", ".####.", "......"]
        );
    }

    #[test]
    fn triangle_matches_cv2() {
        // cv2.fillPoly(np.zeros((6, 7), np.uint8), [np.array([[0, 0], [6, 2], [2, 5]])], 1)
        let mask = fill_poly(7, 6, &[[0, 0], [6, 2], [2, 5]]);
        assert_eq!(
            rows(&mask),
            [
                "##.....", "#####..", ".######", ".#####.", "..###..", "..#...."
            ]
        );
    }

    #[test]
    fn clips_to_the_mask() {
        let mask = fill_poly(3, 3, &[[-2, -2], [5, -2], [5, 5], [-2, 5]]);
        assert!(mask.data.iter().all(|&v| v == 1));
    }
}

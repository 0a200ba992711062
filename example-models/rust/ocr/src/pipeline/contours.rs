//! `cv2.findContours(mask, cv2.RETR_LIST, cv2.CHAIN_APPROX_SIMPLE)`, ported from OpenCV's
//! border following (Suzuki & Abe): the outer border of every 8-connected region and the
//! border of every hole, each as the corner points of its chain, in OpenCV's order. The
//! detector's boxes come from these points, so matching them matters for matching rapidocr.

/// The eight chain directions, counter-clockwise from "right", in image coordinates
/// (y grows downwards), as OpenCV numbers them.
const STEPS: [(isize, isize); 8] = [
    (1, 0),
    (1, -1),
    (0, -1),
    (-1, -1),
    (-1, 0),
    (-1, 1),
    (0, 1),
    (1, 1),
];

/// A traced border pixel that is not a right edge.
const VISITED: i8 = 2;
/// A traced border pixel with background to its right (OpenCV's `nbd | -128`); a hole is
/// never started from such a pixel again.
const RIGHT_EDGE: i8 = 2 | -128;

/// The borders of the non-zero pixels of a `width × height` mask, as `findContours` with
/// `RETR_LIST` and `CHAIN_APPROX_SIMPLE` returns them: each border's points as `[x, y]`, only
/// where the chain changes direction, and the borders in reverse order of discovery.
pub fn find_contours(mask: &[u8], width: usize, height: usize) -> Vec<Vec<[i32; 2]>> {
    // OpenCV traces on a copy with a one-pixel zero border, so regions may touch the edges.
    let stride = width + 2;
    let mut img = vec![0i8; stride * (height + 2)];
    for y in 0..height {
        for x in 0..width {
            img[(y + 1) * stride + x + 1] = i8::from(mask[y * width + x] != 0);
        }
    }
    let mut contours = Vec::new();
    for y in 1..=height {
        let mut prev = 0i8;
        for x in 1..=width {
            let at = y * stride + x;
            let p = img[at];
            if p == prev {
                continue;
            }
            let start = if prev == 0 && p == 1 {
                Some((at, false))
            } else if p == 0 && prev >= 1 {
                Some((at - 1, true))
            } else {
                None
            };
            prev = p;
            if let Some((origin, hole)) = start {
                contours.push(trace(&mut img, stride, origin, hole));
                // The scan resumes with the pixel as the trace left it.
                prev = img[at];
            }
        }
    }
    contours.reverse();
    contours
}

/// OpenCV's `icvFetchContour`: follows one border from `origin`, marking its pixels, and
/// returns its chain's corner points in unpadded coordinates.
fn trace(img: &mut [i8], stride: usize, origin: usize, hole: bool) -> Vec<[i32; 2]> {
    let delta = |s: usize| STEPS[s & 7].0 + STEPS[s & 7].1 * stride as isize;
    let offset = |at: usize, s: usize| at.wrapping_add_signed(delta(s));
    let mut point = [(origin % stride) as i32 - 1, (origin / stride) as i32 - 1];
    let mut out = Vec::new();
    // The first neighbour clockwise from the left (outer border) or right (hole).
    let s_end = if hole { 0 } else { 4 };
    let mut s = s_end;
    let first = loop {
        s = (s + 7) & 7;
        let next = offset(origin, s);
        if img[next] != 0 || s == s_end {
            break next;
        }
    };
    if s == s_end {
        // A single pixel.
        img[origin] = RIGHT_EDGE;
        out.push(point);
        return out;
    }
    let mut current = origin;
    let mut prev_s = s ^ 4;
    loop {
        // Search counter-clockwise from the direction we came from for the next border pixel.
        let s_end = s;
        let mut next = current;
        while s < 15 {
            s += 1;
            next = offset(current, s);
            if img[next] != 0 {
                break;
            }
        }
        s &= 7;
        if s.wrapping_sub(1) < s_end {
            img[current] = RIGHT_EDGE;
        } else if img[current] == 1 {
            img[current] = VISITED;
        }
        if s != prev_s {
            out.push(point);
            prev_s = s;
        }
        point[0] += STEPS[s].0 as i32;
        point[1] += STEPS[s].1 as i32;
        if next == origin && current == first {
            break;
        }
        current = next;
        s = (s + 4) & 7;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(rows: &[&str]) -> (Vec<u8>, usize, usize) {
        let width = rows[0].len();
        let data = rows
            .iter()
            .flat_map(|row| row.bytes().map(|b| u8::from(b == b'#')))
            .collect();
        (data, width, rows.len())
    }

    #[test]
    fn rectangle_corners_counter_clockwise_from_top_left() {
        let (data, w, h) = mask(&["......", ".####.", ".####.", ".####.", "......"]);
        // cv2: [[1, 1], [1, 3], [4, 3], [4, 1]]
        assert_eq!(
            find_contours(&data, w, h),
            vec![vec![[1, 1], [1, 3], [4, 3], [4, 1]]]
        );
    }

    #[test]
    fn order_is_reverse_discovery_and_holes_count() {
        let (data, w, h) = mask(&[
            "##.......",
            "##...###.",
            ".....#.#.",
            ".....###.",
            "#........",
        ]);
        let contours = find_contours(&data, w, h);
        // As cv2 gives them; discovered as the top-left block, the ring, its hole, the pixel.
        assert_eq!(contours.len(), 4);
        assert_eq!(contours[0], vec![[0, 4]]);
        // The hole's border is its four 4-neighbours, found just after the ring.
        assert_eq!(contours[1], vec![[5, 2], [6, 1], [7, 2], [6, 3]]);
        assert_eq!(contours[2], vec![[5, 1], [5, 3], [7, 3], [7, 1]]);
        assert_eq!(contours[3], vec![[0, 0], [0, 1], [1, 1], [1, 0]]);
    }

    #[test]
    fn touches_the_image_edges() {
        let (data, w, h) = mask(&["###", "###"]);
        assert_eq!(
            find_contours(&data, w, h),
            vec![vec![[0, 0], [0, 1], [2, 1], [2, 0]]]
        );
    }
}

//! `cv::convexHull(points, hull, clockwise=true)` for integer points, ported from OpenCV
//! (Sklansky's scan over the x-sorted points), including the order it returns the vertices
//! in: `minAreaRect` walks the hull from its first vertex, and its float rounding and its
//! tie-breaking depend on where that walk starts.

type Point = [i32; 2];

fn sign(v: i64) -> i64 {
    v.signum()
}

/// OpenCV's `Sklansky_`: the chain from `start` towards `end` (indices into the sorted
/// points), written to `stack`; returns its length.
fn sklansky(
    sorted: &[Point],
    start: usize,
    end: usize,
    stack: &mut [usize],
    nsign: i64,
    sign2: i64,
) -> usize {
    let at = |i: isize| sorted[i as usize];
    let incr: isize = if end > start { 1 } else { -1 };
    let (start, end) = (start as isize, end as isize);
    let (mut pprev, mut pcur) = (start, start + incr);
    let mut pnext = pcur + incr;
    if start == end || at(start) == at(end) {
        stack[0] = start as usize;
        return 1;
    }
    let mut size = 3;
    stack[0] = pprev as usize;
    stack[1] = pcur as usize;
    stack[2] = pnext as usize;
    let after_end = end + incr;
    while pnext != after_end {
        let (prev, cur, next) = (at(pprev), at(pcur), at(pnext));
        let by = i64::from(next[1]) - i64::from(cur[1]);
        if sign(by) != nsign {
            let a = [i64::from(cur[0] - prev[0]), i64::from(cur[1] - prev[1])];
            let b = [i64::from(next[0] - cur[0]), by];
            let convexity = a[1] * b[0] - a[0] * b[1];
            if sign(convexity) == sign2 && (a[0] != 0 || a[1] != 0) {
                pprev = pcur;
                pcur = pnext;
                pnext += incr;
                stack[size] = pnext as usize;
                size += 1;
            } else if pprev == start {
                pcur = pnext;
                stack[1] = pcur as usize;
                pnext += incr;
                stack[2] = pnext as usize;
            } else {
                stack[size - 2] = pnext as usize;
                pcur = pprev;
                pprev = stack[size - 4] as isize;
                size -= 1;
            }
        } else {
            pnext += incr;
            stack[size - 1] = pnext as usize;
        }
    }
    size - 1
}

/// The convex hull of `points` as `cv::convexHull(points, hull, clockwise)` returns it:
/// collinear points dropped, in OpenCV's orientation (its "clockwise" is counter-clockwise on
/// screen, where y grows downwards) and starting where OpenCV starts it.
pub fn convex_hull(points: &[Point], clockwise: bool) -> Vec<Point> {
    let total = points.len();
    if total == 0 {
        return Vec::new();
    }
    // Sort indices by (x, y), ties by position, as OpenCV sorts pointers.
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by_key(|&i| (points[i][0], points[i][1], i));
    let sorted: Vec<Point> = order.iter().map(|&i| points[i]).collect();
    let (mut miny, mut maxy) = (0, 0);
    for (i, p) in sorted.iter().enumerate().skip(1) {
        if sorted[miny][1] > p[1] {
            miny = i;
        }
        if sorted[maxy][1] < p[1] {
            maxy = i;
        }
    }
    let mut hull: Vec<usize> = Vec::new();
    if sorted[0] == sorted[total - 1] {
        hull.push(0);
    } else {
        // Both chains of a half share one buffer, as in OpenCV.
        let mut stack = vec![0usize; total + 2];
        let n = sklansky(&sorted, 0, maxy, &mut stack, -1, 1);
        let m = sklansky(&sorted, total - 1, maxy, &mut stack[n..], -1, -1);
        let (mut tl, mut tr) = (stack[..n].to_vec(), stack[n..n + m].to_vec());
        if !clockwise {
            std::mem::swap(&mut tl, &mut tr);
        }
        hull.extend(&tl[..tl.len() - 1]);
        hull.extend(tr[1..].iter().rev());
        let stop = if tr.len() > 2 {
            Some(tr[1])
        } else if tl.len() > 2 {
            Some(tl[tl.len() - 2])
        } else {
            None
        };
        let n = sklansky(&sorted, 0, miny, &mut stack, 1, -1);
        let m = sklansky(&sorted, total - 1, miny, &mut stack[n..], 1, 1);
        let (mut bl, mut br) = (stack[..n].to_vec(), stack[n..n + m].to_vec());
        if clockwise {
            std::mem::swap(&mut bl, &mut br);
        }
        if let Some(stop) = stop {
            let check = if bl.len() > 2 {
                Some(bl[1])
            } else if bl.len() + br.len() > 2 {
                Some(br[2 - bl.len()])
            } else {
                None
            };
            if check.is_some_and(|c| c == stop || sorted[c] == sorted[stop]) {
                // All points on one line: the bottom chain mirrors the top one.
                bl.truncate(2);
                br.truncate(2);
            }
        }
        hull.extend(&bl[..bl.len() - 1]);
        hull.extend(br[1..].iter().rev());
    }
    let mut indices: Vec<usize> = hull.iter().map(|&i| order[i]).collect();
    rotate_to_monotonic(&mut indices);
    indices.into_iter().map(|i| points[i]).collect()
}

/// OpenCV's final step: rotate the hull so that its input indices ascend (or descend), when
/// some rotation makes them do so.
fn rotate_to_monotonic(hull: &mut Vec<usize>) {
    let n = hull.len();
    if n < 3 {
        return;
    }
    let (mut min_i, mut max_i, mut lt) = (0, 0, 0);
    for i in 1..n {
        let idx = hull[i];
        lt += usize::from(hull[i - 1] < idx);
        if lt > 1 && lt + 2 <= i {
            break;
        }
        if idx < hull[min_i] {
            min_i = i;
        }
        if idx > hull[max_i] {
            max_i = i;
        }
    }
    let dist = min_i.abs_diff(max_i);
    if !((dist == 1 || dist == n - 1) && (lt <= 1 || lt + 2 >= n)) {
        return;
    }
    let ascending = (max_i + 1) % n == min_i;
    let i0 = if ascending { min_i } else { max_i };
    if i0 == 0 {
        return;
    }
    let rotated: Vec<usize> = (0..n).map(|k| hull[(i0 + k) % n]).collect();
    let monotonic = rotated
        .windows(2)
        .all(|pair| ascending == (pair[0] < pair[1]));
    if monotonic {
        *hull = rotated;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_inner_and_collinear_points() {
        // cv2.convexHull(pts, clockwise=True) == [[0, 4], [4, 4], [4, 0], [0, 0]]
        let points = [
            [0, 0],
            [2, 0],
            [4, 0],
            [4, 2],
            [4, 4],
            [2, 4],
            [0, 4],
            [0, 2],
            [1, 1],
        ];
        assert_eq!(
            convex_hull(&points, true),
            vec![[0, 4], [4, 4], [4, 0], [0, 0]]
        );
    }

    #[test]
    fn starts_where_the_contour_order_allows() {
        // A contour from cv2.findContours (counter-clockwise on screen from the top-left):
        // the hull keeps its order and start.
        let contour = [[3, 2], [3, 4], [7, 4], [7, 2]];
        assert_eq!(convex_hull(&contour, true), contour.to_vec());
        // cv2.convexHull(contour, clockwise=False)
        assert_eq!(
            convex_hull(&contour, false),
            vec![[7, 2], [7, 4], [3, 4], [3, 2]]
        );
    }

    #[test]
    fn degenerate_inputs() {
        assert_eq!(convex_hull(&[], true), Vec::<Point>::new());
        assert_eq!(convex_hull(&[[5, 5], [5, 5]], false), vec![[5, 5]]);
        assert_eq!(convex_hull(&[[0, 0], [3, 3], [1, 1]], true).len(), 2);
    }
}

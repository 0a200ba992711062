//! The whole pipeline against a scripted stand-in for the three networks.

use super::*;

/// Scripted networks: the detector marks one rectangle (given as fractions of its input), the
/// classifier answers "180" or "0", the recogniser spells `text` (indices into the labels).
struct Scripted {
    region: Option<[f32; 4]>,
    upside_down: bool,
    text: Vec<usize>,
    prob: f32,
    calls: Vec<(Graph, Vec<usize>)>,
}

impl Scripted {
    fn new(region: Option<[f32; 4]>, text: &[usize]) -> Self {
        Scripted {
            region,
            upside_down: false,
            text: text.to_vec(),
            prob: 0.9,
            calls: Vec::new(),
        }
    }
}

impl Infer for Scripted {
    fn run(&mut self, graph: Graph, input: Tensor) -> Result<Tensor, String> {
        self.calls.push((graph, input.dims.clone()));
        let n = input.dims[0];
        match graph {
            Graph::Det => {
                let (h, w) = (input.dims[2], input.dims[3]);
                let mut data = vec![0.0; h * w];
                if let Some([x0, y0, x1, y1]) = self.region {
                    for y in (y0 * h as f32) as usize..(y1 * h as f32) as usize {
                        for x in (x0 * w as f32) as usize..(x1 * w as f32) as usize {
                            data[y * w + x] = 0.95;
                        }
                    }
                }
                Ok(Tensor {
                    dims: vec![1, 1, h, w],
                    data,
                })
            }
            Graph::Cls => {
                let p = if self.upside_down {
                    [0.02, 0.98]
                } else {
                    [0.98, 0.02]
                };
                Ok(Tensor {
                    dims: vec![n, 2],
                    data: p.repeat(n),
                })
            }
            Graph::Rec => {
                // Four labels: blank, "a", "b", " "; each character then a blank.
                let steps = input.dims[3] / 8;
                let mut data = Vec::new();
                for _ in 0..n {
                    for t in 0..steps {
                        let class = if t % 2 == 0 {
                            self.text.get(t / 2).copied().unwrap_or(0)
                        } else {
                            0
                        };
                        let mut step = [(1.0 - self.prob) / 3.0; 4];
                        step[class] = self.prob;
                        data.extend(step);
                    }
                }
                Ok(Tensor {
                    dims: vec![n, steps, 4],
                    data,
                })
            }
        }
    }
}

fn keys() -> Vec<String> {
    vec!["a".to_string(), "b".to_string()]
}

fn white(width: usize, height: usize) -> RgbImage {
    RgbImage::filled(width, height, [255, 255, 255])
}

#[test]
fn reads_a_line_and_maps_its_box_back() {
    let mut infer = Scripted::new(Some([0.25, 0.4, 0.75, 0.6]), &[1, 2]);
    let lines = ocr(&white(400, 200), &mut infer, &keys(), &Options::default()).expect("runs");
    assert_eq!(lines.len(), 1);
    let line = &lines[0];
    assert_eq!(line.text, "ab");
    assert!((line.score - 0.9).abs() < 1e-6);
    // The marked rectangle is x 100..300, y 80..120 in the original image, grown by unclip.
    let [tl, tr, br, bl] = line.points;
    assert!(
        tl[0] < 100.0 && tl[0] > 70.0 && tl[1] < 80.0 && tl[1] > 50.0,
        "{:?}",
        line.points
    );
    assert!(
        br[0] > 300.0 && br[0] < 330.0 && br[1] > 120.0 && br[1] < 150.0,
        "{:?}",
        line.points
    );
    assert!(tr[0] > tl[0] && tr[1] == tl[1] && bl[0] == tl[0] && bl[1] == br[1]);
    // Detection on 736 rows (the shorter side scaled up), then the classifier, the recogniser.
    let graphs: Vec<Graph> = infer.calls.iter().map(|c| c.0).collect();
    assert_eq!(graphs, [Graph::Det, Graph::Cls, Graph::Rec]);
    assert_eq!(infer.calls[0].1, [1, 3, 736, 1472]);
    assert_eq!(infer.calls[1].1, [1, 3, 48, 192]);
    assert!(infer.calls[2].1[3] >= 320);
}

#[test]
fn low_scores_and_empty_images_give_no_lines() {
    let mut infer = Scripted::new(Some([0.25, 0.4, 0.75, 0.6]), &[1]);
    infer.prob = 0.4;
    assert!(
        ocr(&white(400, 200), &mut infer, &keys(), &Options::default())
            .expect("runs")
            .is_empty()
    );
    let mut blank = Scripted::new(None, &[1]);
    assert!(
        ocr(&white(400, 200), &mut blank, &keys(), &Options::default())
            .expect("runs")
            .is_empty()
    );
    // Nothing detected: neither line model runs.
    assert_eq!(blank.calls.len(), 1);
}

#[test]
fn flat_images_are_padded_and_boxes_mapped_out_of_the_padding() {
    // 1000x50 is wider than 8:1: 100 rows of black above and below before detection.
    let mut infer = Scripted::new(Some([0.1, 0.45, 0.5, 0.55]), &[2]);
    let lines = ocr(&white(1000, 50), &mut infer, &keys(), &Options::default()).expect("runs");
    assert_eq!(infer.calls[0].1, [1, 3, 736, 2944]);
    assert_eq!(lines.len(), 1);
    for [x, y] in lines[0].points {
        assert!(
            (0.0..=1000.0).contains(&x) && (0.0..=50.0).contains(&y),
            "{:?}",
            lines[0].points
        );
    }
    assert!(
        lines[0].points[0][0] > 70.0 && lines[0].points[1][0] < 530.0,
        "{:?}",
        lines[0].points
    );
}

#[test]
fn upside_down_lines_are_turned_before_recognition() {
    let mut image = white(400, 200);
    // A dark left half inside the line: turned, the recogniser sees it on the right.
    for y in 80..120 {
        for x in 100..200 {
            image.data[(y * 400 + x) * 3..(y * 400 + x) * 3 + 3].fill(0);
        }
    }
    struct Probe(Scripted, Vec<f32>);
    impl Infer for Probe {
        fn run(&mut self, graph: Graph, input: Tensor) -> Result<Tensor, String> {
            if graph == Graph::Rec {
                self.1 = input.data.clone();
            }
            self.0.run(graph, input)
        }
    }
    let mut probe = Probe(
        Scripted::new(Some([0.25, 0.4, 0.75, 0.6]), &[1]),
        Vec::new(),
    );
    probe.0.upside_down = true;
    ocr(&image, &mut probe, &keys(), &Options::default()).expect("runs");
    let width = probe.0.calls[2].1[3];
    let row = &probe.1[24 * width..25 * width];
    // -1 is black, 1 is white; the scaled line starts at column 0.
    assert!(
        row[5] > 0.9 && row[60] > 0.9,
        "white on the left after turning"
    );
    assert!(row.iter().any(|&v| v < -0.9), "black is still there");
}

#[test]
fn regions_read_their_lines_or_the_whole_crop() {
    let options = Options::default();
    let mut found = Scripted::new(Some([0.2, 0.3, 0.8, 0.7]), &[1, 3, 2]);
    let read = read_region(
        &white(400, 200),
        [50.0, 40.0, 300.0, 120.0],
        &mut found,
        &keys(),
        &options,
    );
    assert_eq!(read.expect("runs"), Some(("a b".to_string(), 0.9)));
    // Nothing detected: the crop itself is the line (no detection call after the first).
    let mut blank = Scripted::new(None, &[2]);
    let read = read_region(
        &white(400, 200),
        [10.5, 10.2, 100.0, 30.0],
        &mut blank,
        &keys(),
        &options,
    );
    assert_eq!(read.expect("runs").map(|r| r.0), Some("b".to_string()));
    let graphs: Vec<Graph> = blank.calls.iter().map(|c| c.0).collect();
    assert_eq!(graphs, [Graph::Det, Graph::Cls, Graph::Rec]);
    // Outside the image, or nothing readable.
    let mut none = Scripted::new(None, &[]);
    assert_eq!(
        read_region(
            &white(40, 20),
            [50.0, 0.0, 10.0, 10.0],
            &mut none,
            &keys(),
            &options
        ),
        Ok(None)
    );
    assert_eq!(
        read_region(
            &white(40, 20),
            [0.0, 0.0, 40.0, 20.0],
            &mut none,
            &keys(),
            &options
        ),
        Ok(None)
    );
    assert!(
        read_region(
            &white(40, 20),
            [f32::NAN, 0.0, 1.0, 1.0],
            &mut none,
            &keys(),
            &options
        )
        .is_err()
    );
}

#[test]
fn misbehaving_networks_give_errors() {
    struct Broken(Graph, Tensor);
    impl Infer for Broken {
        fn run(&mut self, graph: Graph, input: Tensor) -> Result<Tensor, String> {
            if graph == self.0 {
                return Ok(self.1.clone());
            }
            Scripted::new(Some([0.25, 0.4, 0.75, 0.6]), &[1]).run(graph, input)
        }
    }
    // Increasing values, so that the last class wins (beyond the labels where that matters).
    let bad = |graph, dims: Vec<usize>, len: usize| {
        let data = (0..len).map(|i| i as f32 / len as f32).collect();
        Broken(graph, Tensor { dims, data })
    };
    let image = white(400, 200);
    let options = Options::default();
    for mut infer in [
        bad(Graph::Det, vec![1, 1, 10, 10], 99),
        bad(Graph::Det, vec![10, 10], 100),
        bad(Graph::Cls, vec![3, 2], 6),
        bad(Graph::Cls, vec![1, 5], 5),
        bad(Graph::Rec, vec![1, 4, 9], 36),
    ] {
        assert!(ocr(&image, &mut infer, &keys(), &options).is_err());
    }
    struct Failing;
    impl Infer for Failing {
        fn run(&mut self, _: Graph, _: Tensor) -> Result<Tensor, String> {
            Err("no backend".to_string())
        }
    }
    assert_eq!(
        ocr(&image, &mut Failing, &keys(), &options),
        Err("no backend".to_string())
    );
    let broken_image = RgbImage {
        width: 10,
        height: 10,
        data: vec![0; 3],
    };
    assert!(ocr(&broken_image, &mut Failing, &keys(), &options).is_err());
}

//! Compares the Rust pipeline with rapidocr_onnxruntime 1.4.4 on real images, with the same
//! ONNX Runtime sessions behind both (a development tool; it needs Python with
//! `rapidocr-onnxruntime==1.4.4`, e.g. a venv made by
//! `python3 -m venv V && V/bin/pip install rapidocr-onnxruntime==1.4.4 onnxruntime==1.22.1`):
//!
//! ```text
//! cargo run --release --manifest-path example-models/rust/Cargo.toml -p ocr --example compare -- V/bin/python IMAGE...
//! ```
//!
//! For each image it prints both results and whether the boxes and texts agree, and the
//! largest score difference.

use std::error::Error;
use std::io::{Read, Write};
use std::process::{ChildStdin, ChildStdout, Command, Stdio};

use ocr::pipeline::{self, Graph, Infer, OcrLine, Options, Tensor};

/// The Python side: its sessions for [`Infer`], and rapidocr for reference results.
struct Reference {
    stdin: ChildStdin,
    stdout: ChildStdout,
}

impl Reference {
    fn read_u32(&mut self) -> std::io::Result<u32> {
        let mut word = [0; 4];
        self.stdout.read_exact(&mut word)?;
        Ok(u32::from_le_bytes(word))
    }

    fn read_text(&mut self) -> std::io::Result<String> {
        let mut text = vec![0; self.read_u32()? as usize];
        self.stdout.read_exact(&mut text)?;
        String::from_utf8(text).map_err(std::io::Error::other)
    }

    fn request_text(&mut self, op: &[u8], arg: &str) -> std::io::Result<String> {
        let mut message = op.to_vec();
        if !arg.is_empty() {
            message.extend((arg.len() as u32).to_le_bytes());
            message.extend(arg.as_bytes());
        }
        self.stdin.write_all(&message)?;
        self.stdin.flush()?;
        self.read_text()
    }

    fn tensor(&mut self, graph: Graph, input: &Tensor) -> std::io::Result<Tensor> {
        let op = match graph {
            Graph::Det => b'D',
            Graph::Cls => b'C',
            Graph::Rec => b'R',
        };
        let mut message = vec![op];
        message.extend((input.dims.len() as u32).to_le_bytes());
        input
            .dims
            .iter()
            .for_each(|&d| message.extend((d as u64).to_le_bytes()));
        input
            .data
            .iter()
            .for_each(|v| message.extend(v.to_le_bytes()));
        self.stdin.write_all(&message)?;
        self.stdin.flush()?;
        let rank = self.read_u32()? as usize;
        let mut raw = vec![0; 8 * rank];
        self.stdout.read_exact(&mut raw)?;
        let dims: Vec<usize> = raw
            .chunks_exact(8)
            .map(|d| u64::from_le_bytes(d.try_into().unwrap_or_default()) as usize)
            .collect();
        let mut raw = vec![0; 4 * dims.iter().product::<usize>()];
        self.stdout.read_exact(&mut raw)?;
        let data = raw
            .chunks_exact(4)
            .map(|v| f32::from_le_bytes(v.try_into().unwrap_or_default()))
            .collect();
        Ok(Tensor { dims, data })
    }
}

impl Infer for Reference {
    fn run(&mut self, graph: Graph, input: Tensor) -> Result<Tensor, String> {
        self.tensor(graph, &input).map_err(|e| e.to_string())
    }
}

/// One of rapidocr's result lines: "x0 y0 ... y3<TAB>score<TAB>text".
fn parse_line(row: &str) -> Option<OcrLine> {
    let mut fields = row.splitn(3, '\t');
    let coords: Vec<f32> = fields
        .next()?
        .split(' ')
        .filter_map(|v| v.parse().ok())
        .collect();
    let score = fields.next()?.parse().ok()?;
    let text = fields.next()?.to_string();
    let point = |i: usize| Some([*coords.get(2 * i)?, *coords.get(2 * i + 1)?]);
    let points = [point(0)?, point(1)?, point(2)?, point(3)?];
    Some(OcrLine {
        points,
        text,
        score,
    })
}

fn main() -> Result<(), Box<dyn Error>> {
    let mut args = std::env::args().skip(1);
    let python = args.next().ok_or("usage: compare PYTHON IMAGE...")?;
    let server = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/compare_server.py");
    let mut child = Command::new(python)
        .arg(server)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let (stdin, stdout) = (child.stdin.take(), child.stdout.take());
    let mut reference = Reference {
        stdin: stdin.ok_or("no stdin")?,
        stdout: stdout.ok_or("no stdout")?,
    };
    let keys = pipeline::keys_from_metadata(&reference.request_text(b"K", "")?);
    let mut all_agree = true;
    for path in args {
        let image = pipeline::decode_image(&std::fs::read(&path)?)?;
        let ours = pipeline::ocr(&image, &mut reference, &keys, &Options::default())?;
        let theirs: Vec<OcrLine> = reference
            .request_text(b"O", &path)?
            .lines()
            .filter_map(parse_line)
            .collect();
        println!("== {path}");
        let mut score_diff = 0f32;
        let same = ours.len() == theirs.len()
            && ours.iter().zip(&theirs).all(|(a, b)| {
                score_diff = score_diff.max((a.score - b.score).abs());
                a.points == b.points && a.text == b.text
            });
        for (i, line) in ours.iter().enumerate() {
            println!("ours   {:?} {:?} {:.5}", line.points, line.text, line.score);
            if let Some(other) = theirs
                .get(i)
                .filter(|o| o.points != line.points || o.text != line.text)
            {
                println!(
                    "theirs {:?} {:?} {:.5}",
                    other.points, other.text, other.score
                );
            }
        }
        println!(
            "{} lines ({} from rapidocr): {}, largest score difference {score_diff:.6}",
            ours.len(),
            theirs.len(),
            if same {
                "same boxes and texts"
            } else {
                "DIFFERENT"
            }
        );
        all_agree &= same;
    }
    drop(reference);
    child.wait()?;
    if all_agree {
        Ok(())
    } else {
        Err("the results differ".into())
    }
}

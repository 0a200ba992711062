//! The boundary to the neural networks: the pipeline only prepares their inputs and reads
//! their outputs, the inference itself runs elsewhere (in the real model, on the host through
//! `wasi:nn`).

/// Which of the three PP-OCR graphs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Graph {
    /// The text detector (DB): `[1, 3, H, W]` in, a `[1, 1, H, W]` probability map out.
    Det,
    /// The text-direction classifier: `[N, 3, 48, 192]` in, `[N, 2]` probabilities out.
    Cls,
    /// The text recogniser (CRNN/SVTR with CTC): `[N, 3, 48, W]` in, `[N, T, C]` out.
    Rec,
}

/// A dense row-major f32 tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// The extent of each dimension, outermost first.
    pub dims: Vec<usize>,
    /// The elements, row-major; `data.len()` is the product of `dims`.
    pub data: Vec<f32>,
}

/// Runs one graph on one input (each graph has exactly one input and one output that matter).
pub trait Infer {
    /// Runs `graph` on `input` and returns its output.
    fn run(&mut self, graph: Graph, input: Tensor) -> Result<Tensor, String>;
}

/// Runs `graph` and checks that the output is consistent: its dims multiply to its length and
/// it has the rank the stage expects (a misbehaving backend must give an error, not a panic).
pub(crate) fn run_checked(
    infer: &mut impl Infer,
    graph: Graph,
    input: Tensor,
    rank: usize,
) -> Result<Tensor, String> {
    let output = infer.run(graph, input)?;
    let elements = output
        .dims
        .iter()
        .try_fold(1usize, |product, &dim| product.checked_mul(dim));
    if elements != Some(output.data.len()) {
        return Err(format!(
            "{graph:?} output has dims {:?} but {} values",
            output.dims,
            output.data.len()
        ));
    }
    if output.dims.len() != rank {
        return Err(format!(
            "{graph:?} output has dims {:?}, expected {rank} dimensions",
            output.dims
        ));
    }
    Ok(output)
}

//! Runs the `wasi:nn` calls the first task's `data.nn` describes, and answers one prediction
//! slot per task reporting what the host answered, so tests can check every path of the host
//! side of `wasi:nn`, including the inputs a careful SDK would never send:
//!
//! ```json
//! {"graph": "add", "repeat": 1, "inputs": [
//!     {"name": "a", "type": "FP32", "dims": [2], "values": [1, 2]},
//!     {"name": "b", "type": "FP32", "dims": [2], "fill": 0.5, "bytes": 8}]}
//! ```
//! `values` are the elements (FP16/BF16 as their bit patterns), `fill` repeats one value over
//! the dimensions' product (or over `bytes` bytes when given, to send a wrong length).
//! `{"load_bytes": true}` calls `graph.load` with a few bytes instead.
//!
//! The slot is `{"result": [], "outputs": [{"name", "type", "dims", "values"}]}` (values
//! summarised as `{"count", "sum", "first"}` past 64 elements), or `{"result": [], "error":
//! {"code", "message"}}`.

wit_bindgen::generate!({ path: "../../../wit", world: "model", generate_all });

use serde_json::{Value, json};
use wasi::nn::errors::{Error as NnError, ErrorCode};
use wasi::nn::graph::{self, ExecutionTarget, GraphEncoding};
use wasi::nn::tensor::{Tensor, TensorType};

struct Probe;

impl Guest for Probe {
    fn info() -> ModelInfo {
        ModelInfo {
            name: "nn-probe".into(),
            version: "0.0.1".into(),
            description: "Reports what the host's wasi:nn answers, for tests.".into(),
            interactive: false,
        }
    }

    fn predict(
        _: Request,
        tasks: Vec<String>,
        _: Option<String>,
    ) -> Result<Vec<String>, ModelError> {
        let task: Value = tasks
            .first()
            .and_then(|t| serde_json::from_str(t).ok())
            .ok_or_else(|| ModelError::InvalidInput("no task".into()))?;
        let spec = &task["data"]["nn"];
        let answer = match run(spec) {
            Ok(outputs) => json!({"result": [], "outputs": outputs}),
            Err(error) => json!({"result": [], "error": error}),
        };
        Ok(tasks.iter().map(|_| answer.to_string()).collect())
    }

    fn fit(_: Request, _: String, _: String) -> Result<FitOutcome, ModelError> {
        Ok(FitOutcome {
            result: String::new(),
            trained: false,
        })
    }
}

fn run(spec: &Value) -> Result<Vec<Value>, Value> {
    if spec["load_bytes"].as_bool() == Some(true) {
        let loaded = graph::load(
            &[vec![8, 1, 2, 3]],
            GraphEncoding::Onnx,
            ExecutionTarget::Cpu,
        );
        return loaded.map(|_| Vec::new()).map_err(|e| error(&e));
    }
    let name = spec["graph"].as_str().unwrap_or_default();
    let graph = graph::load_by_name(name).map_err(|e| error(&e))?;
    let context = graph.init_execution_context().map_err(|e| error(&e))?;
    let repeat = spec["repeat"].as_u64().unwrap_or(1).max(1);
    let mut last = Vec::new();
    for _ in 0..repeat {
        let mut inputs = Vec::new();
        for input in spec["inputs"].as_array().into_iter().flatten() {
            inputs.push((
                input["name"].as_str().unwrap_or_default().to_owned(),
                tensor(input),
            ));
        }
        last = context.compute(inputs).map_err(|e| error(&e))?;
    }
    Ok(last
        .into_iter()
        .map(|(name, t)| {
            let ty = t.ty();
            let values = values(ty, &t.data());
            json!({"name": name, "type": type_name(ty), "dims": t.dimensions(), "values": values})
        })
        .collect())
}

fn tensor(input: &Value) -> Tensor {
    let ty = match input["type"].as_str().unwrap_or_default() {
        "FP16" => TensorType::Fp16,
        "FP64" => TensorType::Fp64,
        "BF16" => TensorType::Bf16,
        "U8" => TensorType::U8,
        "I32" => TensorType::I32,
        "I64" => TensorType::I64,
        _ => TensorType::Fp32,
    };
    let dims: Vec<u32> = input["dims"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_u64().map(|d| d as u32))
        .collect();
    let size = element_size(ty);
    let data: Vec<u8> = match input["values"].as_array() {
        Some(values) => values.iter().flat_map(|v| encode(ty, v)).collect(),
        None => {
            let one = encode(ty, &input["fill"]);
            let bytes = input["bytes"].as_u64().map_or_else(
                || dims.iter().map(|&d| d as usize).product::<usize>() * size,
                |b| b as usize,
            );
            // `repeat`, not an iterator: a large input must cost the guest next to nothing,
            // so a test of the inference's deadline spends its budget inside the inference.
            let mut data = one.repeat(bytes.div_ceil(one.len().max(1)));
            data.truncate(bytes);
            data
        }
    };
    Tensor::new(&dims, ty, &data)
}

fn element_size(ty: TensorType) -> usize {
    match ty {
        TensorType::U8 => 1,
        TensorType::Fp16 | TensorType::Bf16 => 2,
        TensorType::Fp32 | TensorType::I32 => 4,
        TensorType::Fp64 | TensorType::I64 => 8,
    }
}

fn encode(ty: TensorType, value: &Value) -> Vec<u8> {
    let number = value.as_f64().unwrap_or(0.0);
    match ty {
        TensorType::Fp32 => (number as f32).to_le_bytes().to_vec(),
        TensorType::Fp64 => number.to_le_bytes().to_vec(),
        TensorType::Fp16 | TensorType::Bf16 => (number as u16).to_le_bytes().to_vec(),
        TensorType::U8 => vec![number as u8],
        TensorType::I32 => (number as i32).to_le_bytes().to_vec(),
        TensorType::I64 => (number as i64).to_le_bytes().to_vec(),
    }
}

fn values(ty: TensorType, data: &[u8]) -> Value {
    let size = element_size(ty);
    let numbers: Vec<f64> = data
        .chunks_exact(size)
        .map(|c| match ty {
            TensorType::Fp32 => f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            TensorType::Fp64 => {
                f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])
            }
            TensorType::Fp16 | TensorType::Bf16 => f64::from(u16::from_le_bytes([c[0], c[1]])),
            TensorType::U8 => f64::from(c[0]),
            TensorType::I32 => f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])),
            TensorType::I64 => {
                i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f64
            }
        })
        .collect();
    if numbers.len() <= 64 {
        json!(numbers)
    } else {
        json!({
            "count": numbers.len(),
            "sum": numbers.iter().sum::<f64>(),
            "first": &numbers[..8],
        })
    }
}

fn type_name(ty: TensorType) -> &'static str {
    match ty {
        TensorType::Fp16 => "FP16",
        TensorType::Fp32 => "FP32",
        TensorType::Fp64 => "FP64",
        TensorType::Bf16 => "BF16",
        TensorType::U8 => "U8",
        TensorType::I32 => "I32",
        TensorType::I64 => "I64",
    }
}

fn error(error: &NnError) -> Value {
    let code = match error.code() {
        ErrorCode::InvalidArgument => "invalid-argument",
        ErrorCode::InvalidEncoding => "invalid-encoding",
        ErrorCode::Timeout => "timeout",
        ErrorCode::RuntimeError => "runtime-error",
        ErrorCode::UnsupportedOperation => "unsupported-operation",
        ErrorCode::TooLarge => "too-large",
        ErrorCode::NotFound => "not-found",
        ErrorCode::Security => "security",
        ErrorCode::Unknown => "unknown",
    };
    json!({"code": code, "message": error.data()})
}

export!(Probe);

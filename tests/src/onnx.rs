//! Tiny ONNX graphs for the `wasi:nn` tests, encoded here (ONNX files are protobuf
//! `ModelProto`s; the field numbers are those of onnx/onnx.proto), so the tests need neither
//! the `onnx` Python package nor checked-in model files.

/// ONNX element types (`TensorProto.DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub enum Elem {
    /// float32
    Float = 1,
    /// uint8
    Uint8 = 2,
    /// int8
    Int8 = 3,
    /// int32
    Int32 = 6,
    /// int64
    Int64 = 7,
    /// bool
    Bool = 9,
    /// float16
    Float16 = 10,
    /// float64
    Double = 11,
    /// bfloat16
    Bfloat16 = 16,
}

/// A dimension: fixed, or named and free.
#[derive(Debug, Clone)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A free dimension with this name.
    Free(&'static str),
}

/// One graph input or output.
#[derive(Debug, Clone)]
pub struct Value {
    /// Its name.
    pub name: &'static str,
    /// Its element type.
    pub elem: Elem,
    /// Its dimensions.
    pub dims: Vec<Dim>,
}

/// One node: `op` from `inputs` to `outputs`, with integer attributes.
#[derive(Debug, Clone)]
pub struct Node {
    /// The operator (`Add`, `Identity`, `Cast`...).
    pub op: &'static str,
    /// Input names.
    pub inputs: Vec<&'static str>,
    /// Output names.
    pub outputs: Vec<&'static str>,
    /// (name, value) integer attributes, e.g. Cast's `to`.
    pub int_attributes: Vec<(&'static str, i64)>,
}

/// A `ModelProto` with one graph (opset 17).
pub fn model(nodes: &[Node], inputs: &[Value], outputs: &[Value]) -> Vec<u8> {
    let mut graph = Vec::new();
    for node in nodes {
        let mut n = Vec::new();
        for input in &node.inputs {
            string(&mut n, 1, input);
        }
        for output in &node.outputs {
            string(&mut n, 2, output);
        }
        string(&mut n, 4, node.op);
        for (name, value) in &node.int_attributes {
            let mut attribute = Vec::new();
            string(&mut attribute, 1, name);
            varint_field(&mut attribute, 3, *value as u64);
            varint_field(&mut attribute, 20, 2); // type = INT
            message(&mut n, 5, &attribute);
        }
        message(&mut graph, 1, &n);
    }
    string(&mut graph, 2, "test");
    for input in inputs {
        message(&mut graph, 11, &value_info(input));
    }
    for output in outputs {
        message(&mut graph, 12, &value_info(output));
    }
    let mut model = Vec::new();
    varint_field(&mut model, 1, 8); // ir_version
    string(&mut model, 2, "wasml-tests");
    message(&mut model, 7, &graph);
    let mut opset = Vec::new();
    string(&mut opset, 1, "");
    varint_field(&mut opset, 2, 17);
    message(&mut model, 8, &opset);
    model
}

/// `y = x` for any element type, over a free 1-D shape.
pub fn identity(elem: Elem) -> Vec<u8> {
    let free = vec![Dim::Free("n")];
    model(
        &[Node {
            op: "Identity",
            inputs: vec!["x"],
            outputs: vec!["y"],
            int_attributes: vec![],
        }],
        &[Value {
            name: "x",
            elem,
            dims: free.clone(),
        }],
        &[Value {
            name: "y",
            elem,
            dims: free,
        }],
    )
}

/// `sum = a + b` over two fixed `[2]` tensors of `elem`.
pub fn add(elem: Elem) -> Vec<u8> {
    let dims = vec![Dim::Fixed(2)];
    let value = |name| Value {
        name,
        elem,
        dims: dims.clone(),
    };
    model(
        &[Node {
            op: "Add",
            inputs: vec!["a", "b"],
            outputs: vec!["sum"],
            int_attributes: vec![],
        }],
        &[value("a"), value("b")],
        &[value("sum")],
    )
}

/// `y = cast(x, to)`: float32 in, `to` out.
pub fn cast(to: Elem) -> Vec<u8> {
    let free = vec![Dim::Free("n")];
    model(
        &[Node {
            op: "Cast",
            inputs: vec!["x"],
            outputs: vec!["y"],
            int_attributes: vec![("to", to as i64)],
        }],
        &[Value {
            name: "x",
            elem: Elem::Float,
            dims: free.clone(),
        }],
        &[Value {
            name: "y",
            elem: to,
            dims: free,
        }],
    )
}

fn value_info(value: &Value) -> Vec<u8> {
    let mut shape = Vec::new();
    for dim in &value.dims {
        let mut d = Vec::new();
        match dim {
            Dim::Fixed(n) => varint_field(&mut d, 1, *n as u64),
            Dim::Free(name) => string(&mut d, 2, name),
        }
        message(&mut shape, 1, &d);
    }
    let mut tensor = Vec::new();
    varint_field(&mut tensor, 1, value.elem as u64);
    message(&mut tensor, 2, &shape);
    let mut ty = Vec::new();
    message(&mut ty, 1, &tensor);
    let mut info = Vec::new();
    string(&mut info, 1, value.name);
    message(&mut info, 2, &ty);
    info
}

fn varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

fn varint_field(out: &mut Vec<u8>, field: u64, value: u64) {
    varint(out, field << 3);
    varint(out, value);
}

fn message(out: &mut Vec<u8>, field: u64, bytes: &[u8]) {
    varint(out, field << 3 | 2);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn string(out: &mut Vec<u8>, field: u64, text: &str) {
    message(out, field, text.as_bytes());
}

//! Building an ONNX model (`ModelProto`) node by node: graph inputs and outputs, weights as
//! initializers, and operator nodes whose outputs get fresh names.
//!
//! Field numbers are those of `onnx/onnx.proto` (IR version 8). Every part of the graph is
//! appended to one encoded `GraphProto` as it is added: protobuf allows a message's fields in
//! any order, so the weights are copied once into the graph and once into the model, not
//! gathered in lists first.

use super::protobuf::Message;

/// The IR version written: ONNX 1.10's, which every ONNX Runtime of the last years reads.
const IR_VERSION: i64 = 8;

/// A protobuf message cannot be larger than 2 GiB; ONNX keeps larger weights in external files,
/// which this writer does not make.
pub const MAX_MODEL_BYTES: usize = (1 << 31) - (1 << 20);

// ModelProto
const MODEL_IR_VERSION: u32 = 1;
const MODEL_PRODUCER_NAME: u32 = 2;
const MODEL_PRODUCER_VERSION: u32 = 3;
const MODEL_DOC_STRING: u32 = 6;
const MODEL_GRAPH: u32 = 7;
const MODEL_OPSET_IMPORT: u32 = 8;
// OperatorSetIdProto
const OPSET_VERSION: u32 = 2;
// GraphProto
const GRAPH_NODE: u32 = 1;
const GRAPH_NAME: u32 = 2;
const GRAPH_INITIALIZER: u32 = 5;
const GRAPH_INPUT: u32 = 11;
const GRAPH_OUTPUT: u32 = 12;
// NodeProto
const NODE_INPUT: u32 = 1;
const NODE_OUTPUT: u32 = 2;
const NODE_NAME: u32 = 3;
const NODE_OP_TYPE: u32 = 4;
const NODE_ATTRIBUTE: u32 = 5;
// AttributeProto and its AttributeType values
const ATTRIBUTE_NAME: u32 = 1;
const ATTRIBUTE_F: u32 = 2;
const ATTRIBUTE_I: u32 = 3;
const ATTRIBUTE_INTS: u32 = 8;
const ATTRIBUTE_TYPE: u32 = 20;
const ATTRIBUTE_TYPE_FLOAT: i64 = 1;
const ATTRIBUTE_TYPE_INT: i64 = 2;
const ATTRIBUTE_TYPE_INTS: i64 = 7;
// TensorProto
const TENSOR_DIMS: u32 = 1;
const TENSOR_DATA_TYPE: u32 = 2;
const TENSOR_NAME: u32 = 8;
const TENSOR_RAW_DATA: u32 = 9;
// ValueInfoProto, TypeProto, TypeProto.Tensor, TensorShapeProto and its Dimension
const VALUE_INFO_NAME: u32 = 1;
const VALUE_INFO_TYPE: u32 = 2;
const TYPE_TENSOR_TYPE: u32 = 1;
const TENSOR_TYPE_ELEM_TYPE: u32 = 1;
const TENSOR_TYPE_SHAPE: u32 = 2;
const SHAPE_DIM: u32 = 1;
const DIM_VALUE: u32 = 1;
const DIM_PARAM: u32 = 2;

/// The element types this writer uses (`TensorProto.DataType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElementType {
    /// 32-bit float.
    Float = 1,
    /// 64-bit signed integer.
    Int64 = 7,
}

/// A dimension of a graph input or output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dim {
    /// A fixed size.
    Fixed(i64),
    /// A size known only when the model runs, by name (`batch`, `sequence`).
    Named(&'static str),
}

/// An attribute of a node.
#[derive(Debug, Clone, Copy)]
pub enum Attribute<'a> {
    /// An integer attribute.
    Int(&'a str, i64),
    /// A float attribute.
    Float(&'a str, f32),
    /// A list of integers.
    Ints(&'a str, &'a [i64]),
}

/// An ONNX graph being built. Values are referred to by name; [`GraphBuilder::op`] returns the
/// name of the node's output.
#[derive(Debug, Default)]
pub struct GraphBuilder {
    graph: Message,
    next_value: usize,
    weight_bytes: usize,
}

impl GraphBuilder {
    /// An empty graph called `name`.
    pub fn new(name: &str) -> Self {
        let mut graph = Message::new();
        graph.string(GRAPH_NAME, name);
        GraphBuilder {
            graph,
            next_value: 0,
            weight_bytes: 0,
        }
    }

    /// Declares a graph input; returns its name.
    pub fn input(&mut self, name: &str, element: ElementType, dims: &[Dim]) -> String {
        self.graph
            .message(GRAPH_INPUT, &value_info(name, element, dims));
        name.to_string()
    }

    /// Makes `value` a graph output called `name` (through an `Identity` node, so that any
    /// value can be published under any name).
    pub fn output(&mut self, value: &str, name: &str, element: ElementType, dims: &[Dim]) {
        self.node("Identity", &[value], &[name], &[]);
        self.graph
            .message(GRAPH_OUTPUT, &value_info(name, element, dims));
    }

    /// Adds 32-bit float weights of shape `dims`; returns their name.
    pub fn floats(&mut self, name: &str, dims: &[usize], values: &[f32]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len());
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(name, ElementType::Float, dims, &raw)
    }

    /// Adds a constant of 64-bit integers (shapes, axes, indices); returns its name.
    pub fn ints(&mut self, dims: &[usize], values: &[i64]) -> String {
        debug_assert_eq!(dims.iter().product::<usize>(), values.len());
        let name = self.fresh("const");
        let raw: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        self.initializer(&name, ElementType::Int64, dims, &raw)
    }

    /// Adds a scalar float constant; returns its name.
    pub fn scalar(&mut self, value: f32) -> String {
        let name = self.fresh("const");
        self.floats(&name, &[], &[value])
    }

    /// Adds a node of operator `op_type` with one output; returns the output's name.
    pub fn op(&mut self, op_type: &str, inputs: &[&str], attributes: &[Attribute]) -> String {
        let output = self.fresh(op_type);
        self.node(op_type, inputs, &[output.as_str()], attributes);
        output
    }

    /// The bytes of the weights added so far.
    pub fn weight_bytes(&self) -> usize {
        self.weight_bytes
    }

    /// The encoded `ModelProto`, importing the default operator set at `opset`.
    pub fn into_model(self, opset: i64, producer: &str, doc: &str) -> Vec<u8> {
        let mut opset_import = Message::new();
        opset_import.int(OPSET_VERSION, opset);
        let mut model = Message::new();
        model
            .int(MODEL_IR_VERSION, IR_VERSION)
            .string(MODEL_PRODUCER_NAME, producer)
            .string(MODEL_PRODUCER_VERSION, env!("CARGO_PKG_VERSION"))
            .string(MODEL_DOC_STRING, doc)
            .message(MODEL_OPSET_IMPORT, &opset_import)
            .message(MODEL_GRAPH, &self.graph);
        model.into_bytes()
    }

    fn initializer(
        &mut self,
        name: &str,
        element: ElementType,
        dims: &[usize],
        raw: &[u8],
    ) -> String {
        let dims: Vec<i64> = dims.iter().map(|&d| d as i64).collect();
        let mut tensor = Message::new();
        tensor
            .packed_ints(TENSOR_DIMS, &dims)
            .int(TENSOR_DATA_TYPE, element as i64)
            .string(TENSOR_NAME, name)
            .bytes(TENSOR_RAW_DATA, raw);
        self.graph.message(GRAPH_INITIALIZER, &tensor);
        self.weight_bytes += raw.len();
        name.to_string()
    }

    fn node(&mut self, op_type: &str, inputs: &[&str], outputs: &[&str], attributes: &[Attribute]) {
        let mut node = Message::new();
        for input in inputs {
            node.string(NODE_INPUT, input);
        }
        for output in outputs {
            node.string(NODE_OUTPUT, output);
        }
        node.string(NODE_NAME, &format!("{}_node", outputs[0]))
            .string(NODE_OP_TYPE, op_type);
        for attribute in attributes {
            node.message(NODE_ATTRIBUTE, &encode_attribute(attribute));
        }
        self.graph.message(GRAPH_NODE, &node);
    }

    fn fresh(&mut self, stem: &str) -> String {
        self.next_value += 1;
        format!("{stem}_{}", self.next_value)
    }
}

fn encode_attribute(attribute: &Attribute) -> Message {
    let mut message = Message::new();
    match *attribute {
        Attribute::Int(name, value) => {
            message
                .string(ATTRIBUTE_NAME, name)
                .int(ATTRIBUTE_I, value)
                .int(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INT);
        }
        Attribute::Float(name, value) => {
            message
                .string(ATTRIBUTE_NAME, name)
                .float(ATTRIBUTE_F, value)
                .int(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_FLOAT);
        }
        Attribute::Ints(name, values) => {
            message.string(ATTRIBUTE_NAME, name);
            // AttributeProto.ints is proto2-style `repeated int64`, unpacked.
            for &value in values {
                message.int(ATTRIBUTE_INTS, value);
            }
            message.int(ATTRIBUTE_TYPE, ATTRIBUTE_TYPE_INTS);
        }
    }
    message
}

fn value_info(name: &str, element: ElementType, dims: &[Dim]) -> Message {
    let mut shape = Message::new();
    for dim in dims {
        let mut dimension = Message::new();
        match *dim {
            Dim::Fixed(size) => dimension.int(DIM_VALUE, size),
            Dim::Named(param) => dimension.string(DIM_PARAM, param),
        };
        shape.message(SHAPE_DIM, &dimension);
    }
    let mut tensor_type = Message::new();
    tensor_type
        .int(TENSOR_TYPE_ELEM_TYPE, element as i64)
        .message(TENSOR_TYPE_SHAPE, &shape);
    let mut type_proto = Message::new();
    type_proto.message(TYPE_TENSOR_TYPE, &tensor_type);
    let mut info = Message::new();
    info.string(VALUE_INFO_NAME, name)
        .message(VALUE_INFO_TYPE, &type_proto);
    info
}

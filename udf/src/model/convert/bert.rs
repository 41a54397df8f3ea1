//! A BERT encoder (Hugging Face's `BertModel`: `config.json` and `model.safetensors`) written as
//! an ONNX graph with the inputs and output of the common sentence-transformer exports:
//! `input_ids`, `attention_mask`, `token_type_ids` (`[batch, sequence]`, int64) in,
//! `last_hidden_state` (`[batch, sequence, hidden]`, float) out.
//!
//! The graph follows `transformers`' `modeling_bert.py` in inference mode (no dropout):
//! word + position + token-type embeddings and a layer norm; per layer, multi-head
//! self-attention with the padding masked out, a residual and a layer norm, then a feed-forward
//! block with the exact (erf) GELU, a residual and a layer norm. Linear layers store their
//! weights as `[out, in]`; they are transposed here once so each is a plain `MatMul`.

use datafusion::common::{DataFusionError, Result};
use serde_json::Value;

use super::onnx_graph::{Attribute, Dim, ElementType, GraphBuilder, MAX_MODEL_BYTES};
use super::safetensors::SafetensorsFile;

/// The operator set written: 17 is the first with `LayerNormalization`.
const OPSET: i64 = 17;

/// What is added to the attention scores of padding tokens: `exp` of it is 0 in `f32`, and it
/// is far from overflowing when added to a score (Hugging Face uses the float's minimum).
const MASKED_SCORE: f32 = -10_000.0;

/// The shape of a BERT encoder, from its `config.json`.
#[derive(Debug, Clone, PartialEq)]
pub struct BertConfig {
    /// Width of every token state.
    pub hidden_size: usize,
    /// Attention heads per layer.
    pub heads: usize,
    /// Encoder layers.
    pub layers: usize,
    /// Width of the feed-forward block.
    pub intermediate_size: usize,
    /// Token ids.
    pub vocab_size: usize,
    /// Position embeddings: the longest input the model reads.
    pub max_positions: usize,
    /// Segment ids.
    pub type_vocab_size: usize,
    /// The layer norms' epsilon.
    pub layer_norm_eps: f32,
}

impl BertConfig {
    /// Reads a Hugging Face `config.json`, refusing what this graph does not compute (another
    /// architecture, activation or position embedding) with an error that says so.
    pub fn from_json(config: &Value) -> Result<Self> {
        let model_type = config["model_type"].as_str().unwrap_or("(none)");
        if model_type != "bert" {
            return Err(plan(format!(
                "config.json has model_type '{model_type}'; reeldb builds ONNX graphs for \
                 BERT checkpoints only (such as all-MiniLM-L6-v2). Export other models to \
                 ONNX (e.g. with Hugging Face Optimum) and add the directory with model.onnx"
            )));
        }
        let activation = config["hidden_act"].as_str().unwrap_or("gelu");
        if activation != "gelu" {
            return Err(plan(format!(
                "config.json has hidden_act '{activation}'; reeldb's BERT graph computes the \
                 exact GELU ('gelu') only. Export the model to ONNX and add model.onnx"
            )));
        }
        let positions = config["position_embedding_type"]
            .as_str()
            .unwrap_or("absolute");
        if positions != "absolute" {
            return Err(plan(format!(
                "config.json has position_embedding_type '{positions}'; reeldb's BERT graph \
                 computes 'absolute' only"
            )));
        }
        let size = |key: &str| -> Result<usize> {
            config[key]
                .as_u64()
                .filter(|n| *n > 0)
                .map(|n| n as usize)
                .ok_or_else(|| plan(format!("config.json has no positive integer '{key}'")))
        };
        let parsed = BertConfig {
            hidden_size: size("hidden_size")?,
            heads: size("num_attention_heads")?,
            layers: size("num_hidden_layers")?,
            intermediate_size: size("intermediate_size")?,
            vocab_size: size("vocab_size")?,
            max_positions: size("max_position_embeddings")?,
            type_vocab_size: size("type_vocab_size")?,
            layer_norm_eps: config["layer_norm_eps"].as_f64().unwrap_or(1e-12) as f32,
        };
        if !parsed.hidden_size.is_multiple_of(parsed.heads) {
            return Err(plan(format!(
                "config.json's hidden_size {} is not a multiple of num_attention_heads {}",
                parsed.hidden_size, parsed.heads
            )));
        }
        Ok(parsed)
    }
}

/// Writes the encoder whose weights are in `weights` as an ONNX model (the file's bytes).
pub fn bert_onnx(config: &BertConfig, weights: &SafetensorsFile) -> Result<Vec<u8>> {
    // Checkpoints saved from `BertForMaskedLM` and friends prefix the encoder with `bert.`.
    let prefix = if weights.contains("bert.embeddings.word_embeddings.weight") {
        "bert."
    } else {
        ""
    };
    let mut writer = BertWriter {
        graph: GraphBuilder::new("bert"),
        config,
        weights,
        prefix,
    };
    let hidden = writer.encode()?;
    let mut graph = writer.graph;
    graph.output(
        &hidden,
        "last_hidden_state",
        ElementType::Float,
        &[
            Dim::Named("batch"),
            Dim::Named("sequence"),
            Dim::Fixed(config.hidden_size as i64),
        ],
    );
    if graph.weight_bytes() > MAX_MODEL_BYTES {
        return Err(plan(format!(
            "the model's weights take {} MiB, more than one ONNX file holds (2 GiB); export it \
             to ONNX with external data and add model.onnx",
            graph.weight_bytes() >> 20
        )));
    }
    Ok(graph.into_model(
        OPSET,
        "reeldb",
        "A BERT encoder built by reeldb from a Hugging Face safetensors checkpoint",
    ))
}

struct BertWriter<'a> {
    graph: GraphBuilder,
    config: &'a BertConfig,
    weights: &'a SafetensorsFile,
    prefix: &'static str,
}

impl BertWriter<'_> {
    /// The whole encoder; returns the last layer's token states.
    fn encode(&mut self) -> Result<String> {
        let batch_sequence = [Dim::Named("batch"), Dim::Named("sequence")];
        let ids = self
            .graph
            .input("input_ids", ElementType::Int64, &batch_sequence);
        let mask = self
            .graph
            .input("attention_mask", ElementType::Int64, &batch_sequence);
        let types = self
            .graph
            .input("token_type_ids", ElementType::Int64, &batch_sequence);
        let mut states = self.embeddings(&ids, &types)?;
        let mask_bias = self.mask_bias(&mask);
        for layer in 0..self.config.layers {
            states = self.layer(layer, &states, &mask_bias)?;
        }
        Ok(states)
    }

    /// Word, position and token-type embeddings, summed and normalised: `[batch, seq, hidden]`.
    fn embeddings(&mut self, ids: &str, types: &str) -> Result<String> {
        let c = self.config;
        let word = self.weight(
            "embeddings.word_embeddings.weight",
            &[c.vocab_size, c.hidden_size],
        )?;
        let position = self.weight(
            "embeddings.position_embeddings.weight",
            &[c.max_positions, c.hidden_size],
        )?;
        let token_type = self.weight(
            "embeddings.token_type_embeddings.weight",
            &[c.type_vocab_size, c.hidden_size],
        )?;
        let g = &mut self.graph;
        let words = g.op("Gather", &[&word, ids], &[]);
        // Positions 0..sequence: Range over the second dimension of input_ids.
        let shape = g.op("Shape", &[ids], &[]);
        let one = g.ints(&[], &[1]);
        let sequence = g.op("Gather", &[&shape, &one], &[]);
        let zero = g.ints(&[], &[0]);
        let positions = g.op("Range", &[&zero, &sequence, &one], &[]);
        let position_states = g.op("Gather", &[&position, &positions], &[]);
        let type_states = g.op("Gather", &[&token_type, types], &[]);
        let sum = g.op("Add", &[&words, &position_states], &[]);
        let sum = g.op("Add", &[&sum, &type_states], &[]);
        self.layer_norm("embeddings.LayerNorm", &sum)
    }

    /// `(1 - mask) * MASKED_SCORE` as `[batch, 1, 1, seq]`, added to every head's scores.
    fn mask_bias(&mut self, mask: &str) -> String {
        let g = &mut self.graph;
        let mask = g.op(
            "Cast",
            &[mask],
            &[Attribute::Int("to", ElementType::Float as i64)],
        );
        let one = g.scalar(1.0);
        let padding = g.op("Sub", &[&one, &mask], &[]);
        let masked = g.scalar(MASKED_SCORE);
        let bias = g.op("Mul", &[&padding, &masked], &[]);
        let axes = g.ints(&[2], &[1, 2]);
        g.op("Unsqueeze", &[&bias, &axes], &[])
    }

    /// One encoder layer: attention and feed-forward blocks, each with a residual and a norm.
    fn layer(&mut self, layer: usize, states: &str, mask_bias: &str) -> Result<String> {
        let c = self.config;
        let p = format!("encoder.layer.{layer}");
        let head_dim = c.hidden_size / c.heads;
        let split_heads = self
            .graph
            .ints(&[4], &[0, 0, c.heads as i64, head_dim as i64]);
        let query = self.linear(
            &format!("{p}.attention.self.query"),
            states,
            c.hidden_size,
            c.hidden_size,
        )?;
        let key = self.linear(
            &format!("{p}.attention.self.key"),
            states,
            c.hidden_size,
            c.hidden_size,
        )?;
        let value = self.linear(
            &format!("{p}.attention.self.value"),
            states,
            c.hidden_size,
            c.hidden_size,
        )?;
        // [batch, seq, hidden] -> [batch, heads, seq, head_dim] (keys: [batch, heads, head_dim, seq]).
        let query = self.split_heads(&query, &split_heads, &[0, 2, 1, 3]);
        let key = self.split_heads(&key, &split_heads, &[0, 2, 3, 1]);
        let value = self.split_heads(&value, &split_heads, &[0, 2, 1, 3]);
        let g = &mut self.graph;
        let scores = g.op("MatMul", &[&query, &key], &[]);
        let scale = g.scalar(1.0 / (head_dim as f32).sqrt());
        let scores = g.op("Mul", &[&scores, &scale], &[]);
        let scores = g.op("Add", &[&scores, mask_bias], &[]);
        let probabilities = g.op("Softmax", &[&scores], &[Attribute::Int("axis", -1)]);
        let context = g.op("MatMul", &[&probabilities, &value], &[]);
        let context = g.op(
            "Transpose",
            &[&context],
            &[Attribute::Ints("perm", &[0, 2, 1, 3])],
        );
        let merge_heads = g.ints(&[3], &[0, 0, c.hidden_size as i64]);
        let context = g.op("Reshape", &[&context, &merge_heads], &[]);
        let attended = self.linear(
            &format!("{p}.attention.output.dense"),
            &context,
            c.hidden_size,
            c.hidden_size,
        )?;
        let residual = self.graph.op("Add", &[&attended, states], &[]);
        let states = self.layer_norm(&format!("{p}.attention.output.LayerNorm"), &residual)?;

        let inner = self.linear(
            &format!("{p}.intermediate.dense"),
            &states,
            c.hidden_size,
            c.intermediate_size,
        )?;
        let inner = self.gelu(&inner);
        let outer = self.linear(
            &format!("{p}.output.dense"),
            &inner,
            c.intermediate_size,
            c.hidden_size,
        )?;
        let residual = self.graph.op("Add", &[&outer, &states], &[]);
        self.layer_norm(&format!("{p}.output.LayerNorm"), &residual)
    }

    /// `x` (`[batch, seq, hidden]`) reshaped to `shape` (`[0, 0, heads, head_dim]`) and
    /// transposed by `perm`.
    fn split_heads(&mut self, x: &str, shape: &str, perm: &[i64]) -> String {
        let split = self.graph.op("Reshape", &[x, shape], &[]);
        self.graph
            .op("Transpose", &[&split], &[Attribute::Ints("perm", perm)])
    }

    /// `x W^T + b` for the linear layer `name` (weight `[outputs, inputs]`).
    fn linear(&mut self, name: &str, x: &str, inputs: usize, outputs: usize) -> Result<String> {
        let key = format!("{}{name}.weight", self.prefix);
        let weight = self.weights.floats(&key, &[outputs, inputs])?;
        let mut transposed = vec![0.0f32; weight.len()];
        for (o, row) in weight.chunks_exact(inputs).enumerate() {
            for (i, &w) in row.iter().enumerate() {
                transposed[i * outputs + o] = w;
            }
        }
        let weight = self.graph.floats(&key, &[inputs, outputs], &transposed);
        let bias = self.weight(&format!("{name}.bias"), &[outputs])?;
        let product = self.graph.op("MatMul", &[x, &weight], &[]);
        Ok(self.graph.op("Add", &[&product, &bias], &[]))
    }

    /// `LayerNormalization` over the last axis with the norm `name`'s weight and bias.
    fn layer_norm(&mut self, name: &str, x: &str) -> Result<String> {
        let hidden = self.config.hidden_size;
        let gamma = self.weight(&format!("{name}.weight"), &[hidden])?;
        let beta = self.weight(&format!("{name}.bias"), &[hidden])?;
        Ok(self.graph.op(
            "LayerNormalization",
            &[x, &gamma, &beta],
            &[
                Attribute::Int("axis", -1),
                Attribute::Float("epsilon", self.config.layer_norm_eps),
            ],
        ))
    }

    /// The exact GELU, `x * (1 + erf(x / sqrt 2)) / 2`.
    fn gelu(&mut self, x: &str) -> String {
        let g = &mut self.graph;
        let sqrt2 = g.scalar(std::f32::consts::SQRT_2);
        let scaled = g.op("Div", &[x, &sqrt2], &[]);
        let erf = g.op("Erf", &[&scaled], &[]);
        let one = g.scalar(1.0);
        let shifted = g.op("Add", &[&erf, &one], &[]);
        let product = g.op("Mul", &[x, &shifted], &[]);
        let half = g.scalar(0.5);
        g.op("Mul", &[&product, &half], &[])
    }

    /// The checkpoint's tensor `name` (under the prefix) as an initializer of shape `dims`.
    fn weight(&mut self, name: &str, dims: &[usize]) -> Result<String> {
        let key = format!("{}{name}", self.prefix);
        let values = self.weights.floats(&key, dims)?;
        Ok(self.graph.floats(&key, dims, &values))
    }
}

fn plan(message: String) -> DataFusionError {
    DataFusionError::Plan(message)
}

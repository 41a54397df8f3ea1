"""Writes small ONNX models with the Hugging Face CLIP export's input and output names.

    python3 make_tiny_clip.py OUT_DIR TOKENIZER_DIR

OUT_DIR/split/    vision_model.onnx, text_model.onnx (+ the tokenizer files)
OUT_DIR/combined/ model.onnx with both encoders and the logits (+ the tokenizer files)
OUT_DIR/sentence/ a sentence-transformer export: model.onnx (input_ids, attention_mask,
                  token_type_ids -> last_hidden_state), tokenizer.json, 1_Pooling/config.json

The models are tiny but not arbitrary, so tests can check their answers:
- the vision encoder averages each normalised colour channel over the image and maps red,
  green and blue to the first three of 8 dimensions (plus a little fixed noise elsewhere);
- the text encoder sums token embeddings (masked by attention_mask); the tokens "red",
  "green" and "blue" embed to those same three directions, every other token to small noise.
So a red image is closest to the text "red", and classify() should say so.
The combined model's logit scale is 50 (OpenAI's CLIP uses 100), so a test can tell that
reeldb measured it rather than assumed it.

Needs `onnx` and `numpy` (tests/requirements.txt). Deterministic: the noise is seeded.
"""

import json
import os
import shutil
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DIM = 8
VOCAB = 49408
LOGIT_SCALE = 50.0
OPSET = 17
IR_VERSION = 8  # ONNX Runtime 1.31 reads IR 8 with opset 17; newer onnx writes newer IR.


def token_ids(tokenizer_dir):
    with open(os.path.join(tokenizer_dir, "tokenizer.json"), encoding="utf-8") as f:
        vocab = json.load(f)["model"]["vocab"]
    return [vocab[word + "</w>"] for word in ("red", "green", "blue")]


def weights(tokenizer_dir):
    rng = np.random.default_rng(7)
    vision = np.zeros((3, DIM), dtype=np.float32)
    vision[0, 0] = vision[1, 1] = vision[2, 2] = 1.0
    vision[:, 3:] = rng.normal(0, 0.05, (3, DIM - 3)).astype(np.float32)
    table = rng.normal(0, 0.02, (VOCAB, DIM)).astype(np.float32)
    for axis, token in enumerate(token_ids(tokenizer_dir)):
        table[token] = 0.0
        table[token, axis] = 1.0
    return vision, table


def vision_nodes(vision):
    init = [numpy_helper.from_array(vision, "vision_projection")]
    nodes = [
        helper.make_node("ReduceMean", ["pixel_values"], ["pooled"], axes=[2, 3], keepdims=0),
        helper.make_node("MatMul", ["pooled", "vision_projection"], ["image_embeds_raw"]),
    ]
    return nodes, init


def text_nodes(table, with_mask):
    init = [numpy_helper.from_array(table, "token_embedding")]
    nodes = [helper.make_node("Gather", ["token_embedding", "input_ids"], ["token_states"])]
    if with_mask:
        init.append(numpy_helper.from_array(np.array([2], dtype=np.int64), "mask_axis"))
        init.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "token_axis"))
        nodes += [
            helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=TensorProto.FLOAT),
            helper.make_node("Unsqueeze", ["mask_f", "mask_axis"], ["mask_3d"]),
            helper.make_node("Mul", ["token_states", "mask_3d"], ["masked"]),
            helper.make_node("ReduceSum", ["masked", "token_axis"], ["text_embeds_raw"], keepdims=0),
        ]
    else:
        init.append(numpy_helper.from_array(np.array([1], dtype=np.int64), "token_axis"))
        nodes.append(
            helper.make_node("ReduceSum", ["token_states", "token_axis"], ["text_embeds_raw"], keepdims=0)
        )
    return nodes, init


def inputs():
    return {
        "pixel_values": helper.make_tensor_value_info("pixel_values", TensorProto.FLOAT, ["batch", 3, 224, 224]),
        "input_ids": helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["text_batch", "sequence"]),
        "attention_mask": helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["text_batch", "sequence"]),
    }


def output(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def save(graph, path):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model)
    onnx.save(model, path)


def main(out_dir, tokenizer_dir):
    vision, table = weights(tokenizer_dir)
    io = inputs()
    split = os.path.join(out_dir, "split")
    combined = os.path.join(out_dir, "combined")
    for directory in (split, combined):
        os.makedirs(directory, exist_ok=True)
        for name in ("tokenizer.json", "tokenizer_config.json", "special_tokens_map.json", "preprocessor_config.json"):
            shutil.copy(os.path.join(tokenizer_dir, name), directory)

    # Split export: each encoder on its own; the raw (unnormalised) projections, as HF's are.
    nodes, init = vision_nodes(vision)
    nodes.append(helper.make_node("Identity", ["image_embeds_raw"], ["image_embeds"]))
    save(helper.make_graph(nodes, "vision", [io["pixel_values"]], [output("image_embeds", ["batch", DIM])], init),
         os.path.join(split, "vision_model.onnx"))
    nodes, init = text_nodes(table, with_mask=True)
    nodes.append(helper.make_node("Identity", ["text_embeds_raw"], ["text_embeds"]))
    save(helper.make_graph(nodes, "text", [io["input_ids"], io["attention_mask"]],
                           [output("text_embeds", ["text_batch", DIM])], init),
         os.path.join(split, "text_model.onnx"))

    # Combined export: normalised embeddings and the scaled similarity logits.
    v_nodes, v_init = vision_nodes(vision)
    t_nodes, t_init = text_nodes(table, with_mask=True)
    scale = numpy_helper.from_array(np.array(LOGIT_SCALE, dtype=np.float32), "logit_scale")
    nodes = v_nodes + t_nodes + [
        helper.make_node("LpNormalization", ["image_embeds_raw"], ["image_embeds"], axis=-1, p=2),
        helper.make_node("LpNormalization", ["text_embeds_raw"], ["text_embeds"], axis=-1, p=2),
        helper.make_node("Transpose", ["text_embeds"], ["text_t"], perm=[1, 0]),
        helper.make_node("MatMul", ["image_embeds", "text_t"], ["similarity"]),
        helper.make_node("Mul", ["similarity", "logit_scale"], ["logits_per_image"]),
        helper.make_node("Transpose", ["logits_per_image"], ["logits_per_text"], perm=[1, 0]),
    ]
    outputs = [
        output("logits_per_image", ["batch", "text_batch"]),
        output("logits_per_text", ["text_batch", "batch"]),
        output("text_embeds", ["text_batch", DIM]),
        output("image_embeds", ["batch", DIM]),
    ]
    save(helper.make_graph(nodes, "clip", [io["pixel_values"], io["input_ids"], io["attention_mask"]], outputs,
                           v_init + t_init + [scale]),
         os.path.join(combined, "model.onnx"))
    sentence_model(out_dir, tokenizer_dir, table)


def sentence_model(out_dir, tokenizer_dir, table):
    """Token states are the token embeddings plus 0 x token_type_ids (so the input is used)."""
    directory = os.path.join(out_dir, "sentence")
    os.makedirs(os.path.join(directory, "1_Pooling"), exist_ok=True)
    shutil.copy(os.path.join(tokenizer_dir, "tokenizer.json"), directory)
    with open(os.path.join(directory, "1_Pooling", "config.json"), "w", encoding="utf-8") as f:
        json.dump({"word_embedding_dimension": DIM, "pooling_mode_mean_tokens": True}, f)
    with open(os.path.join(directory, "sentence_bert_config.json"), "w", encoding="utf-8") as f:
        json.dump({"max_seq_length": 16, "do_lower_case": False}, f)
    io = inputs()
    token_types = helper.make_tensor_value_info("token_type_ids", TensorProto.INT64, ["text_batch", "sequence"])
    init = [numpy_helper.from_array(table, "token_embedding"),
            numpy_helper.from_array(np.array(0.0, dtype=np.float32), "zero")]
    nodes = [
        helper.make_node("Gather", ["token_embedding", "input_ids"], ["token_states"]),
        helper.make_node("Cast", ["token_type_ids"], ["types_f"], to=TensorProto.FLOAT),
        helper.make_node("Mul", ["types_f", "zero"], ["types_zero"]),
        helper.make_node("Unsqueeze", ["types_zero", "mask_axis"], ["types_3d"]),
        helper.make_node("Add", ["token_states", "types_3d"], ["last_hidden_state"]),
    ]
    init.append(numpy_helper.from_array(np.array([2], dtype=np.int64), "mask_axis"))
    graph = helper.make_graph(nodes, "sentence", [io["input_ids"], io["attention_mask"], token_types],
                              [output("last_hidden_state", ["text_batch", "sequence", DIM])], init)
    save(graph, os.path.join(directory, "model.onnx"))
    # What mean pooling over the real tokens gives, for the test to compare against.
    red, green, blue = token_ids(tokenizer_dir)
    expected = {}
    for text, ids in (("red", [red]), ("green blue", [green, blue])):
        pooled = table[[49406] + ids + [49407]].mean(axis=0)
        expected[text] = (pooled / np.linalg.norm(pooled)).tolist()
    with open(os.path.join(out_dir, "sentence_expected.json"), "w", encoding="utf-8") as f:
        json.dump(expected, f)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])

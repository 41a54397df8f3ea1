"""onnxruntime's Python API on the images reeldb-bench models embeds: the same MobileFaceNet
model, the same files, the same preprocessing (RGB, 112x112 bilinear, (x - 127.5) / 128,
L2-normalised), decode included. Prints one JSON line per pipeline:

- a plain loop, as people write it (decode, resize, run one image at a time: the model's
  batch size is fixed at 1);
- decode and resize on a thread pool of as many threads as cores (Pillow releases the GIL
  while decoding), the model run as images come.

Needs `pip install onnxruntime numpy pillow`.
"""

import argparse
import json
import os
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
from PIL import Image


def prepare(path):
    image = Image.open(path).convert("RGB").resize((112, 112), Image.BILINEAR)
    pixels = (np.asarray(image, dtype=np.float32) - 127.5) / 128.0
    return pixels.transpose(2, 0, 1)[None]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("model")
    parser.add_argument("images")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    paths = [p for p in open(args.images).read().split("\n") if p]
    cores = os.cpu_count() or 1
    options = ort.SessionOptions()
    options.intra_op_num_threads = cores
    options.log_severity_level = 3
    session = ort.InferenceSession(args.model, options, providers=["CPUExecutionProvider"])
    name = session.get_inputs()[0].name

    def embed(tensor):
        vector = session.run(None, {name: tensor})[0][0]
        return vector / np.linalg.norm(vector)

    embed(prepare(paths[0]))

    def plain():
        return [embed(prepare(p)) for p in paths]

    def threaded():
        with ThreadPoolExecutor(cores) as pool:
            return [embed(t) for t in pool.map(prepare, paths)]

    for label, pipeline in [
        ("onnxruntime python, plain loop", plain),
        ("onnxruntime python, decode on a thread pool", threaded),
    ]:
        rates = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            vectors = pipeline()
            rates.append(len(vectors) / (time.perf_counter() - started))
        rates.sort()
        print(json.dumps({
            "bench": "models", "pipeline": label, "images": len(paths), "threads": cores,
            "onnxruntime": ort.__version__, "images_per_second": rates[len(rates) // 2],
        }))


if __name__ == "__main__":
    main()

"""onnxruntime's Python API doing what reeldb's DETECT FACES does, on the frames reeldb-bench
faces scans: the same YuNet and MobileFaceNet models, the same pre- and post-processing
(udf/src/model/face/{yunet,nms,alignment}.rs, the face-encoder layout's normalisation),
decode included. Prints one JSON line per dataset with frames/s, faces/s and the counts.

- YuNet (dynamic input): each frame at most 640 px long (scaled with Pillow's bilinear filter
  only when larger), as raw BGR values 0..255, at the top left of a tensor padded with zeros
  to a multiple of 32; frames are run 16 at a time (one reeldb step). score = sqrt(cls * obj)
  (both clipped to 0..1), kept when >= 0.7; box centre ((col + b0) s, (row + b1) s), size
  (e^b2 s, e^b3 s), landmark k ((col + k_x) s, (row + k_y) s) for strides 8, 16, 32; at most
  5,000 candidates; greedy NMS at IoU 0.3, strongest first.
- Alignment: the least-squares similarity (Umeyama, no reflection) of the five landmarks onto
  the ArcFace 112x112 template, the crop sampled through its inverse by a numpy bilinear warp
  (black outside the frame), rounded to 8 bits.
- MobileFaceNet: RGB, (x - 127.5) / 128, [1, 3, 112, 112] (the export fixes the batch at 1),
  L2-normalised.
- A JPEG crop per face (20 % margin, longest side at most 160 px, bilinear, quality 85), as
  reeldb stores one; Pillow's encoder is libjpeg-turbo, reeldb's the `image` crate's.

Decoding (Pillow, which releases the GIL) and the YuNet tensors are made on a thread pool of as
many threads as cores, a step ahead of the models; the alignments and crops of a step on the
same pool. A video is decoded by ffmpeg with the selection reeldb's INGEST VIDEO uses
(`select='isnan(prev_selected_t)+gte(t-prev_selected_t,EVERY)'`), read as raw RGB from a pipe
on a reader thread (reeldb reads the same frames as PPM). Nothing is written: reeldb also
writes its faces to Parquet and commits.

Needs `pip install onnxruntime numpy pillow` (benches/requirements.txt) and, for --video,
ffmpeg.
"""

import argparse
import io
import json
import math
import os
import queue
import subprocess
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnxruntime as ort
from PIL import Image

STRIDES = (8, 16, 32)
MIN_SCORE = 0.7
NMS_IOU = 0.3
MAX_SIDE = 640
MAX_CANDIDATES = 5000
STEP = 16
CROP_SIDE = 160
CROP_MARGIN = 0.2
CROP_QUALITY = 85
ARCFACE = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ],
    dtype=np.float64,
)
GRID_Y, GRID_X = np.mgrid[0:112, 0:112].astype(np.float32)


def prepare(image):
    """An RGB PIL image -> (PIL image, RGB array, YuNet tensor [3, H, W], scale_x, scale_y)."""
    w, h = image.size
    scale = min(MAX_SIDE / max(w, h, 1), 1.0)

    def round_up(n):
        return max(math.ceil(max(round(n), 1) / 32) * 32, 32)

    tw, th = round_up(w * scale), round_up(h * scale)
    sw = min(max(round(w * scale), 1), tw)
    sh = min(max(round(h * scale), 1), th)
    pixels = np.asarray(image)
    source = pixels if (sw, sh) == (w, h) else np.asarray(image.resize((sw, sh), Image.BILINEAR))
    tensor = np.zeros((3, th, tw), dtype=np.float32)
    tensor[:, :sh, :sw] = source[:, :, ::-1].transpose(2, 0, 1)
    return image, pixels, tensor, sw / max(w, 1), sh / max(h, 1)


def decode_file(path):
    with Image.open(path) as image:
        return prepare(image.convert("RGB"))


def suppress(boxes, scores):
    """Greedy NMS over [x1, y1, x2, y2] boxes; the kept indices, strongest first."""
    order = np.argsort(-scores, kind="stable")
    area = np.maximum(boxes[:, 2] - boxes[:, 0], 0) * np.maximum(boxes[:, 3] - boxes[:, 1], 0)
    kept = []
    for i in order:
        if kept:
            k = np.array(kept)
            iw = np.maximum(np.minimum(boxes[k, 2], boxes[i, 2]) - np.maximum(boxes[k, 0], boxes[i, 0]), 0)
            ih = np.maximum(np.minimum(boxes[k, 3], boxes[i, 3]) - np.maximum(boxes[k, 1], boxes[i, 1]), 0)
            inter = iw * ih
            union = area[k] + area[i] - inter
            iou = np.where(union > 0, inter / np.where(union > 0, union, 1), 0)
            if np.any(iou > NMS_IOU):
                continue
        kept.append(i)
    return kept


def decode_faces(outputs, index, width, height, scale_x, scale_y):
    """The faces of image `index` of a YuNet batch: (boxes [n, 4] x, y, w, h, scores, landmarks [n, 5, 2])."""
    all_boxes, all_scores, all_marks = [], [], []
    for level, s in enumerate(STRIDES):
        cls, obj, bbox, kps = (outputs[level * 4 + k][index] for k in range(4))
        cols = width // s
        score = np.sqrt(np.clip(cls[:, 0], 0, 1) * np.clip(obj[:, 0], 0, 1))
        cells = np.nonzero(score >= MIN_SCORE)[0]
        if cells.size == 0:
            continue
        row = (cells // cols).astype(np.float32)[:, None]
        col = (cells % cols).astype(np.float32)[:, None]
        b = bbox[cells]
        k = kps[cells].reshape(-1, 5, 2)
        cx, cy = (col[:, 0] + b[:, 0]) * s, (row[:, 0] + b[:, 1]) * s
        w, h = np.exp(b[:, 2]) * s, np.exp(b[:, 3]) * s
        all_boxes.append(np.stack([(cx - w / 2) / scale_x, (cy - h / 2) / scale_y, w / scale_x, h / scale_y], 1))
        all_scores.append(score[cells])
        marks = np.empty_like(k)
        marks[:, :, 0] = (col + k[:, :, 0]) * s / scale_x
        marks[:, :, 1] = (row + k[:, :, 1]) * s / scale_y
        all_marks.append(marks)
    if not all_scores:
        return []
    boxes, scores, marks = np.concatenate(all_boxes), np.concatenate(all_scores), np.concatenate(all_marks)
    if len(scores) > MAX_CANDIDATES:
        top = np.argsort(-scores, kind="stable")[:MAX_CANDIDATES]
        boxes, scores, marks = boxes[top], scores[top], marks[top]
    corners = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], 1)
    return [(boxes[i], float(scores[i]), marks[i]) for i in suppress(corners, scores)]


def similarity(points):
    """The least-squares similarity (a, b, tx, ty) taking `points` onto the template."""
    mf, mt = points.mean(0), ARCFACE.mean(0)
    p, q = points - mf, ARCFACE - mt
    spread = (p * p).sum()
    if spread <= np.finfo(np.float32).eps:
        return None
    a = (p[:, 0] * q[:, 0] + p[:, 1] * q[:, 1]).sum() / spread
    b = (p[:, 0] * q[:, 1] - p[:, 1] * q[:, 0]).sum() / spread
    return a, b, mt[0] - (a * mf[0] - b * mf[1]), mt[1] - (b * mf[0] + a * mf[1])


def warp_bilinear(pixels, x, y):
    """`pixels` sampled at float coordinates (x, y) between pixel centres; black outside."""
    h, w = pixels.shape[:2]
    inside = (x >= 0) & (y >= 0) & (x <= w - 1) & (y <= h - 1)
    xc, yc = np.clip(x, 0, w - 1), np.clip(y, 0, h - 1)
    x0, y0 = np.floor(xc).astype(np.intp), np.floor(yc).astype(np.intp)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (xc - x0)[..., None], (yc - y0)[..., None]
    top = pixels[y0, x0] * (1 - fx) + pixels[y0, x1] * fx
    bottom = pixels[y1, x0] * (1 - fx) + pixels[y1, x1] * fx
    out = np.clip(np.rint(top * (1 - fy) + bottom * fy), 0, 255).astype(np.uint8)
    out[~inside] = 0
    return out


def align(pixels, box, landmarks):
    """The 112x112 aligned face (or the square box crop when the landmarks are degenerate)."""
    t = similarity(landmarks.astype(np.float64))
    if t is None:
        side = max(box[2], box[3], 1.0)
        cx, cy = box[0] + box[2] / 2, box[1] + box[3] / 2
        x = cx - side / 2 + (GRID_X + 0.5) * side / 112 - 0.5
        y = cy - side / 2 + (GRID_Y + 0.5) * side / 112 - 0.5
        return warp_bilinear(pixels, x, y)
    a, b, tx, ty = (np.float32(v) for v in t)
    norm = a * a + b * b
    u, v = GRID_X - tx, GRID_Y - ty
    return warp_bilinear(pixels, (a * u + b * v) / norm, (-b * u + a * v) / norm)


def crop_jpeg(image, box):
    w, h = image.size
    x, y, bw, bh = (float(v) for v in box)
    mx, my = bw * CROP_MARGIN, bh * CROP_MARGIN
    left = math.floor(min(max(x - mx, 0), w - 1))
    top = math.floor(min(max(y - my, 0), h - 1))
    right = math.ceil(min(max(x + bw + mx, left + 1), w))
    bottom = math.ceil(min(max(y + bh + my, top + 1), h))
    crop = image.crop((left, top, right, bottom))
    longest = max(crop.size)
    if longest > CROP_SIDE:
        scale = CROP_SIDE / longest
        crop = crop.resize((max(round(crop.size[0] * scale), 1), max(round(crop.size[1] * scale), 1)), Image.BILINEAR)
    out = io.BytesIO()
    crop.save(out, "JPEG", quality=CROP_QUALITY)
    return out.getvalue()


def face_work(item):
    """Alignment, the encoder's input and the crop of one face."""
    image, pixels, (box, _score, landmarks) = item
    aligned = align(pixels, box, landmarks)
    tensor = ((aligned.astype(np.float32) - 127.5) / 128.0).transpose(2, 0, 1)[None]
    return np.ascontiguousarray(tensor), crop_jpeg(image, box)


class Models:
    def __init__(self, detector, encoder, threads):
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.log_severity_level = 3
        self.detector = ort.InferenceSession(detector, options, providers=["CPUExecutionProvider"])
        self.encoder = ort.InferenceSession(encoder, options, providers=["CPUExecutionProvider"])
        self.detector_input = self.detector.get_inputs()[0].name
        self.outputs = [f"{o}_{s}" for s in STRIDES for o in ("cls", "obj", "bbox", "kps")]
        self.encoder_input = self.encoder.get_inputs()[0].name

    def step(self, frames, pool):
        """Faces (with encodings and crops) of one step of prepared frames; per-frame counts."""
        found = []
        start = 0
        while start < len(frames):
            # A batch is a run of frames of one tensor size, as reeldb's.
            shape = frames[start][2].shape
            end = start + 1
            while end < len(frames) and end - start < STEP and frames[end][2].shape == shape:
                end += 1
            batch = np.stack([f[2] for f in frames[start:end]])
            outputs = self.detector.run(self.outputs, {self.detector_input: batch})
            for i, frame in enumerate(frames[start:end]):
                found.append(decode_faces(outputs, i, shape[2], shape[1], frame[3], frame[4]))
            start = end
        items = [(f[0], f[1], face) for f, faces in zip(frames, found) for face in faces]
        encodings, crops = [], []
        for tensor, crop in pool.map(face_work, items):
            vector = self.encoder.run(None, {self.encoder_input: tensor})[0][0]
            encodings.append(vector / np.linalg.norm(vector))
            crops.append(crop)
        return [len(faces) for faces in found], encodings, crops


def steps_of_files(paths, pool):
    """Prepared frames in steps of 16, decoding the next step while this one runs."""
    pending = deque(pool.submit(decode_file, p) for p in paths[: 2 * STEP])
    next_path = len(pending)
    step = []
    while pending:
        step.append(pending.popleft().result())
        if next_path < len(paths):
            pending.append(pool.submit(decode_file, paths[next_path]))
            next_path += 1
        if len(step) == STEP:
            yield step
            step = []
    if step:
        yield step


def video_size(video):
    text = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=width,height",
         "-of", "csv=p=0", video],
        check=True, capture_output=True, text=True,
    ).stdout
    w, h = text.strip().split(",")[:2]
    return int(w), int(h)


def steps_of_video(video, every, size, pool):
    """ffmpeg's selected frames as raw RGB, read on a thread, prepared on the pool."""
    w, h = size
    command = [
        "ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", video,
        "-map", "0:v:0", "-vf", f"select='isnan(prev_selected_t)+gte(t-prev_selected_t,{every})'",
        "-fps_mode", "passthrough", "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:1",
    ]
    frames = queue.Queue(maxsize=2 * STEP)
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)

    def read():
        size = w * h * 3
        while True:
            data = process.stdout.read(size)
            if len(data) < size:
                break
            image = Image.frombuffer("RGB", (w, h), data, "raw", "RGB", 0, 1)
            frames.put(pool.submit(prepare, image))
        frames.put(None)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    step = []
    while True:
        item = frames.get()
        if item is None:
            break
        step.append(item.result())
        if len(step) == STEP:
            yield step
            step = []
    if step:
        yield step
    reader.join()
    process.wait()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("detector")
    parser.add_argument("encoder")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--images", help="a file listing the images, one a line")
    source.add_argument("--video")
    parser.add_argument("--every", default="0.1", help="seconds between video frames kept")
    parser.add_argument("--dataset", default="")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--counts", help="write the faces per frame (last run) here, as JSON")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    models = Models(args.detector, args.encoder, cores)
    paths = [p for p in open(args.images).read().split("\n") if p] if args.images else None
    size = video_size(args.video) if args.video else None

    with ThreadPoolExecutor(cores) as pool:
        # One untimed step loads the models' kernels.
        warm = decode_file(paths[0]) if paths else prepare(Image.new("RGB", size))
        models.step([warm], pool)
        models.encoder.run(None, {models.encoder_input: np.zeros((1, 3, 112, 112), np.float32)})
        rates, counts = [], None
        for _ in range(args.repeat):
            started = time.perf_counter()
            steps = steps_of_files(paths, pool) if paths else steps_of_video(args.video, args.every, size, pool)
            counts, faces, crop_bytes = [], 0, 0
            for step in steps:
                per_frame, encodings, crops = models.step(step, pool)
                counts.extend(per_frame)
                faces += len(encodings)
                crop_bytes += sum(len(c) for c in crops)
            seconds = time.perf_counter() - started
            rates.append((seconds, len(counts), faces, crop_bytes))
    rates.sort()
    seconds, frames, faces, crop_bytes = rates[len(rates) // 2]
    if args.counts:
        with open(args.counts, "w") as out:
            json.dump(counts, out)
    print(json.dumps({
        "bench": "faces", "dataset": args.dataset,
        "pipeline": "onnxruntime python + numpy alignment + Pillow crops",
        "frames": frames, "faces": faces, "threads": cores, "onnxruntime": ort.__version__,
        "seconds": round(seconds, 3), "frames_per_second": round(frames / seconds, 2),
        "faces_per_second": round(faces / seconds, 2), "crop_bytes": crop_bytes,
    }))


if __name__ == "__main__":
    main()

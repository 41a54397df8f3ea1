"""The pictures reeldb-bench pictures draws, made the way a Python user makes them: the
contact sheet and the image cloud with Pillow, the scatter and the heatmap with matplotlib
(Agg). Same thumbnails (the JPEG bytes reeldb stores, written out by COPY), same sizes, same
numbers; prints one JSON line per picture and PNG setting.

- The thumbnails are read into memory before the clock starts; decoding is timed. Each is
  decoded with `Image.draft` (libjpeg scales while decoding, as `Image.thumbnail` does: the
  fastest way Pillow has) and fitted with a bilinear resize, on a thread pool of as many
  threads as cores (Pillow releases the GIL), then pasted in order.
- Contact sheet: 40 columns of 160x90 cells, 2 px gaps, white; each caption `frame N` in
  DejaVu Sans 12 px (matplotlib's copy of the font) on a 60 % black band, as reeldb draws it.
- Image cloud: 2000x2000, each thumbnail fitted into 100x100 and centred on its point of the
  sunflower spiral (sqrt(f) cos(f a), sqrt(f) sin(f a)), one scale for both axes, 52 px
  margin, y up, drawn in frame order.
- Scatter: 900x700 (9x7 in at 100 dpi), tab10 colours by group, noise grey, legend, title.
- Heatmap: the n x n cluster-pair grid with imshow, tick labels, a colour bar and each value
  written in its cell, at about reeldb's default size for it (its row-label width taken as
  60 px: 910x830 against reeldb's 906x830 for 20 cells).
- PNG: Pillow's compress_level 1 (its fastest, as reeldb's) and 6 (its default); matplotlib's
  savefig default. Both are reported.

Needs `pip install pillow matplotlib numpy` (benches/requirements.txt).
"""

import argparse
import io
import json
import math
import os
import statistics
import time
from concurrent.futures import ThreadPoolExecutor

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image, ImageDraw, ImageFont  # noqa: E402

GOLDEN_ANGLE = 2.399963229728653
FONT = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", "DejaVuSans.ttf")
POOL = ThreadPoolExecutor(os.cpu_count() or 1)


def fitted(data, width, height):
    image = Image.open(io.BytesIO(data))
    image.draft("RGB", (width, height))
    image = image.convert("RGB")
    scale = min(width / image.width, height / image.height)
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.BILINEAR)


def contact_sheet(thumbs, level):
    columns, cell_w, cell_h, gap = 40, 160, 90, 2
    rows = math.ceil(len(thumbs) / columns)
    width = columns * cell_w + (columns + 1) * gap
    height = rows * cell_h + (rows + 1) * gap
    cells = list(POOL.map(lambda t: fitted(t[1], cell_w, cell_h), thumbs))
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.truetype(FONT, 12)
    padding = 3
    for index, ((frame, _), cell) in enumerate(zip(thumbs, cells)):
        x = gap + (index % columns) * (cell_w + gap)
        y = gap + (index // columns) * (cell_h + gap)
        sheet.paste(cell, (x + (cell_w - cell.width) // 2, y + (cell_h - cell.height) // 2))
        caption = f"frame {frame}"
        left, top, right, bottom = draw.textbbox((0, 0), caption, font=font)
        box = (x, y, x + right + 2 * padding, y + bottom + padding)
        region = sheet.crop(box)
        sheet.paste(Image.blend(region, Image.new("RGB", region.size, "black"), 0.6), box)
        draw.text((x + padding, y), caption, fill="white", font=font)
    return png(sheet, level)


def image_cloud(thumbs, level):
    size, thumb = 2000, 100
    margin = thumb // 2 + 2
    tiles = list(POOL.map(lambda t: fitted(t[1], thumb, thumb), thumbs))
    xs = [math.sqrt(f) * math.cos(f * GOLDEN_ANGLE) for f, _ in thumbs]
    ys = [math.sqrt(f) * math.sin(f * GOLDEN_ANGLE) for f, _ in thumbs]
    min_x, max_x, min_y, max_y = min(xs), max(xs), min(ys), max(ys)
    inner = size - 2 * margin
    scale = min(inner / (max_x - min_x), inner / (max_y - min_y))
    cloud = Image.new("RGB", (size, size), "white")
    for tile, x, y in zip(tiles, xs, ys):
        cx = size / 2 + (x - (min_x + max_x) / 2) * scale
        cy = size / 2 - (y - (min_y + max_y) / 2) * scale
        cloud.paste(tile, (round(cx - tile.width / 2), round(cy - tile.height / 2)))
    return png(cloud, level)


def png(image, level):
    out = io.BytesIO()
    image.save(out, "PNG", compress_level=level)
    return out.getvalue()


def points(n):
    i = np.arange(n, dtype=np.float64)
    group = (np.arange(n) % 10).astype(np.float64)
    h1 = np.sin(i * 12.9898) * 43758.5453
    h2 = np.sin(i * 78.233) * 43758.5453
    x = 10 * np.cos(group * 0.6283) + 6 * (h1 - np.floor(h1) - 0.5)
    y = 10 * np.sin(group * 0.6283) + 6 * (h2 - np.floor(h2) - 0.5)
    label = np.where(np.arange(n) % 20 == 0, -1, np.arange(n) % 10)
    return x, y, label


def scatter(data):
    x, y, label = data
    figure, axes = plt.subplots(figsize=(9, 7), dpi=100)
    noise = label == -1
    axes.scatter(x[noise], y[noise], s=9, c="lightgrey", label="noise")
    colours = plt.get_cmap("tab10")
    for group in range(10):
        mask = label == group
        axes.scatter(x[mask], y[mask], s=9, color=colours(group), label=str(group))
    axes.legend()
    axes.set_title("points by group")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=100)
    plt.close(figure)
    return out.getvalue()


def heatmap(n):
    a = np.arange(n)
    score = np.cos((a[:, None] - a[None, :]) * 0.3) * 0.5 + 0.5
    labels = [f"cluster {k}" for k in a]
    width = 60 + 130 + n * 36
    height = 110 + n * 36
    figure, axes = plt.subplots(figsize=(width / 100, height / 100), dpi=100)
    shown = axes.imshow(score, cmap="viridis")
    axes.set_xticks(a, labels, rotation=90)
    axes.set_yticks(a, labels)
    for r in range(n):
        for c in range(n):
            axes.text(c, r, f"{score[r, c]:.2f}", ha="center", va="center", fontsize=7)
    figure.colorbar(shown)
    axes.set_title("cluster similarity")
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=100)
    plt.close(figure)
    return out.getvalue()


def timed(make, repeat):
    result = make()  # untimed: fonts, caches, the pool's threads
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = make()
        seconds.append(time.perf_counter() - started)
    picture = Image.open(io.BytesIO(result))
    return statistics.median_high(seconds), picture.size, len(result)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--thumbs", required=True)
    parser.add_argument("--sheet", type=int, default=1000)
    parser.add_argument("--points", type=int, default=100000)
    parser.add_argument("--cells", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    thumbs = []
    for name in os.listdir(args.thumbs):
        with open(os.path.join(args.thumbs, name), "rb") as file:
            thumbs.append((int(name.split(".")[0]), file.read()))
    thumbs.sort()
    data = points(args.points)
    runs = [
        ("contact_sheet", "pillow", 1, lambda: contact_sheet(thumbs[: args.sheet], 1)),
        ("contact_sheet", "pillow", 6, lambda: contact_sheet(thumbs[: args.sheet], 6)),
        ("image_cloud", "pillow", 1, lambda: image_cloud(thumbs, 1)),
        ("image_cloud", "pillow", 6, lambda: image_cloud(thumbs, 6)),
        ("scatter", "matplotlib", None, lambda: scatter(data)),
        ("heatmap", "matplotlib", None, lambda: heatmap(args.cells)),
    ]
    for picture, side, level, make in runs:
        seconds, (width, height), size = timed(make, args.repeat)
        print(
            json.dumps(
                {
                    "bench": "pictures",
                    "side": side,
                    "picture": picture,
                    "png_compress_level": level,
                    "seconds": seconds,
                    "width": width,
                    "height": height,
                    "png_bytes": size,
                }
            ),
            flush=True,
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Adds a model to a model source: a directory that `reeldb model pull` downloads from when
any HTTP server serves it (`python3 -m http.server --directory DIR`).

    python3 scripts/model_source.py SOURCE_DIR NAME PATH [--option KEY=VALUE ...] [--entry FILE]

PATH is a model file (`model.onnx`) or a model directory (a CLIP export with its
`tokenizer.json`, ...). Its files are copied to SOURCE_DIR/NAME/ and described, with their
sizes and SHA-256, in SOURCE_DIR/NAME/reeldb-model.json; `--option` gives the `WITH` options
`CREATE MODEL` is to use (`layout=face-encoder`), `--entry` the file to add (by default the
model file, or the directory itself for a directory).
"""

import argparse
import hashlib
import json
import os
import shutil
import sys


def sha256(path):
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for block in iter(lambda: file.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", help="the model source directory (created if missing)")
    parser.add_argument("name", help="the model's name, as `reeldb model pull NAME` asks")
    parser.add_argument("path", help="a model file or a model directory")
    parser.add_argument("--option", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--entry", help="the file CREATE MODEL is given")
    args = parser.parse_args()

    options = {}
    for option in args.option:
        key, separator, value = option.partition("=")
        if not separator:
            sys.exit(f"--option {option}: write it as KEY=VALUE")
        options[key] = value
    target = os.path.join(args.source, args.name)
    if os.path.exists(target):
        shutil.rmtree(target)
    os.makedirs(target)
    if os.path.isdir(args.path):
        files = []
        for root, _, names in os.walk(args.path):
            for name in names:
                full = os.path.join(root, name)
                files.append((full, os.path.relpath(full, args.path).replace(os.sep, "/")))
        entry = args.entry
    else:
        files = [(args.path, os.path.basename(args.path))]
        entry = args.entry or os.path.basename(args.path)
    described = []
    for full, relative in sorted(files, key=lambda f: f[1]):
        copy = os.path.join(target, relative)
        os.makedirs(os.path.dirname(copy), exist_ok=True)
        shutil.copyfile(full, copy)
        described.append(
            {"path": relative, "bytes": os.path.getsize(copy), "sha256": sha256(copy)}
        )
    description = {"options": options, "files": described}
    if entry:
        description["entry"] = entry
    with open(os.path.join(target, "reeldb-model.json"), "w") as file:
        json.dump(description, file, indent=1)
        file.write("\n")
    print(f"{args.name}: {len(described)} file(s) in {target}")


if __name__ == "__main__":
    main()

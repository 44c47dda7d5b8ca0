#!/usr/bin/env python3
"""Writes the small data files the readers and data-set tests read.

Run from anywhere: `python3 packages/core/test/make-fixtures.py`. It needs numpy. The output
is deterministic (fixed formulas, gzip with mtime 0), so running it again gives the same
bytes; the files are committed. `expected.json` holds the values each file was written with,
so the tests compare what they read against what was written here.
"""

import gzip
import json
import struct
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent / "fixtures"

# IDX value type codes (big-endian data), from the MNIST format description.
IDX_TYPE = {np.dtype(np.uint8): 0x08, np.dtype(np.float32): 0x0D}


def idx_bytes(array: np.ndarray) -> bytes:
    code = IDX_TYPE[array.dtype]
    header = bytes([0, 0, code, array.ndim]) + b"".join(struct.pack(">I", d) for d in array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes(order="C")


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


def write(name: str, data: bytes) -> None:
    (OUT / name).write_bytes(data)


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    expected: dict = {}

    # IDX: 5 images of 4x3 uint8, labels, float32 values; a gzipped copy; a truncated copy.
    images = ((np.arange(5 * 4 * 3) * 37 + 11) % 256).astype(np.uint8).reshape(5, 4, 3)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    floats = (np.arange(6, dtype=np.float32).reshape(2, 3) - 2.5) * np.float32(0.75)
    write("images-idx3-ubyte", idx_bytes(images))
    write("images-idx3-ubyte.gz", gz(idx_bytes(images)))
    write("labels-idx1-ubyte", idx_bytes(labels))
    write("floats.idx", idx_bytes(floats))
    write("truncated-idx3-ubyte", idx_bytes(images)[:-7])
    expected["images"] = {"shape": list(images.shape), "values": images.ravel().tolist()}
    expected["labels"] = {"shape": list(labels.shape), "values": labels.tolist()}
    expected["floats"] = {"shape": list(floats.shape), "values": floats.ravel().tolist()}

    # A built-in data set folder (the four-file MNIST layout, train half only, one file gzipped).
    mini = OUT / "mini-idx"
    mini.mkdir(exist_ok=True)
    (mini / "train-images-idx3-ubyte.gz").write_bytes(gz(idx_bytes(images)))
    (mini / "train-labels-idx1-ubyte").write_bytes(idx_bytes(labels))

    # NPY: float32 2-D, uint8 3-D, float64 1-D, and a Fortran-order array (unsupported).
    f32 = (np.arange(12, dtype=np.float32).reshape(4, 3) / np.float32(8) - np.float32(0.5))
    u8 = ((np.arange(2 * 3 * 2) * 29) % 256).astype(np.uint8).reshape(2, 3, 2)
    f64 = np.array([0.1, -2.25, 1e-3, 12345.5, 3.0], dtype=np.float64)
    np.save(OUT / "f32-2d.npy", f32)
    np.save(OUT / "u8-3d.npy", u8)
    np.save(OUT / "f64-1d.npy", f64)
    np.save(OUT / "fortran.npy", np.asfortranarray(f32.reshape(3, 4)))
    # int64 (read through BigInt64Array), format version 2.0 (4-byte header length), big-endian.
    i8 = np.array([[-3, 0], [7, 1 << 40]], dtype=np.int64)
    np.save(OUT / "i8-2d.npy", i8)
    with open(OUT / "f32-v2.npy", "wb") as f:
        np.lib.format.write_array(f, f32, version=(2, 0))
    np.save(OUT / "f32-big-endian.npy", f32.astype(">f4"))
    expected["f32"] = {"shape": list(f32.shape), "values": f32.ravel().tolist()}
    expected["u8"] = {"shape": list(u8.shape), "values": u8.ravel().tolist()}
    expected["i8"] = {"shape": list(i8.shape), "values": i8.ravel().tolist()}
    # float64 values as float32 would round them (readers return Float32Array).
    expected["f64"] = {
        "shape": list(f64.shape),
        "values": f64.astype(np.float32).astype(np.float64).tolist(),
    }

    # CSV: with a header, without one, and with a non-numeric cell on data row 3, column 2.
    table = np.array(
        [[1.5, 10, -3], [2.5, 20, -3], [3.5, 60, -3], [4.5, 30, -3], [8.0, 80, -3], [0.0, 40, -3]],
        dtype=np.float64,
    )
    lines = [",".join(f"{v:g}" for v in row) for row in table]
    write("with-header.csv", ("x,y,const\n" + "\n".join(lines) + "\n").encode())
    write("no-header.csv", ("\n".join(lines) + "\n").encode())
    bad = list(lines)
    bad[2] = "3.5,abc,-3"
    write("bad-cell.csv", ("x,y,const\n" + "\n".join(bad) + "\n").encode())
    expected["table"] = {
        "shape": list(table.shape),
        "header": ["x", "y", "const"],
        "values": table.ravel().tolist(),
        "mean": table.mean(axis=0).tolist(),
        # Population standard deviation (ddof=0), the one normalisation uses.
        "std": table.std(axis=0).tolist(),
    }

    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")


if __name__ == "__main__":
    main()

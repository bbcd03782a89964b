#!/usr/bin/env python3
# SPDX-License-Identifier: LGPL-2.1-or-later
"""Extracts the uncompressed ELF vmlinux from a Linux bzImage whose payload
is xz or gzip (found by its magic, unpacked with Python's lzma or zlib).
Usage: vmlinux.py BZIMAGE OUTPUT"""

import lzma
import sys
import zlib


def extract(data):
    i = data.find(b"\xfd7zXZ\x00")
    if i >= 0:
        dec = lzma.LZMADecompressor(format=lzma.FORMAT_XZ)
        out = dec.decompress(data[i:])
        if out[:4] == b"\x7fELF":
            return out
    i = data.find(b"\x1f\x8b\x08")
    while i >= 0:
        try:
            out = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[i:])
            if out[:4] == b"\x7fELF":
                return out
        except zlib.error:
            pass
        i = data.find(b"\x1f\x8b\x08", i + 1)
    return None


def main():
    if len(sys.argv) != 3:
        print("usage: vmlinux.py BZIMAGE OUTPUT", file=sys.stderr)
        return 2
    with open(sys.argv[1], "rb") as f:
        out = extract(f.read())
    if out is None:
        print("vmlinux.py: %s: no xz or gzip payload holding an ELF image" % sys.argv[1],
              file=sys.stderr)
        return 1
    with open(sys.argv[2], "wb") as f:
        f.write(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Writes a copy of a recorded 2-socket hwloc XML with interleaved CPU
numbering: the k-th PU of socket 0 becomes PU 2k and the k-th PU of socket 1
becomes PU 2k+1 (CPU 0 on socket 0, CPU 1 on socket 1, ...), as the BIOS of
many Intel/AMD servers numbers them. Only PU os_index values and cpuset
bitmaps change; the tree, the I/O devices and the NUMA nodes stay.

    make-interleaved.py aws-g4dn-metal-8xt4.xml aws-g4dn-metal-8xt4-interleaved.xml
"""
import re
import sys


def parse(mask):
    """hwloc bitmap text ('0x000000ff,,0x0': 32-bit words, most significant first) -> set."""
    words = mask.split(",")
    bits = set()
    for pos, word in enumerate(reversed(words)):
        value = int(word, 16) if word else 0
        for b in range(32):
            if value >> b & 1:
                bits.add(pos * 32 + b)
    return bits


def unparse(bits):
    if not bits:
        return "0x0"
    words = [0] * (max(bits) // 32 + 1)
    for b in bits:
        words[b // 32] |= 1 << (b % 32)
    return ",".join("0x%08x" % w for w in reversed(words))


def main(src, dst):
    text = open(src).read()
    packages = re.findall(r'<object type="Package"[^>]* cpuset="([^"]*)"', text)
    if len(packages) != 2:
        sys.exit("expected 2 packages, found %d" % len(packages))
    mapping = {}
    for socket, mask in enumerate(packages):
        for k, pu in enumerate(sorted(parse(mask))):
            mapping[pu] = 2 * k + socket

    def remap_set(m):
        return '%s="%s"' % (m.group(1), unparse({mapping.get(b, b) for b in parse(m.group(2))}))

    out = re.sub(r'\b((?:complete_|allowed_|online_)?cpuset)="([^"]*)"', remap_set, text)
    out = re.sub(r'(<object type="PU" os_index=")(\d+)"',
                 lambda m: '%s%d"' % (m.group(1), mapping[int(m.group(2))]), out)
    # No comment saying so in the file: hwloc's own XML parser (used when
    # libxml2 is not loaded) rejects comments. README.md says it.
    open(dst, "w").write(out)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])

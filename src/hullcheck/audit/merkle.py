"""The Merkle tree of RFC 9162 (Certificate Transparency v2, §2.1) over the audit log.

Leaves are hashed ``SHA-256(0x00 || record)`` and interior nodes ``SHA-256(0x01 || left ||
right)``; a tree of ``n`` leaves splits at the largest power of two below ``n``. A tree head
(size and root) commits to every record before it: an inclusion proof shows one record is in
it, a consistency proof that a larger tree extends a smaller one without changing anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

HASH_SIZE = 32
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(record: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + record).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def root(leaves: Sequence[bytes]) -> bytes:
    """The root of the tree of these leaf hashes (level by level: the last node of an odd
    level moves up unchanged, which is the RFC's split at the largest power of two)."""
    if not leaves:
        return EMPTY_ROOT
    level = list(leaves)
    sha256 = hashlib.sha256
    while len(level) > 1:
        paired = [
            sha256(b"\x01" + level[i] + level[i + 1]).digest() for i in range(0, len(level) - 1, 2)
        ]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return level[0]


class Frontier:
    """The perfect subtrees a log of ``size`` leaves ends with: appending a leaf and reading
    the root cost O(log n), so a log never re-reads its records to grow."""

    def __init__(self, size: int = 0, hashes: Sequence[bytes] = ()) -> None:
        if len(hashes) != bin(size).count("1"):
            raise ValueError(f"a frontier of {size} leaves has {bin(size).count('1')} hashes")
        self.size = size
        self.hashes = list(hashes)
        """Roots of the perfect subtrees, largest (leftmost) first."""

    def append(self, leaf: bytes) -> None:
        hashes = self.hashes
        hashes.append(leaf)
        self.size += 1
        merged = self.size
        sha256 = hashlib.sha256
        while not merged & 1:  # each trailing zero bit: two equal subtrees to merge
            right = hashes.pop()
            hashes[-1] = sha256(b"\x01" + hashes[-1] + right).digest()
            merged >>= 1

    def root(self) -> bytes:
        if not self.hashes:
            return EMPTY_ROOT
        value = self.hashes[-1]
        for left in reversed(self.hashes[:-1]):
            value = node_hash(left, value)
        return value


def _split(n: int) -> int:
    """The largest power of two smaller than ``n`` (``n`` > 1)."""
    return 1 << ((n - 1).bit_length() - 1)


def inclusion_proof(index: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PATH(index, leaves) of RFC 9162 §2.1.3.1."""
    if not 0 <= index < len(leaves):
        raise ValueError(f"leaf {index} is not in a tree of {len(leaves)}")
    if len(leaves) == 1:
        return []
    k = _split(len(leaves))
    if index < k:
        return [*inclusion_proof(index, leaves[:k]), root(leaves[k:])]
    return [*inclusion_proof(index - k, leaves[k:]), root(leaves[:k])]


def consistency_proof(old_size: int, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old_size, leaves) of RFC 9162 §2.1.4.1."""
    if not 0 < old_size <= len(leaves):
        raise ValueError(f"no consistency proof from {old_size} to {len(leaves)} leaves")
    return _subproof(old_size, leaves, True)


def _subproof(m: int, leaves: Sequence[bytes], complete: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if complete else [root(leaves)]
    k = _split(n)
    if m <= k:
        return [*_subproof(m, leaves[:k], complete), root(leaves[k:])]
    return [*_subproof(m - k, leaves[k:], False), root(leaves[:k])]


def verify_inclusion(
    index: int, size: int, leaf: bytes, proof: Sequence[bytes], expected_root: bytes
) -> bool:
    """RFC 9162 §2.1.3.2."""
    if not 0 <= index < size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            r = node_hash(p, r)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return sn == 0 and r == expected_root


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> bool:
    """RFC 9162 §2.1.4.2."""
    if old_size > new_size or old_size == 0:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if not proof:
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # a power of two: the old root is the first node
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn % 2 == 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn % 2 == 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            if fn % 2 == 0:
                while fn % 2 == 0 and fn != 0:
                    fn >>= 1
                    sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root


def consistency_proof_from(old: Frontier, leaves: Sequence[bytes]) -> list[bytes]:
    """PROOF(old.size, D[0:old.size + len(leaves)]) from the old tree's frontier and only
    the leaves appended since: every node the proof takes from the old tree is one of its
    frontier's perfect subtrees (RFC 9162 §2.1.4.1 splits at powers of two), so a publisher
    proves a log grew without re-reading it from the start."""
    m = old.size
    if m == 0:
        raise ValueError("no consistency proof from an empty tree")
    held: dict[tuple[int, int], bytes] = {}
    start = 0
    for bit, node in zip(_bits(m), old.hashes, strict=True):
        held[(start, start + bit)] = node
        start += bit

    def hashed(begin: int, end: int) -> bytes:
        if end <= m:
            return held[(begin, end)]
        return root(leaves[begin - m : end - m])

    def subproof(begin: int, end: int, size: int, complete: bool) -> list[bytes]:
        n = end - begin
        if size == n:
            return [] if complete else [hashed(begin, end)]
        k = _split(n)
        if size <= k:
            return [*subproof(begin, begin + k, size, complete), hashed(begin + k, end)]
        return [*subproof(begin + k, end, size - k, False), hashed(begin, begin + k)]

    return subproof(0, m + len(leaves), m, True)


def _bits(size: int) -> list[int]:
    """The sizes of the perfect subtrees a tree of ``size`` leaves ends with, largest first."""
    return [1 << b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]

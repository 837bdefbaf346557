"""The Merkle tree of RFC 9162 (Certificate Transparency v2, §2.1) over the audit log.

Leaves are hashed ``SHA-256(0x00 || record)`` and interior nodes ``SHA-256(0x01 || left ||
right)``; a tree of ``n`` leaves splits at the largest power of two below ``n``. A tree head
(size and root) commits to every record before it: an inclusion proof shows one record is in
it, a consistency proof that a larger tree extends a smaller one without changing anything.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence

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


def extend_with_proof(
    old: Frontier, leaves: Iterable[bytes], new_size: int
) -> tuple[Frontier, list[bytes]]:
    """The tree ``old`` grown by ``leaves`` to ``new_size``, and PROOF(old.size, D[new_size])
    of RFC 9162 §2.1.4.1 that it extends ``old``: from the old tree's frontier and only the
    leaves appended since, read once in order, in memory of O(log n).

    Every node the proof takes from the old tree is one of its frontier's perfect subtrees
    (the RFC splits at powers of two); the others are subtrees of the new leaves, disjoint,
    each built as the leaves stream past."""
    m = old.size
    if not 0 < m <= new_size:
        raise ValueError(f"no consistency proof from {m} to {new_size} leaves")
    held: dict[tuple[int, int], bytes] = {}
    start = 0
    for bit, node in zip(_bits(m), old.hashes, strict=True):
        held[(start, start + bit)] = node
        start += bit
    wanted: list[tuple[int, int]] = []  # in the proof's order

    def subproof(begin: int, end: int, size: int, complete: bool) -> None:
        n = end - begin
        if size == n:
            if not complete:
                wanted.append((begin, end))
            return
        k = _split(n)
        if size <= k:
            subproof(begin, begin + k, size, complete)
            wanted.append((begin + k, end))
        else:
            subproof(begin + k, end, size - k, False)
            wanted.append((begin, begin + k))

    subproof(0, new_size, m, True)
    building = {r: Frontier() for r in wanted if r[1] > m}  # (never across m: see above)
    starts = sorted(building)
    grown = Frontier(m, old.hashes)
    position, current = m, 0
    for leaf in leaves:
        if position >= new_size:
            break
        while current < len(starts) and starts[current][1] <= position:
            current += 1
        if current < len(starts) and starts[current][0] <= position:
            building[starts[current]].append(leaf)
        grown.append(leaf)
        position += 1
    if position != new_size:
        raise ValueError(f"{position - m} leaves given, {new_size - m} wanted")
    proof = [held[r] if r[1] <= m else building[r].root() for r in wanted]
    return grown, proof


def _bits(size: int) -> list[int]:
    """The sizes of the perfect subtrees a tree of ``size`` leaves ends with, largest first."""
    return [1 << b for b in range(size.bit_length() - 1, -1, -1) if size >> b & 1]

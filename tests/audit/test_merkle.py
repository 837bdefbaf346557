"""The audit log's Merkle tree and signed checkpoints, on published test vectors."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from hullcheck.audit import merkle
from hullcheck.audit.note import Checkpoint, NoteError, SignerKey, VerifierKey, open_note

DATA = os.path.join(os.path.dirname(__file__), "..", "data", "audit")


def _load(name: str) -> dict[str, Any]:
    with open(os.path.join(DATA, name), encoding="utf-8") as handle:
        loaded: dict[str, Any] = json.load(handle)
    return loaded


CT = _load("ct-merkle.json")
LEAVES = [merkle.leaf_hash(bytes.fromhex(leaf)) for leaf in CT["leaves"]]


def _hashes(hexes: list[str]) -> list[bytes]:
    return [bytes.fromhex(h) for h in hexes]


def test_roots_of_every_size_are_certificate_transparencys() -> None:
    assert merkle.root([]).hex() == CT["empty_root"]
    frontier = merkle.Frontier()
    for size, expected in enumerate(CT["roots"], start=1):
        assert merkle.root(LEAVES[:size]).hex() == expected
        frontier.append(LEAVES[size - 1])
        assert frontier.root().hex() == expected
        resumed = merkle.Frontier(frontier.size, frontier.hashes)  # as stored and read back
        assert resumed.root().hex() == expected


@pytest.mark.parametrize("vector", CT["inclusion"], ids=lambda v: f"{v['index']}-of-{v['size']}")
def test_inclusion_proofs(vector: dict[str, Any]) -> None:
    index, size, proof = vector["index"], vector["size"], _hashes(vector["proof"])
    assert merkle.inclusion_proof(index, LEAVES[:size]) == proof
    root = bytes.fromhex(CT["roots"][size - 1])
    assert merkle.verify_inclusion(index, size, LEAVES[index], proof, root)
    other = (index + 1) % size
    if other != index:
        assert not merkle.verify_inclusion(index, size, LEAVES[other], proof, root)
    assert not merkle.verify_inclusion(index, size, LEAVES[index], proof, bytes(32))
    assert not merkle.verify_inclusion(size, size, LEAVES[index], proof, root)


@pytest.mark.parametrize(
    "vector", CT["consistency"], ids=lambda v: f"{v['first']}-to-{v['second']}"
)
def test_consistency_proofs(vector: dict[str, Any]) -> None:
    first, second, proof = vector["first"], vector["second"], _hashes(vector["proof"])
    assert merkle.consistency_proof(first, LEAVES[:second]) == proof
    old, new = bytes.fromhex(CT["roots"][first - 1]), bytes.fromhex(CT["roots"][second - 1])
    assert merkle.verify_consistency(first, second, proof, old, new)
    if first != second:
        # a log that rewrote an old record: its new tree does not extend the old one
        forged = merkle.root([*LEAVES[: first - 1], LEAVES[7], *LEAVES[first:second]])
        assert not merkle.verify_consistency(first, second, proof, old, forged)
        assert not merkle.verify_consistency(first, second, proof[:-1], old, new)


def test_every_proof_of_a_larger_tree_verifies() -> None:
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(37)]
    for size in range(1, 38):
        root = merkle.root(leaves[:size])
        for index in range(size):
            proof = merkle.inclusion_proof(index, leaves[:size])
            assert merkle.verify_inclusion(index, size, leaves[index], proof, root)
        for old in range(1, size + 1):
            proof = merkle.consistency_proof(old, leaves[:size])
            assert merkle.verify_consistency(old, size, proof, merkle.root(leaves[:old]), root)


def test_a_consistency_proof_from_the_old_frontier_and_the_new_leaves_is_the_rfcs() -> None:
    """What a publisher sends with each checkpoint: made without the old leaves."""
    leaves = [merkle.leaf_hash(str(i).encode()) for i in range(70)]
    for size in range(1, 70):
        for old in range(1, size + 1):
            frontier = merkle.Frontier()
            for leaf in leaves[:old]:
                frontier.append(leaf)
            grown, proof = merkle.extend_with_proof(frontier, iter(leaves[old:]), size)
            assert proof == merkle.consistency_proof(old, leaves[:size])
            assert (grown.size, grown.root()) == (size, merkle.root(leaves[:size]))
    with pytest.raises(ValueError):
        merkle.extend_with_proof(merkle.Frontier(), leaves, 3)
    with pytest.raises(ValueError):  # fewer leaves than the new size needs
        merkle.extend_with_proof(merkle.Frontier(1, leaves[:1]), leaves[1:3], 5)


GO = _load("go-note.json")


def test_notes_are_signed_as_go_signs_them() -> None:
    signer = SignerKey.parse(GO["signer_key"])
    assert str(signer) == GO["signer_key"]
    assert str(signer.verifier()) == GO["verifier_key"]
    assert signer.sign(GO["text"]) == GO["note"]  # Ed25519 is deterministic: byte for byte
    verifier = VerifierKey.parse(GO["verifier_key"])
    assert open_note(GO["note"], verifier) == GO["text"]


@pytest.mark.parametrize(
    "edit",
    [
        lambda n: n.replace("cryptography", "cryptographY"),
        lambda n: n.replace("x08go", "x08gO"),
        lambda n: n.replace("\n\n", "\n"),
        lambda n: n.replace("\u2014 PeterNeumann", "\u2014 PaulNeumann"),
    ],
    ids=["text", "signature", "no-blank-line", "other-signer"],
)
def test_an_edited_note_does_not_open(edit: Any) -> None:
    with pytest.raises(NoteError):
        open_note(edit(GO["note"]), VerifierKey.parse(GO["verifier_key"]))


def test_keys_whose_hash_does_not_match_are_refused() -> None:
    name, hash_hex, key = GO["verifier_key"].split("+", 2)
    with pytest.raises(NoteError, match="its hash is not"):
        VerifierKey.parse(f"{name}+00000000+{key}")
    with pytest.raises(NoteError, match="not an Ed25519"):
        VerifierKey.parse(f"{name}+{hash_hex}+AAAA")


def test_a_checkpoint_is_signed_and_read_back() -> None:
    signer = SignerKey.generate("audit.example/prod-1")
    checkpoint = Checkpoint("audit.example/prod-1", 8, bytes.fromhex(CT["roots"][7]))
    assert checkpoint.text() == (
        "audit.example/prod-1\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    )
    note = signer.sign(checkpoint.text())
    assert Checkpoint.parse(open_note(note, signer.verifier())) == checkpoint
    with pytest.raises(NoteError, match="not a number"):
        Checkpoint.parse("origin\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n")

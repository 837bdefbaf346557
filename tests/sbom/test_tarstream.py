"""The lean tar reader against Python's ``tarfile``: the same entries, names, types, sizes,
modes, link targets and data, on tars ``tarfile`` writes in every format and on the real
layers of a test image; and the hostile streams it refuses where ``tarfile`` is lenient."""

from __future__ import annotations

import hashlib
import io
import tarfile
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from hullcheck.errors import LayerError
from hullcheck.sbom.tarstream import MAX_META_BYTES, MAX_META_HEADERS, TarStream

FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}


def with_tarfile(data: bytes) -> list[tuple[Any, ...]]:
    found = []
    with tarfile.open(fileobj=io.BytesIO(data), mode="r|") as archive:
        for member in archive:
            content = None
            if member.isreg():
                handle = archive.extractfile(member)
                assert handle is not None
                content = handle.read()
            found.append(
                (member.name, member.type, member.size, member.mode, member.linkname, content)
            )
    return found


def with_tarstream(read: Callable[[int], bytes]) -> list[tuple[Any, ...]]:
    stream = TarStream(read, "test")
    return [
        (e.name, e.type, e.size, e.mode, e.linkname, stream.read() if e.isreg() else None)
        for e in stream
    ]


def dribble(data: bytes, sizes: list[int]) -> Callable[[int], bytes]:
    """A source answering each read with at most the next of ``sizes`` bytes (a decompressor
    hands out uneven chunks)."""
    view = io.BytesIO(data)
    turns = iter(sizes)

    def read(size: int) -> bytes:
        return view.read(min(size, next(turns, size)))

    return read


names = st.lists(
    st.text(
        st.characters(blacklist_categories=("Cs", "Cc"), blacklist_characters="/\\"),
        min_size=1,
        max_size=60,
    ).filter(lambda part: part not in (".", "..")),
    min_size=1,
    max_size=6,
).map("/".join)
entries = st.lists(
    st.tuples(
        st.sampled_from(["file", "dir", "symlink", "link", "fifo"]),
        names,
        st.binary(max_size=1500),
        names,
        st.integers(0, 0o7777),
    ),
    max_size=12,
)


def build(items: list[tuple[str, str, bytes, str, int]], form: str, comment: bool) -> bytes:
    buffer = io.BytesIO()
    headers = {"comment": "a global pax header"} if comment and form == "pax" else None
    with tarfile.open(fileobj=buffer, mode="w", format=FORMATS[form], pax_headers=headers) as tar:
        for kind, name, data, target, mode in items:
            info = tarfile.TarInfo(name)
            info.mode = mode
            if kind == "file":
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
                continue
            info.type = {
                "dir": tarfile.DIRTYPE,
                "symlink": tarfile.SYMTYPE,
                "link": tarfile.LNKTYPE,
                "fifo": tarfile.FIFOTYPE,
            }[kind]
            info.linkname = target if kind in ("symlink", "link") else ""
            tar.addfile(info)
    return buffer.getvalue()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries,
    st.sampled_from(sorted(FORMATS)),
    st.booleans(),
    st.lists(st.integers(1, 3000), max_size=40),
)
def test_reads_what_tarfile_reads(items, form, comment, chunks) -> None:  # type: ignore[no-untyped-def]
    # a global pax header and nothing after it: tarfile raises, this reader finds no entry
    assume(items or not comment)
    try:
        data = build(items, form, comment)
    except ValueError:  # ustar cannot hold a long or non-ASCII name: nothing to compare
        return
    expected = with_tarfile(data)
    assert with_tarstream(io.BytesIO(data).read) == expected
    assert with_tarstream(dribble(data, chunks)) == expected


def test_partial_reads_skip_the_rest_of_the_entry() -> None:
    data = build(
        [("file", "a", b"\x7fELF" + b"x" * 5000, "", 0o755), ("file", "b", b"second", "", 0o644)],
        "pax",
        False,
    )
    stream = TarStream(io.BytesIO(data).read, "test")
    seen = [(entry.name, stream.read(4)) for entry in stream]
    assert seen == [("a", b"\x7fELF"), ("b", b"seco")]


def test_real_layers_of_a_test_image(images) -> None:  # type: ignore[no-untyped-def]
    # every layer of the Debian-based image with Python packages: thousands of entries that
    # Docker's own tar writer made (pax records, hardlinks, long names)
    with tarfile.open(images.archive("python")) as archive:
        layers = [m for m in archive.getmembers() if m.name.endswith("layer.tar")]
        assert layers
        for member in layers:
            blob = archive.extractfile(member)
            assert blob is not None
            data = blob.read()
            expected = [(*e[:5], digest(e[5])) for e in with_tarfile(data)]
            found = [(*e[:5], digest(e[5])) for e in with_tarstream(io.BytesIO(data).read)]
            assert found == expected
            assert len(found) > 0


def digest(data: bytes | None) -> str | None:
    return None if data is None else hashlib.sha256(data).hexdigest()


def good() -> bytes:
    return build(
        [
            ("dir", "etc", b"", "", 0o755),
            ("file", "etc/os-release", b"ID=debian\n", "", 0o644),
            ("file", "etc/hostname", b"h\n", "", 0o644),
        ],
        "pax",
        False,
    )


def read_all(data: bytes) -> None:
    stream = TarStream(io.BytesIO(data).read, "layer.tar")
    for entry in stream:
        if entry.isreg():
            stream.read()


def test_a_bad_checksum_after_the_first_entry_is_a_broken_layer() -> None:
    # tarfile ends its walk there without a word; Docker's reader refuses the layer
    data = bytearray(good())
    data[3 * 512 + 10] ^= 0xFF  # inside the third entry's header (after a data block)
    with pytest.raises(LayerError, match=r"layer.tar: broken tar stream \(bad header checksum"):
        read_all(bytes(data))


def test_text_is_not_a_tar_stream() -> None:
    with pytest.raises(LayerError, match="layer.tar: not a tar stream"):
        read_all(b"this is plain text, not a tar stream\n" * 40)
    with pytest.raises(LayerError, match="not a tar stream"):
        read_all(b"")


@pytest.mark.parametrize("cut", [100, 512 + 5, 1024 + 300])
def test_truncated_streams_are_refused(cut: int) -> None:
    # inside the first header, inside the second, inside the second entry's data block
    with pytest.raises(LayerError, match="layer.tar: truncated tar stream"):
        read_all(good()[:cut])


def test_a_stream_cut_inside_an_entry_is_truncated() -> None:
    big = build([("file", "blob", b"z" * 100_000, "", 0o644)], "ustar", False)
    with pytest.raises(LayerError, match="truncated tar stream"):
        read_all(big[:50_000])


def test_oversized_pax_header_is_refused() -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("f")
        info.pax_headers = {"comment": "x" * (MAX_META_BYTES + 1)}
        tar.addfile(info, io.BytesIO(b""))
    with pytest.raises(LayerError, match="over the 1048576-byte limit"):
        read_all(buffer.getvalue())


def test_too_many_long_name_headers_are_refused() -> None:
    one = build([("file", "d/" * 80 + "f", b"", "", 0o644)], "gnu", False)
    # a GNU long-name header and its data block, then the entry's own header
    long_name, rest = one[: 2 * 512], one[2 * 512 :]
    with pytest.raises(LayerError, match=f"more than {MAX_META_HEADERS} pax or long-name"):
        read_all(long_name * (MAX_META_HEADERS + 1) + rest)


def test_malformed_pax_records_are_refused() -> None:
    data = build([("file", "é" * 20, b"data", "", 0o644)], "pax", False)
    assert b" path=" in data
    with pytest.raises(LayerError, match="pax size"):
        read_all(data.replace(b" path=", b" size=", 1))  # a size that is not a number
    # the record (at the start of the pax header's data) claims more than the data holds
    assert data[512:514] == b"49"
    with pytest.raises(LayerError, match="malformed pax record"):
        read_all(data[:512] + b"9" + data[513:])


def test_base_256_sizes_are_read() -> None:
    # GNU tar writes sizes of 8 GiB and more in base-256: the header parses, and a stream
    # that ends long before that size is truncated
    info = tarfile.TarInfo("huge")
    info.size = 9 * 1024**3
    header = info.tobuf(tarfile.GNU_FORMAT, "utf-8", "surrogateescape")
    assert header[124] == 0o200
    stream = TarStream(io.BytesIO(header + b"x" * 4096).read, "layer.tar")
    entry = next(iter(stream))
    assert entry.size == tarfile.TarInfo.frombuf(header[:512], "utf-8", "strict").size
    with pytest.raises(LayerError, match="truncated"):
        stream.read()

"""How hullcheck creates and replaces files, as root on a host full of other people's files.

- An output the user names (``-o PATH``) replaces a regular file atomically (a temporary file
  beside it, renamed over it), keeps that file's mode, and is created private (0600) when new.
  A character device, a FIFO or a socket — ``/dev/null``, ``/dev/stdout``, a named pipe — is
  written through, as a shell redirection would; it is never replaced. A symbolic link is
  followed only to such a stream: a link to a regular file is refused, since in a shared
  directory it may have been planted to make root overwrite ``/etc/shadow``. ``-`` is
  standard output.
- hullcheck's own files (the store, keys) are created 0600 in directories created 0700, with
  ``O_NOFOLLOW``: a symlink planted where one of them should be is refused, not followed.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import sys
from collections.abc import Iterable

from hullcheck.errors import UsageError

_STREAMS = (stat.S_ISCHR, stat.S_ISFIFO, stat.S_ISSOCK)


def write_output(path: str | None, text: str) -> None:
    """Write ``text`` to standard output (``None`` or ``-``) or to ``path`` as the module says;
    a path that cannot be written is a :class:`UsageError` naming it."""
    if path is None or path == "-":
        sys.stdout.write(text)
        return
    write_chunks(path, [text.encode("utf-8")])


def write_chunks(path: str | None, chunks: Iterable[bytes]) -> None:
    """:func:`write_output` of bytes made as they are written (an output too large to hold
    in memory): a regular file is still replaced only once every chunk is written."""
    if path is None or path == "-":
        for chunk in chunks:
            sys.stdout.buffer.write(chunk)
        return
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        info = None
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None
    try:
        if info is None or stat.S_ISREG(info.st_mode):
            _replace(path, chunks, None if info is None else stat.S_IMODE(info.st_mode))
        elif stat.S_ISDIR(info.st_mode):
            raise UsageError(f"{path}: is a directory")
        else:
            _write_through(path, chunks)
    except OSError as exc:
        raise UsageError(f"{path}: cannot write ({exc.strerror})") from None


def _replace(path: str, chunks: Iterable[bytes], mode: int | None) -> None:
    """Write a temporary file beside ``path`` and rename it over ``path`` (which ``rename``
    replaces whatever it became meanwhile, without following a link there)."""
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.hullcheck-{secrets.token_hex(6)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            if mode is not None:
                os.fchmod(handle.fileno(), mode)
            handle.writelines(chunks)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


def _write_through(path: str, chunks: Iterable[bytes]) -> None:
    """Write into a device, FIFO or socket at ``path`` (through a link, too), never creating
    or truncating anything: what was opened is checked before a byte is written."""
    fd = os.open(path, os.O_WRONLY | os.O_NOCTTY | os.O_CLOEXEC)
    with os.fdopen(fd, "wb") as handle:
        mode = os.fstat(fd).st_mode
        if not any(kind(mode) for kind in _STREAMS):
            what = "a block device" if stat.S_ISBLK(mode) else "a link to a regular file"
            raise UsageError(
                f"{path}: is {what}; refusing to write there",
                hint="name the file itself, not a link to it",
            )
        handle.writelines(chunks)


def private_dir(path: str) -> str:
    """Create ``path`` (and its parents) 0700 where missing; ``path``."""
    os.makedirs(path, mode=0o700, exist_ok=True)
    return path


def private_file(path: str) -> bool:
    """Create ``path`` empty and 0600 when it does not exist; ``True`` when it was created
    here. Anything but a regular file already there (a planted link) is refused."""
    private_dir(os.path.dirname(os.path.abspath(path)))
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    except FileExistsError:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            raise UsageError(f"{path}: is not a regular file; refusing to use it") from None
        return False
    os.close(fd)
    return True


def readable_by_others(path: str) -> bool:
    """Whether users other than the owner may read ``path`` (missing: no)."""
    try:
        return bool(os.stat(path).st_mode & 0o044)
    except OSError:
        return False

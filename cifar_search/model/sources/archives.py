"""Tar archives (plain, gzip, bzip2 or xz), streamed within bounds, never extracted to disk.

The compression is recognised by its magic bytes, not by the name. Each member is checked by
its header before its bytes are read; what the archive expands to is counted as it is
decompressed (:class:`_Bounded`), so a small archive that expands hugely is refused by what is
read, not after reading it all. An archive is read to its end, so a truncated or corrupt one is
refused rather than half read. It holds cifar-10-python batches or an image-folder tree.
"""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile
import zlib
from collections.abc import Callable
from pathlib import Path, PurePosixPath
from typing import BinaryIO, Protocol

from cifar_search.errors import DataError
from cifar_search.model.sources import files
from cifar_search.model.sources.base import (
    ACCEPTED,
    MIB,
    Decoded,
    Limits,
    amount,
    fine_only,
    reason,
)
from cifar_search.model.sources.batches import (
    BATCH_FILES,
    CIFAR100_FILES,
    decode_batches,
    decode_cifar100,
)
from cifar_search.model.sources.images import SPLITS, Tree, decode_tree, is_image_name

_ARCHIVE_ERRORS = (tarfile.TarError, EOFError, OSError, zlib.error, lzma.LZMAError)


class _TarBytes(Protocol):
    """What :class:`_Bounded` reads: the archive file, or a stream that decompresses it."""

    def read(self, size: int = -1, /) -> bytes: ...

    def tell(self) -> int: ...

    def seek(self, offset: int, whence: int = io.SEEK_SET, /) -> int: ...


def _gunzip(handle: BinaryIO) -> _TarBytes:
    """A gzip stream over the file."""
    return gzip.GzipFile(fileobj=handle)


#: Magic bytes of the compressions a tar archive may have, and their readers.
_DECOMPRESSORS: tuple[tuple[bytes, Callable[[BinaryIO], _TarBytes]], ...] = (
    (b"\x1f\x8b", _gunzip), (b"BZh", bz2.BZ2File), (b"\xfd7zXZ\x00", lzma.LZMAFile))
_COMPRESSED = tuple(magic for magic, _ in _DECOMPRESSORS)


def read_archive(path: Path, limits: Limits, labels: str = "fine") -> Decoded:
    """Decode a cifar-10-python, cifar-100-python (with its ``labels``) or image-folder tar
    archive, streaming its members."""
    found, folders = _read_tar(path, limits)
    metas = sorted(name for name in found if PurePosixPath(name).name == "meta"
                   and _sibling(name, "train") in found)
    if metas:
        prefix = str(PurePosixPath(metas[0]).parent)
        wanted = {n: found[_join(prefix, n)] for n in CIFAR100_FILES if _join(prefix, n) in found}
        return decode_cifar100(wanted, str(path), ": ", limits, labels)
    fine_only(labels, str(path))
    batches = sorted(name for name in found if PurePosixPath(name).name == "data_batch_1")
    if batches:
        prefix = str(PurePosixPath(batches[0]).parent)
        wanted = {n: found[_join(prefix, n)] for n in BATCH_FILES if _join(prefix, n) in found}
        return decode_batches(wanted, str(path), ": ", limits)
    tree = _tar_tree(path, found, folders)
    if tree is None:
        raise DataError(f"{path}: an archive without cifar-10-batches-py/data_batch_* files or "
                        f"train/<class>/ and test/<class>/ images; accepted: {ACCEPTED}")
    return decode_tree(tree, str(path), limits)


def _read_tar(path: Path, limits: Limits) -> tuple[dict[str, bytes], set[str]]:
    """Bytes of the members that may be batches or images, and the folder names."""
    with files.open_regular(path, str(path), None) as handle:
        head = _head(handle, path)
        try:
            stream = _Bounded(_decompressed(handle, head), path, limits)
        except _ARCHIVE_ERRORS as error:
            raise _corrupt(path, error) from None
        with _open_tar(stream, path, head) as archive:
            try:
                members = _read_members(archive, path, limits)
                if stream.compressed:  # read to the end: checks the length and CRC
                    stream.drain()
                else:  # plain tar: the block reading stopped at is zeros
                    _check_tar_end(archive)
            except _ARCHIVE_ERRORS as error:
                raise _corrupt(path, error) from None
    return members


def _corrupt(path: Path, error: BaseException) -> DataError:
    """The error for an archive that cannot be read to its end."""
    return DataError(f"{path}: the archive is truncated or corrupt ({reason(error)}); "
                     "download or copy it again")


def _read_members(archive: tarfile.TarFile, path: Path, limits: Limits
                  ) -> tuple[dict[str, bytes], set[str]]:
    """Read the wanted members, each checked by its header before its bytes are read."""
    found: dict[str, bytes] = {}
    folders: set[str] = set()
    for count, member in enumerate(archive, start=1):
        name = _member_name(member.name)
        if count > limits.files:
            raise DataError(f"{path}: more than {limits.files} members; an archive may hold at "
                            f"most {limits.files} files and folders (CIFAR-10 has 60000 images)")
        wanted = not member.isdir() and _is_wanted_member(name)
        if wanted and member.size > limits.file_bytes:
            raise DataError(f"{path}: {name}: a member of {amount(member.size)}; an archive "
                            f"member may be at most {amount(limits.file_bytes)} (a CIFAR-10 "
                            "batch is about 30 MiB)")
        if member.offset_data + member.size > limits.archive_bytes:
            raise DataError(f"{path}: {name}: the archive expands to "
                            f"{amount(member.offset_data + member.size)} up to this member; "
                            f"an archive may expand to at most {amount(limits.archive_bytes)} "
                            "(the official cifar-10-python.tar.gz: about 178 MiB)")
        if member.isdir():
            folders.add(name)
        elif wanted:
            if not member.isfile():
                raise DataError(f"{path}: {name}: {_member_kind(member)} in the archive, not a "
                                "regular file; images and batches must be regular files")
            extracted = archive.extractfile(member)
            assert extracted is not None  # a regular file's member always has its bytes
            found[name] = extracted.read()
            folders.update(str(p) for p in PurePosixPath(name).parents if str(p) != ".")
    return found, folders


def _member_kind(member: tarfile.TarInfo) -> str:
    """What an archive member that is neither a regular file nor a folder is, in words."""
    for test, kind in ((member.issym, "a symbolic link"), (member.islnk, "a hard link"),
                       (member.ischr, "a character device"), (member.isblk, "a block device"),
                       (member.isfifo, "a FIFO (named pipe)")):
        if test():
            return kind
    return "a special member"


def _head(handle: BinaryIO, path: Path) -> bytes:
    """The first block of a file (then back to its start), or DataError if it is empty."""
    try:
        head = handle.read(tarfile.BLOCKSIZE)
        handle.seek(0)
    except OSError as error:
        raise DataError(f"{path}: cannot be read ({reason(error)})") from None
    if not head:
        raise DataError(f"{path}: the file is empty; accepted: {ACCEPTED}")
    return head


def _decompressed(handle: BinaryIO, head: bytes) -> _TarBytes:
    """The file's tar bytes: decompressed as its magic bytes say, or the file itself."""
    if head[257:262] == b"ustar":  # a plain tar whose first name happens to start like a magic
        return handle
    for magic, reader in _DECOMPRESSORS:
        if head.startswith(magic):
            return reader(handle)
    return handle


class _Bounded:
    """A read-only view of an archive's tar bytes that refuses to go past
    ``limits.archive_bytes`` or to read more than a member's worth at once: an archive that
    expands hugely (a small .tar.gz of gigabytes of zeros) is refused by what is read, not
    after reading it all."""

    def __init__(self, inner: _TarBytes, path: Path, limits: Limits) -> None:
        self._inner = inner
        self._path = path
        self._limit = limits.archive_bytes
        self._member = limits.file_bytes
        self._largest = limits.file_bytes + tarfile.BLOCKSIZE  # a member, or a header's records
        self.compressed = not isinstance(inner, io.BufferedReader)

    def tell(self) -> int:
        """Position in the tar bytes."""
        return self._inner.tell()

    def seekable(self) -> bool:
        """Forward seeks are reads of a compressed stream; both are bounded."""
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Go to ``offset``, unless it lies past the limit."""
        if whence == io.SEEK_END:
            raise io.UnsupportedOperation("an archive is not read from its end")
        target = offset + (self._inner.tell() if whence == io.SEEK_CUR else 0)
        if target > self._limit:
            self._refuse()
        return self._inner.seek(target)

    def read(self, size: int = -1) -> bytes:
        """At most ``size`` bytes, unless they lie past the limit or are too many at once."""
        if size is None or size < 0:
            raise io.UnsupportedOperation("an archive is read in bounded pieces")
        if size > self._largest:
            raise DataError(f"{self._path}: an entry of {amount(size)} at byte "
                            f"{self._inner.tell()}; an archive member may be at most "
                            f"{amount(self._member)}")
        room = self._limit - self._inner.tell()
        if size <= room:
            return self._inner.read(size)
        data = self._inner.read(max(room, 0))
        if self._inner.read(1):
            self._refuse()
        return data

    def drain(self) -> None:
        """Read to the end, within the limit."""
        while self.read(MIB):
            pass

    def _refuse(self) -> None:
        """DataError: the archive expands past the limit."""
        raise DataError(f"{self._path}: the archive expands to more than "
                        f"{amount(self._limit)}; an archive may expand to at most "
                        f"{amount(self._limit)} (the official cifar-10-python.tar.gz: about "
                        "178 MiB)")


def _open_tar(stream: _Bounded, path: Path, head: bytes) -> tarfile.TarFile:
    """Open tar bytes, or raise DataError saying what the file is."""
    try:
        return tarfile.open(fileobj=stream, mode="r:")  # type: ignore[call-overload]
    except _ARCHIVE_ERRORS:
        if _looks_like_archive(path, head):
            raise DataError(f"{path}: the archive is truncated or corrupt (it cannot be opened "
                            "as tar, tar.gz, tar.bz2 or tar.xz); download or copy it again"
                            ) from None
        raise DataError(f"{path}: not a tar or tar.gz archive and not a folder; accepted: "
                        f"{ACCEPTED}") from None


def _looks_like_archive(path: Path, head: bytes) -> bool:
    """Whether a file's magic bytes or name say it is a (compressed) tar archive."""
    magic = head.startswith(_COMPRESSED) or head[257:262] == b"ustar"
    return magic or path.name.lower().endswith((".tar", ".tgz", ".tar.gz", ".tar.bz2", ".tar.xz"))


def _check_tar_end(archive: tarfile.TarFile) -> None:
    """Raise tarfile.ReadError unless a plain tar's reading stopped at its end marker."""
    archive.fileobj.seek(archive.offset)
    if archive.fileobj.read(tarfile.BLOCKSIZE) != bytes(tarfile.BLOCKSIZE):
        raise tarfile.ReadError("it ends before the end-of-archive marker")


def _member_name(name: str) -> str:
    """A member name without ``./`` or trailing slashes."""
    return str(PurePosixPath(name.rstrip("/")))


def _join(prefix: str, name: str) -> str:
    """``prefix/name``, or ``name`` when the prefix is the archive root."""
    return name if prefix in ("", ".") else f"{prefix}/{name}"


def _sibling(name: str, other: str) -> str:
    """The member ``other`` in the folder of member ``name``."""
    return _join(str(PurePosixPath(name).parent), other)


def _is_wanted_member(name: str) -> bool:
    """Whether a member may be a CIFAR-10 or CIFAR-100 batch or an image."""
    base = PurePosixPath(name).name
    return base in BATCH_FILES or base in CIFAR100_FILES or is_image_name(base)


def _tar_tree(path: Path, found: dict[str, bytes], folders: set[str]) -> Tree | None:
    """The image tree of an image-folder archive (None if it holds no train/ or test/)."""
    roots = {root for name in folders | set(found) if (root := _tree_root(name)) is not None}
    if not roots:
        return None
    if len(roots) > 1:
        shown = ", ".join(f"{r or '.'}/" for r in sorted(roots))
        raise DataError(f"{path}: several train/ and test/ trees ({shown}); keep one")
    root = roots.pop()
    depth = len(PurePosixPath(root).parts) if root else 0
    tree: Tree = {s: {} for s in SPLITS}
    for name in sorted(folders):
        parts = PurePosixPath(name).parts[depth:]
        if len(parts) == 2 and parts[0] in SPLITS and not parts[1].startswith("."):
            tree[parts[0]].setdefault(parts[1], [])
    for name, data in found.items():
        parts = PurePosixPath(name).parts[depth:]
        if _tree_root(name) == root and len(parts) == 3 and not parts[1].startswith("."):
            tree[parts[0]].setdefault(parts[1], []).append((parts[2], f"{path}: {name}", data))
    for split in SPLITS:
        if _join(root, split) not in folders:
            raise DataError(f"{path}: no {_join(root, split)}/ folder in the archive; an image "
                            "folder needs train/<class>/* and test/<class>/*")
    return tree


def _tree_root(name: str) -> str | None:
    """The folder holding train/ or test/ in a member name (at most one level deep)."""
    parts = PurePosixPath(name).parts
    if parts and parts[0] in SPLITS:
        return ""
    if len(parts) > 1 and parts[1] in SPLITS:
        return parts[0]
    return None

"""What every reader of a data source shares: the limits it reads under, what it yields, and
the wording of its refusals.

:class:`Limits` bounds what a source may cost in memory and time; a reader is given one and
never reads a global, so a caller (and a test) chooses them. :class:`Decoded` is what every
layout decodes to. Each refusal is one :class:`~cifar_search.errors.DataError` line naming the
file, the value and the limit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cifar_search import errors
from cifar_search.errors import DataError

#: The environment variable that names a data source when ``--data`` is not given.
ENV_VAR = "CIFAR_SEARCH_DATA"
#: The layouts a source may have, in words, for messages.
ACCEPTED = ("cifar-10-python.tar.gz or cifar-100-python.tar.gz (or its extracted folder), an "
            ".npz of x_train, y_train, x_test, y_test, or an image folder train/<class>/*, "
            "test/<class>/* (a directory or .tar.gz)")
MIB = 1 << 20


@dataclass(frozen=True)
class Limits:
    """What a data source may cost. Each refusal names the file, the value and the limit.

    Attributes:
        file_bytes: bytes of one file that is read into memory: an archive member or a file
            of a folder (a CIFAR-10 batch, an image). The official batches are about 30 MiB;
            an image is far less.
        archive_bytes: bytes an archive may expand to, members and headers together, counted
            as it is decompressed: a small .tar.gz that expands hugely is refused when it
            passes this, without reading the rest. The official cifar-10-python.tar.gz
            expands to about 178 MiB; the members read stay in memory until they are decoded.
        files: members of an archive, or images of a folder tree (each costs memory before
            decoding); CIFAR-10 as an image folder has 60,000 images.
        image_side: pixels of an image's longer side, read from its header before it is
            decoded (4096x4096 RGB decodes to 48 MiB); CIFAR-10 images are 32x32.
        decoded_bytes: bytes of all decoded pixels (uint8, training and test images): they
            are held in memory while decoding and every trial loads them. CIFAR-10 decodes to
            176 MiB.
        min_classes: classes of a data set at the least: one class teaches nothing (its loss
            is 0 from the first step).
        max_classes: classes at the most: more than ImageNet's 1000 is a layout mistake (e.g.
            one folder per image).

    Example:
        >>> Limits(files=10).files, Limits().file_bytes // MIB
        (10, 256)
    """

    file_bytes: int = 256 * MIB
    archive_bytes: int = 1024 * MIB
    files: int = 500_000
    image_side: int = 4096
    decoded_bytes: int = 2048 * MIB
    min_classes: int = 2
    max_classes: int = 1000

    def check_classes(self, classes: list[str] | tuple[str, ...], where: str, what: str) -> None:
        """DataError unless there are ``min_classes`` to ``max_classes`` classes."""
        if self.min_classes <= len(classes) <= self.max_classes:
            return
        shown = (f" ({errors.clipped(', '.join(classes), 80)})"
                 if 0 < len(classes) < self.min_classes else "")
        raise DataError(f"{where}: {len(classes)} class{'es' if len(classes) != 1 else ''}"
                        f"{shown}; a data set needs {self.min_classes} to {self.max_classes} "
                        f"classes ({what})")


@dataclass(frozen=True)
class Decoded:
    """Decoded uint8 images ``(N, H, W, C)`` (C is 1 or 3), int32 labels and class names of
    one source."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    classes: tuple[str, ...]


def fine_only(labels: str, where: str) -> None:
    """DataError unless ``labels`` is ``fine``: only CIFAR-100 has another labelling."""
    if labels != "fine":
        raise DataError(f"{where}: data.labels {errors.shown(labels)} is not allowed; only "
                        "CIFAR-100 has coarse labels, other data has one labelling (leave "
                        "labels out)")


def amount(size: int) -> str:
    """A byte count in words.

    Example:
        >>> amount(512), amount(256 * MIB), amount(31_035_704)
        ('512 bytes', '256 MiB', '29.6 MiB')
    """
    if size < MIB:
        return f"{size} bytes"
    return f"{size / MIB:.1f}".removesuffix(".0") + " MiB"


def reason(error: BaseException) -> str:
    """An exception's message on one line.

    Example:
        >>> reason(OSError(2, "No such file\\nor directory"))
        'No such file or directory'
    """
    text = error.strerror if isinstance(error, OSError) and error.strerror else str(error)
    return " ".join(text.split()) or type(error).__name__

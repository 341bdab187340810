"""The image-folder layout: ``train/<class>/<image>`` and ``test/<class>/<image>`` decoded into
arrays.

A folder or an archive hands over its tree, ``{split: {class: [(file name, shown name, image)]}}``,
where an image is its bytes or a function that reads them (so that a folder's images are read
one at a time). This module checks the classes, decodes the images in sorted order (each size
checked from its header before its pixels are decoded) and bounds what they decode to.
"""

from __future__ import annotations

import io
import warnings
from collections.abc import Callable
from pathlib import PurePosixPath

import numpy as np
from PIL import Image

from cifar_search.errors import DataError
from cifar_search.model.sources.base import Decoded, Limits, amount, reason

SPLITS = ("train", "test")
IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".bmp", ".gif", ".ppm", ".pgm", ".tif",
                            ".tiff", ".webp"})

#: An image: its bytes, or a function that reads them.
Item = bytes | Callable[[], bytes]
#: ``{split: {class: [(file name, shown name, image)]}}``.
Tree = dict[str, dict[str, list[tuple[str, str, Item]]]]


def is_image_name(name: str) -> bool:
    """Whether a file name has an image suffix and is not hidden.

    Example:
        >>> is_image_name("0001.PNG"), is_image_name(".0001.png"), is_image_name("notes.txt")
        (True, False, False)
    """
    return not name.startswith(".") and PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES


def decode_tree(tree: Tree, where: str, limits: Limits) -> Decoded:
    """Decode an image-folder tree in sorted order (classes, then file names)."""
    classes = _check_classes(tree, where, limits)
    train, test = (_ordered(tree[split], classes) for split in SPLITS)
    images = _decode_images([(shown, item) for _, shown, item in train + test], where, limits)
    return Decoded(images[:len(train)], np.array([label for label, _, _ in train], np.int32),
                   images[len(train):], np.array([label for label, _, _ in test], np.int32),
                   tuple(classes))


def _ordered(split: dict[str, list[tuple[str, str, Item]]], classes: list[str]
             ) -> list[tuple[int, str, Item]]:
    """``(label, shown name, image)`` of one split, by class then file name."""
    return [(label, shown, item) for label, name in enumerate(classes)
            for _, shown, item in sorted(split[name], key=lambda entry: entry[0])]


def _decode_images(items: list[tuple[str, Item]], where: str, limits: Limits) -> np.ndarray:
    """Decode ``(shown name, image)`` images of one size into ``(N, H, W, 3)``."""
    first_shown, first_item = items[0]
    first = _decode_image(first_item, first_shown, limits.image_side)
    if len(items) * first.nbytes > limits.decoded_bytes:
        raise DataError(f"{where}: {len(items)} images of {_size(first.shape)} decode to "
                        f"{amount(len(items) * first.nbytes)}; a data set may decode to at most "
                        f"{amount(limits.decoded_bytes)} (CIFAR-10: 176 MiB)")
    images = np.empty((len(items),) + first.shape, dtype=np.uint8)
    images[0] = first
    for i, (shown, item) in enumerate(items[1:], start=1):
        image = _decode_image(item, shown, limits.image_side)
        if image.shape != first.shape:
            raise DataError(f"{shown}: image is {_size(image.shape)} but the first image "
                            f"({first_shown}) is {_size(first.shape)}; all images must have "
                            "one size")
        images[i] = image
    return images


def _check_classes(tree: Tree, where: str, limits: Limits) -> list[str]:
    """Sorted class names; DataError for empty splits, empty classes or mismatched classes."""
    for split in SPLITS:
        if not tree[split]:
            raise DataError(f"{where}: {split}/ holds no class folders; an image folder needs "
                            f"{split}/<class>/<image>")
        for name, files in sorted(tree[split].items()):
            if not files:
                raise DataError(f"{where}: {split}/{name}/ holds no images; supported suffixes "
                                f"are {', '.join(sorted(IMAGE_SUFFIXES))}")
    train, test = sorted(tree["train"]), sorted(tree["test"])
    if train != test:
        raise DataError(f"{where}: test/ classes {test} differ from train/ classes {train}; "
                        "both must hold the same class folders")
    limits.check_classes(train, where, "class folders in train/ and test/")
    return train


def _decode_image(item: Item, shown: str, side: int) -> np.ndarray:
    """One image as uint8 ``(H, W, 3)``; its size is checked before its pixels are decoded."""
    data = item if isinstance(item, bytes) else item()
    too_large = f"an image may be at most {side}x{side} pixels (CIFAR-10's are 32x32)"
    try:
        with warnings.catch_warnings():  # Pillow warns of sizes that are refused just below
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
        with image:
            width, height = image.size
            if max(width, height) <= side:
                return np.asarray(image if image.mode == "RGB" else image.convert("RGB"))
    except Image.DecompressionBombError as error:  # Pillow's own, higher limit
        raise DataError(f"{shown}: image is too large ({reason(error)}); {too_large}") from None
    except Exception as error:  # noqa: BLE001 (Pillow raises many types for bad files)
        raise DataError(f"{shown}: unreadable image ({type(error).__name__}: "
                        f"{reason(error)}); replace or delete the file") from None
    raise DataError(f"{shown}: image is {width}x{height}; {too_large}")


def _size(shape: tuple[int, ...]) -> str:
    """``WxH`` of an image shape."""
    return f"{shape[1]}x{shape[0]}"

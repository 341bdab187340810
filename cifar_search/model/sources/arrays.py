"""Arrays given as they are: ``x_train, y_train, x_test, y_test`` (and optional
``class_names``) from an ``.npz`` file, a function of the sweep file or a Keras download,
checked and converted to what the cache holds.

What is accepted (the README's "Data" section says the same):

* images ``(N, H, W)``, ``(N, H, W, 1)`` or ``(N, H, W, 3)``, the same ``H, W, C`` in training
  and test, each side at most ``limits.image_side``; uint8 (0-255), or float in [0, 1]
  (rounded to the nearest of 256 levels, as the cache holds uint8: lossless for images that
  were uint8 scaled by 1/255);
* labels ``(N,)`` or ``(N, 1)``, whole numbers 0..K-1 (integer dtype, or floats that are whole
  numbers), K the number of classes: ``len(class_names)`` when given, else the largest label
  + 1 (classes named "0".."K-1");
* K from ``limits.min_classes`` to ``limits.max_classes``; all the images together at most
  ``limits.decoded_bytes`` as uint8.

Each refusal is one :class:`~cifar_search.errors.DataError` line naming where the arrays came
from, the key, the value and what is allowed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from cifar_search import errors
from cifar_search.errors import DataError
from cifar_search.model.sources.base import Decoded, Limits, amount

#: The arrays a source of arrays must hold, in the order of ``load_data()``'s result.
ARRAY_KEYS = ("x_train", "y_train", "x_test", "y_test")
#: The optional array of class names.
NAMES_KEY = "class_names"
#: Channels an image may have.
CHANNELS = (1, 3)


def from_arrays(arrays: Mapping[str, Any], where: str, limits: Limits) -> Decoded:
    """Check the arrays of a source and convert them to uint8 ``(N, H, W, C)`` images and
    int32 labels.

    Args:
        arrays: ``x_train, y_train, x_test, y_test`` and optionally ``class_names``.
        where: the source, for messages (a file, or a file and a function).
        limits: what the data may cost.

    Returns:
        The decoded data, classes named by ``class_names`` or "0".."K-1".

    Raises:
        DataError: a key is missing or an array is not as described in this module.

    Example:
        >>> import numpy as np
        >>> x, y = np.zeros((4, 8, 8), np.uint8), np.array([0, 1, 0, 1])
        >>> decoded = from_arrays({"x_train": x, "y_train": y, "x_test": x, "y_test": y},
        ...                       "demo", Limits())
        >>> decoded.x_train.shape, decoded.classes
        ((4, 8, 8, 1), ('0', '1'))
    """
    missing = [key for key in ARRAY_KEYS if key not in arrays]
    if missing:
        present = ", ".join(sorted(str(k) for k in arrays)) or "none"
        raise DataError(f"{where}: no {missing[0]!r} array (it holds {present}); data arrays "
                        f"are {', '.join(ARRAY_KEYS)}, and optionally {NAMES_KEY}")
    x_train = _images(arrays["x_train"], where, "x_train", limits)
    x_test = _images(arrays["x_test"], where, "x_test", limits)
    if x_train.shape[1:] != x_test.shape[1:]:
        raise DataError(f"{where}: x_test images are {_shape(x_test)} but x_train images are "
                        f"{_shape(x_train)}; training and test images must have one shape")
    total = x_train.size + x_test.size
    if total > limits.decoded_bytes:
        raise DataError(f"{where}: the images are {amount(total)} as uint8; a data set may "
                        f"decode to at most {amount(limits.decoded_bytes)} (CIFAR-10: 176 MiB)")
    y_train = _labels(arrays["y_train"], len(x_train), where, "y_train")
    y_test = _labels(arrays["y_test"], len(x_test), where, "y_test")
    classes = _classes(arrays.get(NAMES_KEY), y_train, y_test, where, limits)
    return Decoded(_pixels(x_train, where, "x_train"), y_train,
                   _pixels(x_test, where, "x_test"), y_test, classes)


def _images(value: Any, where: str, key: str, limits: Limits) -> np.ndarray:
    """An images array ``(N, H, W, C)`` (a channel axis added to ``(N, H, W)``), unconverted."""
    array = _array(value, where, key)
    if array.ndim == 3:
        array = array[..., np.newaxis]
    if array.ndim != 4 or array.shape[-1] not in CHANNELS or 0 in array.shape[1:3]:
        raise DataError(f"{where}: {key} has shape {tuple(array.shape)}; images are "
                        "(N, height, width), (N, height, width, 1) or (N, height, width, 3)")
    if len(array) == 0:
        raise DataError(f"{where}: {key} holds no images; each split needs at least one")
    if max(array.shape[1:3]) > limits.image_side:
        raise DataError(f"{where}: {key} images are {_shape(array)}; an image may be at most "
                        f"{limits.image_side}x{limits.image_side} pixels (CIFAR-10's are 32x32)")
    if array.dtype != np.uint8 and array.dtype.kind != "f":
        raise DataError(f"{where}: {key} is {array.dtype}; images are uint8 (0-255) or float "
                        "in [0, 1]")
    return array


def _pixels(images: np.ndarray, where: str, key: str) -> np.ndarray:
    """uint8 pixels of uint8 images, or of float images in [0, 1] (rounded)."""
    if images.dtype == np.uint8:
        return np.ascontiguousarray(images)
    finite = bool(np.isfinite(images).all())
    low, high = (float(images.min()), float(images.max())) if finite else (0.0, 0.0)
    if not finite or low < 0 or high > 1:
        shown = "not finite (NaN or infinity)" if not finite else f"from {low:g} to {high:g}"
        raise DataError(f"{where}: {key} pixels are {shown}; float images lie in [0, 1] "
                        "(uint8 images in 0-255)")
    return np.rint(np.multiply(images, 255, dtype=np.float32)).astype(np.uint8)


def _labels(value: Any, count: int, where: str, key: str) -> np.ndarray:
    """int32 labels ``(N,)`` of ``count`` images (``(N, 1)`` flattened)."""
    labels = _array(value, where, key)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1:
        raise DataError(f"{where}: {key} has shape {tuple(labels.shape)}; labels are (N,) "
                        "or (N, 1)")
    images = "x" + key[1:]
    if len(labels) != count:
        raise DataError(f"{where}: {key} holds {len(labels)} labels but {images} holds "
                        f"{count} images; give one label per image")
    whole = labels.dtype.kind in "iu" or (
        labels.dtype.kind == "f" and bool(np.isfinite(labels).all())
        and bool((labels == np.round(labels)).all()))
    if not whole:
        raise DataError(f"{where}: {key} is {labels.dtype} with values that are not whole "
                        "numbers; labels are integers 0..K-1")
    if labels.size and (labels.min() < 0 or labels.max() > np.iinfo(np.int32).max):
        raise DataError(f"{where}: {key} holds {_first_bad(labels)}; labels are integers "
                        "0..K-1 (K the number of classes)")
    return labels.astype(np.int32)


def _classes(names: Any, y_train: np.ndarray, y_test: np.ndarray, where: str,
             limits: Limits) -> tuple[str, ...]:
    """Class names: ``names`` checked against the labels, else "0".."K-1"."""
    largest = int(max(y_train.max(initial=0), y_test.max(initial=0)))
    if names is None:
        if largest + 1 > limits.max_classes:
            raise DataError(f"{where}: labels go up to {largest}; a data set has "
                            f"{limits.min_classes} to {limits.max_classes} classes")
        classes = tuple(str(k) for k in range(largest + 1))
    else:
        classes = _names(names, where)
        if largest >= len(classes):
            key = "y_train" if y_train.max(initial=0) >= len(classes) else "y_test"
            raise DataError(f"{where}: {key} holds label {largest} but {NAMES_KEY} names "
                            f"{len(classes)} classes; labels are integers 0..{len(classes) - 1}")
    limits.check_classes(classes, where, NAMES_KEY if names is not None else "labels")
    if len(np.unique(y_train)) < limits.min_classes:
        shown = ", ".join(classes[k] for k in np.unique(y_train))
        raise DataError(f"{where}: every training image is of class {shown or 'none'}; a data "
                        f"set needs images of at least {limits.min_classes} classes")
    return classes


def _names(value: Any, where: str) -> tuple[str, ...]:
    """Class names from an array (or list) of distinct, non-empty strings."""
    array = _array(value, where, NAMES_KEY)
    if array.ndim != 1 or array.dtype.kind not in "US":
        raise DataError(f"{where}: {NAMES_KEY} is {array.dtype} of shape {tuple(array.shape)}; "
                        "class names are a 1-D array of strings, one per class")
    names = tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else str(n)
                  for n in array.tolist())
    if not all(n.strip() and "," not in n for n in names) or len(set(names)) != len(names):
        raise DataError(f"{where}: {NAMES_KEY} {errors.shown(list(names))} is not allowed; "
                        "class names are distinct, non-empty and without commas")
    return names


def _array(value: Any, where: str, key: str) -> np.ndarray:
    """``value`` as a NumPy array of numbers or strings (never of Python objects)."""
    try:
        array = np.asarray(value)
    except Exception as error:  # noqa: BLE001 (any object may be given)
        raise DataError(f"{where}: {key} is not an array ({type(error).__name__}); give a "
                        "NumPy array") from None
    if array.dtype.kind not in "biufUS":
        raise DataError(f"{where}: {key} is an array of {array.dtype} "
                        f"({type(value).__name__}); give numbers (or strings for "
                        f"{NAMES_KEY}), not Python objects")
    return array


def _first_bad(labels: np.ndarray) -> str:
    """The first negative (or too large) label, in words."""
    bad = labels[(labels < 0) | (labels > np.iinfo(np.int32).max)]
    return f"label {bad[0]:g}" if labels.dtype.kind == "f" else f"label {int(bad[0])}"


def _shape(images: np.ndarray) -> str:
    """``HxWxC`` of an images array."""
    return "x".join(str(n) for n in images.shape[1:])

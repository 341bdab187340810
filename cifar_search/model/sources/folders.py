"""Folder sources: which layout a folder holds, its files (each checked to be a regular file),
and a signature that changes when any of them changes.

A folder holds the extracted ``cifar-10-batches-py/`` or ``cifar-100-python/`` (or a folder
that contains it), or an image tree ``train/<class>/*``, ``test/<class>/*`` (possibly inside one
top-level folder).
"""

from __future__ import annotations

import functools
import os
from pathlib import Path

from cifar_search.errors import DataError
from cifar_search.model.sources import files
from cifar_search.model.sources.base import ACCEPTED, Decoded, Limits, fine_only
from cifar_search.model.sources.batches import (
    BATCH_FILES,
    CIFAR100_FILES,
    decode_batches,
    decode_cifar100,
)
from cifar_search.model.sources.images import SPLITS, Item, Tree, decode_tree, is_image_name


def locate(path: Path) -> tuple[str, Path]:
    """``("batches" | "cifar100" | "images", folder)`` for a directory source, else
    DataError."""
    for folder in (path, path / "cifar-100-python"):
        if os.path.lexists(folder / "meta") and not (folder / "train").is_dir():
            return "cifar100", folder
    for folder in (path, path / "cifar-10-batches-py"):
        if os.path.lexists(folder / "data_batch_1"):  # checked when read: a regular file
            return "batches", folder
    if any((path / split).is_dir() for split in SPLITS):
        return "images", path
    children = [p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(children) == 1 and any((children[0] / split).is_dir() for split in SPLITS):
        return "images", children[0]
    raise DataError(f"{path}: a folder without cifar-10-batches-py/data_batch_* files or "
                    f"train/<class>/ and test/<class>/ folders; accepted: {ACCEPTED}")


def read_folder(path: Path, limits: Limits, labels: str = "fine") -> Decoded:
    """Decode an extracted cifar-10-batches-py or cifar-100-python folder (with its
    ``labels``) or an image-folder tree."""
    layout, root = locate(path)
    if layout == "cifar100":
        found = {name: files.read_regular(root / name, str(root / name), limits.file_bytes)
                 for name in CIFAR100_FILES if os.path.lexists(root / name)}
        return decode_cifar100(found, str(root), "/", limits, labels)
    fine_only(labels, str(path))
    if layout == "batches":
        found = {name: files.read_regular(root / name, str(root / name), limits.file_bytes)
                 for name in BATCH_FILES if os.path.lexists(root / name)}
        return decode_batches(found, str(root), "/", limits)
    return decode_tree(_scan_tree(root, limits), str(root), limits)


def tree_signature(root: Path) -> tuple[int, int, int]:
    """Number of files, total size and latest mtime (files and folders) under ``root``."""
    count = size = latest = 0
    for folder, _, names in os.walk(root):
        latest = max(latest, _stat(folder)[1])
        for name in names:
            file_size, mtime = _stat(os.path.join(folder, name))
            count, size, latest = count + 1, size + file_size, max(latest, mtime)
    return count, size, latest


def _stat(path: str) -> tuple[int, int]:
    """Size and mtime (ns) of a path; zeros for a dangling link or a vanished file."""
    try:
        stat = os.stat(path)
    except OSError:
        return 0, 0
    return stat.st_size, stat.st_mtime_ns


def _scan_tree(root: Path, limits: Limits) -> Tree:
    """The image tree under ``root``, each image read when it is decoded; every image a
    regular file, at most ``limits.files`` of them and ``limits.max_classes`` class folders
    per split."""
    tree: Tree = {}
    count = 0
    for split in SPLITS:
        tree[split] = {}
        for class_dir in _class_dirs(root, split, limits):
            found: list[tuple[str, str, Item]] = []
            with os.scandir(class_dir) as entries:
                for entry in entries:
                    if not is_image_name(entry.name):
                        continue
                    count += 1
                    if count > limits.files:
                        raise DataError(f"{root}: more than {limits.files} images; an image "
                                        f"folder may hold at most {limits.files} (CIFAR-10 has "
                                        "60000)")
                    path = Path(entry.path)
                    files.check_regular(path, str(path), limits.file_bytes)
                    read = functools.partial(files.read_regular, path, str(path),
                                             limits.file_bytes)
                    found.append((entry.name, str(path), read))
            tree[split][class_dir.name] = found
    return tree


def _class_dirs(root: Path, split: str, limits: Limits) -> list[Path]:
    """The class folders of ``root/split``, sorted, at most ``limits.max_classes``."""
    folder = root / split
    if not folder.is_dir():
        raise DataError(f"{root}: no {split}/ folder next to "
                        f"{'test' if split == 'train' else 'train'}/; an image folder needs "
                        f"train/<class>/* and test/<class>/*")
    found = []
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir() and not entry.name.startswith("."):
                found.append(Path(entry.path))
            if len(found) > limits.max_classes:
                raise DataError(f"{root}: {split}/ holds more than {limits.max_classes} class "
                                f"folders; a data set has {limits.min_classes} to "
                                f"{limits.max_classes} classes, one folder each")
    return sorted(found)

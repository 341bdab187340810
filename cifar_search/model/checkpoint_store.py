"""Where a trial's checkpoint and final model live, so that every machine finds them.

A trial's files go to its trial folder, ``<trials>/<sweep>/NNNNN/`` (``seed-K/`` per seed with
``repeats``). ``<trials>`` is the workspace's ``trials/`` folder, or with several machines the
folder that ``--checkpoints DIR`` names, shared by all of them (a network file system, say), so
that a trial taken over on one machine continues from the last epoch another saved, and the
best model is evaluated by whichever machine finalises the study. A model path recorded by one
machine is found again on another under that machine's own mount of the shared folder
(:func:`local_model`). What a checkpoint holds is :mod:`cifar_search.model.checkpoint`'s.
"""

from __future__ import annotations

from pathlib import Path


def local_model(recorded: str, trial_folder: Path) -> Path:
    """A trial's model file as this machine reaches it: the recorded path when it exists here,
    else the same file under this machine's folder of the trial (the part of the recorded path
    below the trial's own folder, ``NNNNN/``, is kept).

    Example:
        >>> str(local_model("/mnt/a/dropout/00003/model.keras", Path("/mnt/b/dropout/00003")))
        '/mnt/b/dropout/00003/model.keras'
    """
    path = Path(recorded)
    if path.exists():
        return path
    parts = path.parts
    if trial_folder.name in parts:
        below = parts[len(parts) - parts[::-1].index(trial_folder.name):]
        return trial_folder.joinpath(*below)
    return trial_folder / path.name

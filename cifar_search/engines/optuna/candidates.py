"""The Optuna engine's candidates for ``compare``: its study's complete trials grouped by
candidate (:func:`cifar_search.session.candidates.candidates_table`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cifar_search.engines.base import Candidates
from cifar_search.session.candidates import candidates_of

if TYPE_CHECKING:
    from cifar_search.config.sweep import Sweep
    from cifar_search.workspace import Workspace

#: How the engine scores a candidate, as ``compare`` says it.
SCORING = "train/validation split"


def study_candidates(sweep: Sweep, workspace: Workspace) -> Candidates:
    """The sweep's study as ``compare`` reads it (table None: no study yet); the comparison
    is logged on the study's parent run."""
    from cifar_search.engines.optuna.study import find_study

    table, run_id = candidates_of(find_study(sweep, workspace), sweep)
    return Candidates("optuna", table, "", scoring=SCORING, run_id=run_id)

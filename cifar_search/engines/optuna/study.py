"""The Optuna adapter: the only module that talks to Optuna's storage.

It finds, creates and loads a sweep's study (refusing to resume one made with other settings),
and gives the rest of the engine what it needs through public Optuna API only: a snapshot of
the trials for the scheduler, asking and telling, attributes of the study and of any trial by
number, and queueing parameters. The storage object is built here, so per-trial writes go
through ``BaseStorage``'s public methods rather than a study's private one.
"""

from __future__ import annotations

import json
from typing import Any

import optuna
from optuna.trial import TrialState

from cifar_search.config.sweep import Sweep
from cifar_search.engines.optuna.scheduler import TrialView
from cifar_search.errors import ConfigError, clipped
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome, outcome_of
from cifar_search.workspace import Workspace

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Fingerprint settings left out when at their default (so older studies still match).
UNSET = {"repeats": 1, "same_seed": False}

#: Optuna state of each final outcome a trial is told.
OPTUNA_STATE = {TrialOutcome.COMPLETE: TrialState.COMPLETE, TrialOutcome.PRUNED: TrialState.PRUNED,
                TrialOutcome.FAILED: TrialState.FAIL, TrialOutcome.INTERRUPTED: TrialState.FAIL}


def create_storage(url: str) -> None:
    """Build the schema of an empty SQL storage at ``url`` (see
    :meth:`cifar_search.workspace.Workspace.create_stores`)."""
    optuna.storages.RDBStorage(url).engine.dispose()


def storage_of(workspace: Workspace) -> optuna.storages.BaseStorage:
    """The Optuna storage; SQLite waits for readers (e.g. ``status``) instead of failing."""
    url = workspace.optuna_url
    if url.startswith("sqlite:"):
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    return optuna.storages.get_storage(url)


def find_study(sweep: Sweep, workspace: Workspace) -> optuna.Study | None:
    """The sweep's existing study, or None (nothing is created: a storage that does not exist
    yet, or holds no Optuna tables, has no study).

    Raises:
        ConfigError: the storage is not an Optuna storage, or cannot be reached (see
            :func:`cifar_search.stores.check_storage`).
    """
    from cifar_search.stores import check_storage

    if not check_storage(workspace):
        return None
    storage = storage_of(workspace)
    if sweep.name not in optuna.study.get_all_study_names(storage):
        return None
    return optuna.load_study(study_name=sweep.name, storage=storage)


#: The fingerprint's key for the data a study trains on (absent from studies made before it).
DATA_KEY = "data_identity"


def fingerprint_of(sweep: Sweep, data_identity: dict[str, Any] | None) -> dict[str, Any]:
    """What a study must keep when resumed: the sweep's settings and the data's identity
    (classes, image counts and a content digest; see :func:`cifar_search.model.data.identity`)."""
    fingerprint = sweep.fingerprint()
    if data_identity is not None:
        fingerprint[DATA_KEY] = data_identity
    return fingerprint


def check_fingerprint(stored_json: str, wanted: dict[str, Any], sweep: Sweep,
                      storage_url: str) -> None:
    """Refuse to resume a study with settings or data that would make its trials
    incomparable, saying what differs and how to start afresh (``storage_url`` is shown as
    given: masked by the caller)."""
    stored = {**UNSET, **json.loads(stored_json or "{}")}
    wanted = {**UNSET, **json.loads(json.dumps(wanted))}
    if DATA_KEY not in stored:  # recorded before the data was part of it: recorded on resume
        wanted.pop(DATA_KEY, None)
    changed = sorted(k for k in wanted if stored.get(k) != wanted[k])
    if len(stored) <= len(UNSET) or not changed:
        return
    key = changed[0]
    afresh = (f"the existing study {sweep.name!r} in {storage_url} {{}}; start afresh with "
              "--study-name NEW_NAME or another --workspace")
    if key == DATA_KEY:
        raise ConfigError("data", f"{_data_text(wanted[key])} is other data than the study's "
                          f"{_data_text(stored[key])}; " + afresh.format("trained on it"),
                          sweep.source)
    raise ConfigError(key, f"{_json(wanted[key])} differs from the study's "
                      f"{_json(stored.get(key))}; " + afresh.format("was run with other settings"),
                      sweep.source)


def _json(value: Any) -> str:
    """A setting as JSON, shortened for a message."""
    return clipped(json.dumps(value, sort_keys=True), 120)


def _data_text(identity: dict[str, Any]) -> str:
    """``10 classes, 48+20 images, sha256:3f2a…`` (the digest shortened)."""
    return (f"{len(identity['classes'])} classes, {identity['train']}+{identity['test']} "
            f"images, {identity['digest'][:19]}…")


def trial_view(trial: optuna.trial.FrozenTrial) -> TrialView:
    """A frozen trial as the scheduler sees it."""
    drawn = trial.params or trial.system_attrs.get("fixed_params") or {}
    return TrialView(number=trial.number, outcome=outcome_of(trial),
                     params=dict(trial.user_attrs.get(Attr.PARAMS) or drawn), value=trial.value,
                     attrs=dict(trial.user_attrs), drawn=dict(drawn))


def trial_views(study: optuna.Study) -> list[TrialView]:
    """Every trial of ``study``, as the scheduler sees it (one read of the storage)."""
    return [trial_view(t) for t in study.get_trials(deepcopy=False)]


class StudyStore:
    """One sweep's study, opened (created if need be) and checked against the sweep.

    Args:
        sweep: the sweep; its name is the study name.
        workspace: gives the storage URL.
    """

    def __init__(self, sweep: Sweep, workspace: Workspace,
                 data_identity: dict[str, Any] | None = None) -> None:
        self.sweep = sweep
        self.url = workspace.shown_optuna_url  # as printed: password masked
        self.storage = storage_of(workspace)
        self.fingerprint = fingerprint_of(sweep, data_identity)
        self.existed = sweep.name in optuna.study.get_all_study_names(self.storage)
        self.study = self._open()
        if self.existed:  # loading wrote nothing: a refusal leaves the study as it was
            check_fingerprint(self.attr(StudyAttr.FINGERPRINT, ""), self.fingerprint, sweep,
                              self.url)
        self.study_id = self.storage.get_study_id_from_name(sweep.name)

    def _open(self) -> optuna.Study:
        sweep = self.sweep
        sampler = sweep.sampler.build(sweep.seed)
        pruner = sweep.pruner.build(sweep.budget.epochs)
        if self.existed:
            return optuna.load_study(study_name=sweep.name, storage=self.storage,
                                     sampler=sampler, pruner=pruner)
        study = optuna.create_study(study_name=sweep.name, storage=self.storage, sampler=sampler,
                                    pruner=pruner, direction=sweep.objective.direction)
        self.record_fingerprint(study)
        study.set_user_attr(StudyAttr.METRIC, sweep.objective.metric)
        return study

    def record_fingerprint(self, study: optuna.Study | None = None) -> None:
        """Store the fingerprint (on a new study, or on one made before the data was part of
        it, once it is resumed)."""
        (study or self.study).set_user_attr(StudyAttr.FINGERPRINT,
                                            json.dumps(self.fingerprint, sort_keys=True))

    # -- reading ---------------------------------------------------------------------------

    def view(self) -> list[TrialView]:
        """Every trial, as the scheduler sees it."""
        return trial_views(self.study)

    def trial(self, number: int) -> TrialView:
        """One trial by number."""
        return trial_view(self.storage.get_trial(self._id_of(number)))

    def attr(self, key: StudyAttr, default: Any = None) -> Any:
        """A study attribute."""
        return self.study.user_attrs.get(key, default)

    def best(self) -> optuna.trial.FrozenTrial | None:
        """The best complete trial, or None."""
        try:
            return self.study.best_trial
        except ValueError:
            return None

    # -- writing ---------------------------------------------------------------------------

    def set_attr(self, key: StudyAttr, value: Any) -> None:
        """Set a study attribute."""
        self.study.set_user_attr(key, value)

    def set_trial_attrs(self, number: int, attrs: dict[str, Any]) -> None:
        """Set user attributes of trial ``number`` (running or not yet told)."""
        trial_id = self._id_of(number)
        for key, value in attrs.items():
            self.storage.set_trial_user_attr(trial_id, key, value)

    def ask(self) -> optuna.Trial:
        """The next trial (a queued one first)."""
        return self.study.ask()

    def tell(self, number: int, outcome: TrialOutcome, value: float | None = None) -> None:
        """End trial ``number`` as ``outcome`` (complete trials with their value)."""
        if outcome == TrialOutcome.COMPLETE:
            self.study.tell(number, value)
        else:
            self.study.tell(number, state=OPTUNA_STATE[outcome])

    def report(self, trial: optuna.Trial, value: float, step: int) -> bool:
        """Report a running trial's objective after ``step`` epochs; return whether its pruner
        stops it."""
        trial.report(value, step)
        return trial.should_prune()

    def enqueue(self, params: dict[str, Any], attrs: dict[str, Any] | None = None) -> None:
        """Queue ``params`` for a later ask, with user attributes for the trial."""
        self.study.enqueue_trial(params, user_attrs=attrs)

    def _id_of(self, number: int) -> int:
        """The storage's id of trial ``number`` (public storage API)."""
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)

"""The Optuna adapter: the only module that talks to Optuna's storage.

It finds, creates and loads a sweep's study (refusing to resume one made with other settings),
and gives the rest of the engine what it needs through public Optuna API only: a snapshot of
the trials for the scheduler, asking and telling, attributes of the study and of any trial by
number, and queueing parameters. The storage object is built here, so per-trial writes go
through ``BaseStorage``'s public methods rather than a study's private one.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import optuna
import sqlalchemy.exc
from optuna.exceptions import DuplicatedStudyError, UpdateFinishedTrialError
from optuna.storages._heartbeat import BaseHeartbeat  # its storages' base; not re-exported
from optuna.trial import TrialState

from cifar_search.config.sweep import Sweep
from cifar_search.engines.base import LiveStudy
from cifar_search.engines.optuna import claims
from cifar_search.engines.optuna.machines import (
    Liveness,
    Machine,
    liveness,
    never_beaten,
    pop_order,
    sampler_seed,
)
from cifar_search.engines.optuna.parts import build_pruner, study_directions
from cifar_search.engines.optuna.seeding import seeded_sampler
from cifar_search.engines.optuna.scheduler import TrialView
from cifar_search.engines.optuna.warm_start import SourceStudy, SourceTrial
from cifar_search.errors import ConfigError, clipped
from cifar_search.search.feasibility import CONSTRAINTS_KEY
from cifar_search.search.states import Attr, StudyAttr, TrialOutcome, outcome_of
from cifar_search.session.fingerprint import check_fingerprint, fingerprint_of
from cifar_search.stores import create_own_store
from cifar_search.workspace import OPTUNA_DB, Workspace

optuna.logging.set_verbosity(optuna.logging.WARNING)

#: Optuna state of each final outcome a trial is told.
#: A trial whose built model broke a constraint is PRUNED: never trained, no value invented
#: (the rule: :meth:`cifar_search.engines.optuna.recorder.Recorder.judge`).
OPTUNA_STATE = {TrialOutcome.COMPLETE: TrialState.COMPLETE, TrialOutcome.PRUNED: TrialState.PRUNED,
                TrialOutcome.INFEASIBLE: TrialState.PRUNED,
                TrialOutcome.FAILED: TrialState.FAIL, TrialOutcome.INTERRUPTED: TrialState.FAIL}


def create_storage(url: str) -> None:
    """Build the schema of an empty SQL storage at ``url`` (see :func:`create_optuna_store`)."""
    optuna.storages.RDBStorage(url).engine.dispose()


def create_optuna_store(workspace: Workspace) -> None:
    """Make the workspace's folders and its ``optuna.db``, whole, unless --storage names
    another (idempotent).

    Raises:
        ConfigError: an ``optuna.db`` is there but is no Optuna database (e.g. empty).
    """
    workspace.create()
    if workspace.storage is None:
        create_own_store(workspace, OPTUNA_DB, create_storage)


#: Attempts at opening a database server's storage whose tables another machine is making.
SCHEMA_TRIES = 5
#: Seconds a machine that lost the race to create a study waits for its creator to finish
#: setting it up (settings, grid points, parent run id).
READY_WAIT_S = 60.0


class TakenOver(Exception):
    """A trial this process runs was ended by another machine (its heartbeat went stale)."""


def is_shared(workspace: Workspace) -> bool:
    """Whether the storage is a database server that several machines may share (anything
    but SQLite): liveness is then by heartbeat rather than by the workspace's lock."""
    return workspace.shared


def storage_of(workspace: Workspace, on_stale: Callable[[int], None] | None = None,
               beats: Liveness | None = None) -> optuna.storages.BaseStorage:
    """The Optuna storage; SQLite waits for readers (e.g. ``status``) instead of failing. A
    database server gets Optuna's heartbeat (:func:`.machines.liveness`); ``on_stale(number)``
    is called for each trial that :meth:`StudyStore.fail_stale` fails."""
    url = workspace.optuna_url
    if not workspace.shared:  # the embedded SQLite store: one machine
        return optuna.storages.RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 60}})
    if "://" not in url:
        return optuna.storages.get_storage(url)
    beats = beats or liveness()
    callback = None if on_stale is None else (lambda study, trial: on_stale(trial.number))
    for attempt in range(SCHEMA_TRIES - 1):
        try:
            return _heartbeat_storage(url, beats, callback)
        except (sqlalchemy.exc.ProgrammingError, sqlalchemy.exc.IntegrityError):
            # machines making an empty database's tables at the same instant: one wins, the
            # others find them made on their next try
            time.sleep(0.5 * (attempt + 1))
    return _heartbeat_storage(url, beats, callback)


def _heartbeat_storage(url: str, beats: Liveness,
                       callback: Callable[..., None] | None) -> optuna.storages.RDBStorage:
    with warnings.catch_warnings():  # the heartbeat is experimental in name only
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.storages.RDBStorage(
            url, heartbeat_interval=beats.heartbeat_s, grace_period=beats.grace_s,
            heartbeat_stale_trial_callback=callback, engine_kwargs={"pool_pre_ping": True})


def _heartbeat(storage: optuna.storages.BaseStorage) -> BaseHeartbeat:
    """The storage's heartbeat (a shared storage has one: :func:`storage_of`)."""
    if not isinstance(storage, BaseHeartbeat):
        raise TypeError(f"{type(storage).__name__} keeps no heartbeats")
    return storage


def _database(storage: optuna.storages.BaseStorage) -> sqlalchemy.Engine:
    """The database under the storage (:func:`storage_of` opens each store as one)."""
    if not isinstance(storage, optuna.storages.RDBStorage):
        raise TypeError(f"{type(storage).__name__} is not a database storage")
    return storage.engine


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


def live_study(sweep: Sweep, workspace: Workspace, create: bool = False) -> LiveStudy:
    """The storage URL and the study's id (None: no study yet) for a dashboard; with
    ``create`` an empty store is made first (whole, as a run makes it: a dashboard never
    makes it).

    Raises:
        ConfigError: as :func:`find_study`.
    """
    from cifar_search.stores import check_storage

    if create:
        create_optuna_store(workspace)
    study_id = None
    if check_storage(workspace):
        storage = storage_of(workspace)
        if sweep.name in optuna.study.get_all_study_names(storage):
            study_id = storage.get_study_id_from_name(sweep.name)
    return LiveStudy(workspace.optuna_url, study_id)


def stale_trials(study_name: str, workspace: Workspace) -> list[int]:
    """The numbers of a study's RUNNING trials whose heartbeat is older than the grace period,
    read without failing them (a shared storage; what :meth:`StudyStore.fail_stale` fails).

    Optuna reads them only on its way to failing them (``fail_stale_trials``): this is its
    heartbeat storage's own query, the one private call of this adapter.
    """
    storage = storage_of(workspace)
    study_id = storage.get_study_id_from_name(study_name)
    ids = _heartbeat(storage)._get_stale_trial_ids(study_id)
    return sorted(storage.get_trial(trial_id).number for trial_id in ids)


def read_source(sweep: Sweep, workspace: Workspace) -> SourceStudy:
    """The earlier study a warm start names (``sweep.warm_start``), in
    ``sweep.warm_start_storage`` or else the workspace's storage, with its complete trials
    trained there; read only, nothing is created.

    Raises:
        ConfigError: ``--from-study`` when there is no such study (naming the storage and
            the studies it holds), ``--from-storage`` when that storage is no Optuna storage
            or cannot be reached.
    """
    from cifar_search.stores import check_storage

    name, url = sweep.warm_start, sweep.warm_start_storage
    place = workspace if url is None else dataclasses.replace(workspace, storage=url)
    try:
        exists = check_storage(place)
    except ConfigError as error:
        if url is None:
            raise
        raise ConfigError("--from-storage", error.message.replace("--storage",
                                                                  "--from-storage")) from None
    storage = storage_of(place) if exists else None
    names = sorted(optuna.study.get_all_study_names(storage)) if storage else []
    if storage is None or name not in names:
        raise ConfigError("--from-study", f"{name!r} is no study in {place.shown_optuna_url}; "
                          f"its studies are {', '.join(names) or 'none'} (--from-storage URL "
                          "reads another storage)")
    study_id = storage.get_study_id_from_name(str(name))
    attrs = storage.get_study_user_attrs(study_id)
    trials = storage.get_all_trials(study_id, deepcopy=False, states=(TrialState.COMPLETE,))
    metric = attrs.get(StudyAttr.METRIC)
    return SourceStudy(
        str(name), place.shown_optuna_url,
        tuple(SourceTrial(t.number, dict(t.user_attrs.get(Attr.PARAMS) or t.params),
                          _source_value(t, metric), t.user_attrs.get(Attr.MLFLOW_RUN_ID),
                          dict(t.user_attrs.get(Attr.MEASURES) or {}))
              for t in trials if outcome_of(t) == TrialOutcome.COMPLETE and t.values),
        attrs.get(StudyAttr.METRIC), storage.get_study_directions(study_id)[0].name.lower(),
        json.loads(attrs.get(StudyAttr.FINGERPRINT) or "{}"))


def constraint_attrs(values: Mapping[str, float]) -> dict[str, float]:
    """Constraint values by measure as the system attributes ``Trial.set_constraint`` writes
    (``constraints:params``), for a trial created whole.

    Example:
        >>> constraint_attrs({"params": -5})
        {'constraints:params': -5.0}
    """
    return {f"{CONSTRAINTS_KEY}:{name}": float(value) for name, value in values.items()}


def _source_value(trial: optuna.trial.FrozenTrial, metric: str | None) -> float:
    """An earlier trial's value: its one objective's, or of several its primary metric's
    (its first objective's where that was not measured)."""
    measures = trial.user_attrs.get(Attr.MEASURES) or {}
    if len(trial.values) > 1 and metric in measures:
        return float(measures[metric])
    return float(trial.values[0])


def trial_view(trial: optuna.trial.FrozenTrial, primary: int | None = None) -> TrialView:
    """A frozen trial as the scheduler sees it; with several objectives its value is objective
    ``primary``'s (None: the primary metric is no objective)."""
    drawn = trial.params or trial.system_attrs.get("fixed_params") or {}
    value = trial.values[0] if trial.values is not None and len(trial.values) == 1 else (
        trial.values[primary] if trial.values is not None and primary is not None else None)
    return TrialView(number=trial.number, outcome=outcome_of(trial),
                     params=dict(trial.user_attrs.get(Attr.PARAMS) or drawn), value=value,
                     attrs=dict(trial.user_attrs), drawn=dict(drawn),
                     from_queue="fixed_params" in trial.system_attrs,
                     ended_at=None if trial.datetime_complete is None
                     else trial.datetime_complete.timestamp())


def record_objectives(study: optuna.Study, objective: Any) -> int | None:
    """Several objectives: record their names and the pick rule on the study (the rule may
    change on a resume: the study keeps the latest). Return where the primary metric (the
    pruned one) is among them (None: one objective, or the metric is no objective)."""
    if not objective.several:
        return None
    study.set_user_attr(StudyAttr.OBJECTIVES, list(objective.metrics))
    study.set_user_attr(StudyAttr.PICK, objective.pick)
    if objective.metric not in objective.metrics:
        return None
    return int(objective.metrics.index(objective.metric))


def judge(study: optuna.Study, trial_id: int, value: float, step: int, direction: str,
          primary: int | None) -> bool:
    """Several objectives: Optuna refuses ``trial.report``, so the primary metric's value is
    added to the trial's ``curve`` attribute and the pruner is asked with the study seen
    through that metric (the curves as intermediate values, its ``direction``), as in a
    single-objective study. Not intermediate values in the study itself: Optuna's samplers
    read those of pruned trials with one direction (TPE fails on a multi-objective study)."""
    from cifar_search.tracking.objectives import seen_as

    storage = study._storage
    curve = dict(storage.get_trial(trial_id).user_attrs.get(Attr.CURVE) or {})
    storage.set_trial_user_attr(trial_id, Attr.CURVE, {**curve, str(step): value})
    view = seen_as(study, direction, primary)
    return bool(study.pruner.prune(view, view._storage.get_trial(trial_id)))


def trial_views(study: optuna.Study) -> list[TrialView]:
    """Every trial of ``study``, as the scheduler sees it (one read of the storage)."""
    primary = None
    if len(study.directions) > 1:  # the primary metric's place among the objectives
        names = study.user_attrs.get(StudyAttr.OBJECTIVES) or []
        metric = study.user_attrs.get(StudyAttr.METRIC)
        primary = names.index(metric) if metric in names else None
    return [trial_view(t, primary) for t in study.get_trials(deepcopy=False)]


def _wait_until_ready(store: StudyStore) -> None:
    """On a shared storage, wait (up to :data:`READY_WAIT_S`) for the machine that created
    the study to finish setting it up."""
    deadline = time.monotonic() + (READY_WAIT_S if store.shared else 0)
    while store.attr(StudyAttr.FINGERPRINT) is None and time.monotonic() < deadline:
        time.sleep(0.2)


class StudyStore:
    """One sweep's study, opened (created if need be) and checked against the sweep.

    Several machines may open it at once on a shared storage: one creates it (and queues its
    grid points, once), the others load it once it is set up and check its fingerprint.

    Args:
        sweep: the sweep; its name is the study name.
        workspace: gives the storage URL.
        data_identity: the data's identity, part of the fingerprint.
        machine: this process (its salt seeds the sampler); None: one machine, unsalted.
        grid: the swept part of every grid point, queued when this process creates the study.
    """

    def __init__(self, sweep: Sweep, workspace: Workspace,
                 data_identity: dict[str, Any] | None = None, machine: Machine | None = None,
                 grid: list[dict[str, Any]] | None = None) -> None:
        self.sweep = sweep
        self.url = workspace.shown_optuna_url  # as printed: password masked
        self.shared = is_shared(workspace)
        self.stale: list[int] = []  # trials failed by the last heartbeat check
        self.beats = liveness() if self.shared else Liveness()
        self.unmarked: dict[int, float] = {}  # RUNNING trials seen without a machine: since
        self.storage = storage_of(workspace, self.stale.append, self.beats)
        if self.shared:  # before anything is written: a database that refuses says so now
            self._make_claims_table()
        self.fingerprint = fingerprint_of(sweep, data_identity)
        self.machine = machine or Machine("", 0)
        self.existed = sweep.name in optuna.study.get_all_study_names(self.storage)
        self.created = False
        self.study = self._open(grid or [])
        if self.existed:  # loading wrote nothing: a refusal leaves the study as it was
            _wait_until_ready(self)
            check_fingerprint(self.attr(StudyAttr.FINGERPRINT, ""), self.fingerprint, sweep,
                              self.url, warm_starts=True)
        self.study_id = self.storage.get_study_id_from_name(sweep.name)
        self.primary = record_objectives(self.study, sweep.objective)

    def _open(self, grid: list[dict[str, Any]]) -> optuna.Study:
        sweep = self.sweep
        sampler = seeded_sampler(sweep.sampler, sweep.seed,
                                 sampler_seed(sweep.seed, self.machine.salt))
        pruner = build_pruner(sweep.pruner, sweep.budget.epochs)
        if not self.existed:
            try:
                study = optuna.create_study(study_name=sweep.name, storage=self.storage,
                                            sampler=sampler, pruner=pruner,
                                            directions=study_directions(sweep.objective))
            except DuplicatedStudyError:  # another machine created it first
                self.existed = True
            else:
                self.created = True
                self._set_up(study, grid)
                return study
        return optuna.load_study(study_name=sweep.name, storage=self.storage,
                                 sampler=sampler, pruner=pruner)

    def _set_up(self, study: optuna.Study, grid: list[dict[str, Any]]) -> None:
        """A new study's attributes and grid points; the fingerprint last, so that a machine
        that finds it set finds the study ready."""
        study.set_user_attr(StudyAttr.METRIC, self.sweep.objective.metric)
        study.set_user_attr(StudyAttr.MLFLOW_TOKEN, uuid.uuid4().hex)
        for point in grid:
            study.enqueue_trial(point)
        self.record_fingerprint(study)

    def record_fingerprint(self, study: optuna.Study | None = None) -> None:
        """Store the fingerprint (on a new study, or on one without the data's identity once
        it is resumed: compatibility C4)."""
        (study or self.study).set_user_attr(StudyAttr.FINGERPRINT,
                                            json.dumps(self.fingerprint, sort_keys=True))

    # -- reading ---------------------------------------------------------------------------

    def view(self) -> list[TrialView]:
        """Every trial, as the scheduler sees it."""
        return [trial_view(t, self.primary) for t in self.study.get_trials(deepcopy=False)]

    def waiting(self) -> list[TrialView]:
        """The queued trials (one read of the storage)."""
        return [trial_view(t, self.primary) for t in self.study.get_trials(
            deepcopy=False, states=(TrialState.WAITING,))]

    def trial(self, number: int) -> TrialView:
        """One trial by number."""
        return trial_view(self.storage.get_trial(self._id_of(number)), self.primary)

    def attr(self, key: StudyAttr, default: Any = None) -> Any:
        """A study attribute."""
        return self.study.user_attrs.get(key, default)

    def best(self) -> optuna.trial.FrozenTrial | None:
        """The best complete trial trained in this study (not an imported one), or None; with
        several objectives the front member the sweep's ``pick`` chooses."""
        from cifar_search.tracking.tables import best_trained

        return best_trained(self.study)

    # -- writing ---------------------------------------------------------------------------

    def set_attr(self, key: StudyAttr, value: Any) -> None:
        """Set a study attribute."""
        self.study.set_user_attr(key, value)

    def claim_finalisation(self, mine: dict[str, Any], lease_s: float) -> bool:
        """Whether this machine finalises the study: True for exactly one of the machines
        claiming at ``mine["finished"]`` finished trials (see :mod:`.claims`); the claim is
        also kept as the study's :attr:`StudyAttr.FINALISER`, for the record."""
        self._make_claims_table()  # made already on a shared storage: one query
        if not claims.claim(_database(self.storage), self.study_id, mine, lease_s):
            return False
        self.set_attr(StudyAttr.FINALISER, mine)
        return True

    def _make_claims_table(self) -> None:
        try:
            claims.create(_database(self.storage))
        except sqlalchemy.exc.DatabaseError as error:
            raise ConfigError("--storage", f"{self.url}: cannot create the table "
                              f"{claims.TABLE.name!r} that machines claim the study's end in "
                              f"({clipped(str(error.orig or error))}); give the database user "
                              "the right to create tables, as Optuna's own need") from None

    def set_trial_attrs(self, number: int, attrs: dict[str, Any]) -> None:
        """Set user attributes of trial ``number`` (running or not yet told).

        Raises:
            TakenOver: the trial was ended by another machine.
        """
        trial_id = self._id_of(number)
        with _taken_over(number):
            for key, value in attrs.items():
                self.storage.set_trial_user_attr(trial_id, key, value)

    def ask(self) -> optuna.Trial:
        """The next trial (a queued one first; on a shared storage a queued retry before
        anything else, see :func:`.machines.pop_order`). On a shared storage it gets its first
        heartbeat, then its machine (:attr:`Attr.MACHINE`): a trial left RUNNING without one
        lost its machine before its first heartbeat, and is taken over by
        :meth:`fail_stale` all the same (see :func:`.machines.never_beaten`)."""
        while True:
            if not self.shared:
                return self._ask()
            trial = self.ask_for(pop_order(self.waiting())) or self._ask()
            if self._mark(trial):
                return trial

    def ask_for(self, numbers: list[int]) -> optuna.Trial | None:
        """The first of the queued trials ``numbers`` that this process takes (another may
        take one at the same moment: the storage lets one have it), marked as :meth:`ask`
        marks it; None when each was taken."""
        for number in numbers:
            trial_id = self._id_of(number)
            try:
                if not self.storage.set_trial_state_values(trial_id, state=TrialState.RUNNING):
                    continue
            except UpdateFinishedTrialError:
                continue
            trial = optuna.Trial(self.study, trial_id)  # what Study.ask does with a queued one
            if self._mark(trial):
                return trial
        return None

    def _ask(self) -> optuna.Trial:
        with warnings.catch_warnings():  # Optuna warns that ask() runs outside optimize()
            warnings.simplefilter("ignore")
            return self.study.ask()

    def _mark(self, trial: optuna.Trial) -> bool:
        """Beat for a trial just asked for and record its machine (shared storage); False
        when this machine stalled past the grace period and lost it already."""
        if not self.shared:
            return True
        _heartbeat(self.storage).record_heartbeat(self._id_of(trial.number))
        try:
            self.set_trial_attrs(trial.number, {Attr.MACHINE: self.machine.name})
        except TakenOver:
            return False
        return True

    def tell(self, number: int, outcome: TrialOutcome,
             value: float | list[float] | None = None) -> None:
        """End trial ``number`` as ``outcome`` (complete trials with their value, or their
        values in the objectives' order).

        Raises:
            TakenOver: the trial was ended by another machine.
        """
        if self.storage.get_trial(self._id_of(number)).state.is_finished():
            raise TakenOver(f"trial {number} was ended by another machine")
        with _taken_over(number):
            if outcome == TrialOutcome.COMPLETE:
                self.study.tell(number, value)
            else:
                self.study.tell(number, state=OPTUNA_STATE[outcome])

    def set_constraints(self, number: int, values: Mapping[str, float]) -> None:
        """Record trial ``number``'s constraint values by measure name (above 0: broken) where
        Optuna's samplers read them (``Trial.set_constraint``), before it is told; raises
        :class:`TakenOver` when another machine ended it."""
        with _taken_over(number):
            trial = optuna.Trial(self.study, self._id_of(number))
            for name, value in values.items():
                trial.set_constraint(name, value)

    def report(self, trial: optuna.Trial, value: float, step: int) -> bool:
        """Report a running trial's objective after ``step`` epochs; return whether its pruner
        stops it.

        Raises:
            TakenOver: the trial was ended by another machine.
        """
        if self.sweep.objective.several:
            with _taken_over(trial.number):
                return judge(self.study, self._id_of(trial.number), value, step,
                             self.sweep.objective.direction, self.primary)
        with _taken_over(trial.number):
            trial.report(value, step)
        return trial.should_prune()

    def beat(self, numbers: list[int]) -> list[int]:
        """Record the heartbeat of trials ``numbers`` (shared storage only); return those
        that another machine ended meanwhile (taken over)."""
        if not self.shared:
            return []
        lost = []
        for number in numbers:
            trial_id = self._id_of(number)
            if self.storage.get_trial(trial_id).state.is_finished():
                lost.append(number)
            else:
                _heartbeat(self.storage).record_heartbeat(trial_id)
        return lost

    def fail_stale(self, now: float | None = None) -> list[int]:
        """Fail the RUNNING trials whose heartbeat is older than the grace period, and those
        seen without a machine for the grace period (their machine died before their first
        heartbeat; ``now``: this process's monotonic clock) (shared storage only); return
        their numbers (each failed by exactly one caller)."""
        if not self.shared:
            return []
        self.stale.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            optuna.storages.fail_stale_trials(self.study)
        due, self.unmarked = never_beaten(self.view(), self.unmarked,
                                          time.monotonic() if now is None else now,
                                          self.beats.grace_s)
        return list(self.stale) + [n for n in due if self._fail_unmarked(n)]

    def _fail_unmarked(self, number: int) -> bool:
        """Fail a trial that never beat, as interrupted; whether this caller failed it (another
        machine may have got there first)."""
        reason = (f"interrupted: its machine sent no heartbeat in the {self.beats.grace_s} s "
                  "since it was asked for")
        try:
            self.set_trial_attrs(number, {Attr.INTERRUPTED: True, Attr.FAIL_REASON: reason})
            with _taken_over(number):
                return self.storage.set_trial_state_values(self._id_of(number),
                                                           state=TrialState.FAIL)
        except TakenOver:
            return False

    def enqueue(self, params: dict[str, Any], attrs: dict[str, Any] | None = None) -> None:
        """Queue ``params`` for a later ask, with user attributes for the trial."""
        self.study.enqueue_trial(params, user_attrs=attrs)

    def release(self, number: int, requeue: bool, attrs: dict[str, Any] | None = None) -> None:
        """Give back a trial asked for beyond the target (another machine got there first):
        it ends untrained as released (with ``attrs``, e.g. the machine that released it), and
        a queued point or retry it held is queued again."""
        trial = self.trial(number)
        self.set_trial_attrs(number, {**(attrs or {}), Attr.RELEASED: True, Attr.INTERRUPTED: True,
                                      Attr.FAIL_REASON: "released: the study's target was "
                                                        "reached by other trials"})
        self.tell(number, TrialOutcome.INTERRUPTED)
        if requeue and trial.drawn:
            kept = {k: v for k, v in trial.attrs.items()
                    if k in (Attr.RETRY_OF, Attr.SEED, Attr.DEATHS)}
            self.enqueue(trial.drawn, kept)

    def add_imported(self, params: dict[str, Any], value: float | list[float],
                     attrs: dict[str, Any], constraints: Mapping[str, float]) -> int:
        """Add a complete trial trained elsewhere (a warm start): the swept ``params`` with
        this sweep's distributions, its ``value`` (several objectives: a list), user ``attrs``
        and constraint values by measure; return its number (as ``Study.add_trial`` adds)."""
        from cifar_search.engines.optuna.space import distribution

        dists = {name: dist for name in params  # none is fixed
                 if (dist := distribution(self.sweep.space[name])) is not None}
        trial = optuna.trial.create_trial(
            params=params, distributions=dists, user_attrs=attrs, values=value if isinstance(
                value, list) else [value], system_attrs=constraint_attrs(constraints))
        trial_id = self.storage.create_new_trial(self.study_id, template_trial=trial)
        return self.storage.get_trial_number_from_id(trial_id)

    def _id_of(self, number: int) -> int:
        """The storage's id of trial ``number`` (public storage API)."""
        return self.storage.get_trial_id_from_study_id_trial_number(self.study_id, number)



@contextlib.contextmanager
def _taken_over(number: int) -> Iterator[None]:
    """Turns Optuna's refusal to update a finished trial into :class:`TakenOver`."""
    try:
        yield
    except UpdateFinishedTrialError as error:
        raise TakenOver(f"trial {number} was ended by another machine") from error

"""A study opened again after a crash draws what the uninterrupted study would have drawn,
and never a point it already tried."""

import importlib.util
import warnings

import optuna
import pytest

from cifar_search.config.parts import Sampler
from cifar_search.engines.optuna.seeding import BUILT_ONCE, DrawSeeded, draw_index, seeded_sampler

optuna.logging.set_verbosity(optuna.logging.WARNING)


def open_study(storage, kind):
    sampler = seeded_sampler(Sampler(kind), 7, 7)  # the sweep's rule (per draw, or once)
    return optuna.create_study(study_name="s", storage=storage, sampler=sampler,
                               load_if_exists=True)


def draw(study, **attrs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trial = study.ask()
    for key, value in attrs.items():
        trial.set_user_attr(key, value)
    rate = trial.suggest_float("dropout_rate", 0.0, 0.5)
    width = trial.suggest_int("filters", 4, 64, log=True)
    return trial, (rate, width)


def score(point):
    return (point[0] - 0.2) ** 2 + 1 / point[1]


def train(study, trials):
    """The points of ``trials`` trials drawn one after another, each told its score."""
    points = []
    for _ in range(trials):
        trial, point = draw(study)
        study.tell(trial, score(point))
        points.append(point)
    return points


def uninterrupted(kind, trials):
    return train(open_study(None, kind), trials)


def resumed(tmp_path, kind, trials, killed_at, storage=None):
    """Trial ``killed_at`` is left RUNNING when the process dies; the study is opened again
    (a new sampler object), the trial failed and retried with its point, and the rest drawn
    (on SQLite in ``tmp_path``, or on ``storage``)."""
    storage = storage or f"sqlite:///{tmp_path / 'optuna.db'}"
    study = open_study(storage, kind)
    points = train(study, killed_at)
    lost, point = draw(study)
    points.append(point)
    study = open_study(storage, kind)  # the rerun
    study.tell(lost.number, state=optuna.trial.TrialState.FAIL)
    study.enqueue_trial(dict(zip(("dropout_rate", "filters"), point, strict=True)),
                        user_attrs={"retry_of": lost.number})
    retry, again = draw(study)
    assert again == point
    study.tell(retry, score(again))
    return points + train(study, trials - killed_at - 1)


@pytest.mark.parametrize("kind, trials", [("random", 6), ("tpe", 14)])
def test_a_study_opened_again_draws_the_points_of_the_uninterrupted_study(tmp_path, kind,
                                                                          trials):
    """Random search, TPE's start-up trials and (one worker: the same results known at each
    ask) TPE's proposals after them."""
    points = resumed(tmp_path, kind, trials, killed_at=2)
    assert points == uninterrupted(kind, trials)
    assert len(set(points)) == trials


def test_a_resumed_qmc_study_goes_on_along_the_same_sequence():
    """qmc is built once (one scrambled sequence, indexed by the study's counter): opened
    again, it draws the uninterrupted study's points, the retry taking no index of its own.
    In-memory storage, kept across the two sampler objects as a database would be."""
    storage = optuna.storages.InMemoryStorage()
    points = resumed(None, "qmc", 10, killed_at=3, storage=storage)
    assert points == uninterrupted("qmc", 10)
    assert len(set(points)) == 10


@pytest.mark.parametrize("kind", ["cmaes", "nsga2", pytest.param(
    "gp", marks=pytest.mark.skipif(importlib.util.find_spec("torch") is None,
                                   reason="sampler 'gp' needs PyTorch (the gp extra)"))])
def test_a_resumed_population_study_draws_anew(kind):
    """CMA-ES and NSGA-II are rebuilt per draw (their state is in the trials' system
    attributes): opened again, the study goes on and never repeats a point it tried."""
    points = resumed(None, kind, 8, killed_at=3, storage=optuna.storages.InMemoryStorage())
    assert len(set(points)) == 8
    assert points[:4] == uninterrupted(kind, 8)[:4]


def test_only_qmc_is_built_once():
    assert BUILT_ONCE == ("qmc",)
    assert isinstance(seeded_sampler(Sampler("qmc"), 1, 2), optuna.samplers.QMCSampler)
    for kind in ("random", "tpe", "cmaes", "nsga2"):
        assert isinstance(seeded_sampler(Sampler(kind), 1, 2), DrawSeeded)


def test_without_per_draw_seeds_the_reopened_study_repeats_its_first_point(tmp_path):
    """What Optuna does by itself (one seed per study object): the reason for DrawSeeded."""
    storage = f"sqlite:///{tmp_path / 'optuna.db'}"
    first = optuna.create_study(study_name="s", storage=storage,
                                sampler=optuna.samplers.RandomSampler(seed=7))
    _, point = draw(first)
    again = optuna.load_study(study_name="s", storage=storage,
                              sampler=optuna.samplers.RandomSampler(seed=7))
    assert draw(again)[1] == point


def test_the_draw_index_leaves_retries_out():
    earlier = [(0, False), (1, False), (2, True), (3, True), (4, False)]
    assert [draw_index(n, earlier) for n in range(6)] == [0, 1, 2, 2, 2, 3]

"""The samplers as the Optuna engine builds them: 'auto' resolved and said, the lines said at
the start, the classes and their defaults, and ``--sampler`` as an override."""

import dataclasses
import sys

import optuna
import pytest

from cifar_search import engines
from cifar_search.config.parts import Sampler
from cifar_search.config.space import Space
from cifar_search.config.sweep import Sweep
from cifar_search.errors import ConfigError
from cifar_search.engines.optuna.parts import (build_sampler, check_sampler, gp_installed,
                                               resolve_sampler, sampler_lines)

SPACE = {"parameters": {"optimizer": {"choices": ["sgd", "adam"]},
                        "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1,
                                          "log": True}}}


def sweep(sampler="auto", trials=4, parameters=None):
    space = Space.from_dict({"parameters": parameters} if parameters else SPACE)
    return Sweep(name="s", space=space, model="dropout", sampler=sampler, trials=trials)


def test_auto_is_resolved_with_its_reason_and_said():
    resolved = resolve_sampler(sweep(), gp_ready=False)
    assert resolved.sampler == Sampler("tpe", picked="the space has categorical parameters "
                                                     "(optimizer)")
    assert sampler_lines(resolved) == [
        "sampler 'auto' picked 'tpe': the space has categorical parameters (optimizer)"]
    numeric = sweep(parameters={"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5}})
    assert resolve_sampler(numeric, gp_ready=True).sampler.kind == "gp"
    assert resolve_sampler(sweep("tpe")) == sweep("tpe")  # any other kind as it is


def test_a_fallback_is_said_in_one_line():
    assert sampler_lines(sweep("cmaes")) == [
        "sampler 'cmaes': CMA-ES models learning_rate; optimizer (categorical or conditional) "
        "are drawn at random in each trial, as Optuna's CmaEsSampler does"]
    assert sampler_lines(sweep("qmc")) == []


@pytest.mark.parametrize("kind, cls", [("cmaes", "CmaEsSampler"), ("qmc", "QMCSampler"),
                                       ("nsga2", "NSGAIISampler"), ("gp", "GPSampler")])
def test_each_kind_builds_its_optuna_class(kind, cls):
    assert type(build_sampler(Sampler(kind), 3)).__name__ == cls


def test_qmc_is_a_scrambled_sobol_sequence_unless_told_otherwise():
    sobol = build_sampler(Sampler("qmc"), 3)
    assert (sobol._qmc_type, sobol._scramble) == ("sobol", True)
    halton = build_sampler(Sampler("qmc", {"qmc_type": "halton", "scramble": False}), 3)
    assert (halton._qmc_type, halton._scramble) == ("halton", False)


def test_cmaes_and_qmc_run_on_the_spaces_they_are_allowed():
    for kind in ("cmaes", "qmc", "nsga2"):
        study = optuna.create_study(sampler=build_sampler(Sampler(kind), 0))
        study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1)
                       + (t.suggest_categorical("o", ["a", "b"]) == "a"), n_trials=6)
        assert len({tuple(t.params.items()) for t in study.trials}) == 6


def test_gp_without_pytorch_is_refused_before_any_trial(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if it were not installed
    assert not gp_installed()
    with pytest.raises(ConfigError) as caught:
        check_sampler(sweep("gp"))
    assert str(caught.value) == (
        "sampler: 'gp' is not allowed; sampler 'gp' needs PyTorch, which is not installed "
        "(about 540 MB to download: the torch wheel for Linux x86-64, more with its CUDA "
        "libraries): pip install -e \".[gp]\", or use sampler 'tpe'")


def test_the_sampler_flag_overrides_the_file_keeping_options_of_the_same_kind():
    tpe = dataclasses.replace(sweep("tpe"), sampler=Sampler("tpe", {"n_startup_trials": 2}))
    assert engines.override(tpe, sampler="qmc").sampler == Sampler("qmc")
    assert engines.override(tpe, sampler="tpe").sampler == tpe.sampler
    assert engines.override(tpe, sampler=None).sampler == tpe.sampler


def test_the_coordinator_runs_the_kind_auto_picked_and_says_so_first(tmp_path):
    from cifar_search.engines.optuna.coordinator import Coordinator
    from cifar_search.workspace import Workspace

    said = []
    coordinator = Coordinator(sweep(), Workspace.at(tmp_path), said.append)  # nothing opened
    assert coordinator.sweep.sampler.kind == "tpe"
    assert said == ["sampler 'auto' picked 'tpe': the space has categorical parameters "
                    "(optimizer)"]


def test_gp_without_pytorch_is_refused_naming_the_flag(monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)
    with pytest.raises(ConfigError) as caught:
        engines.override(sweep("tpe"), sampler="gp")
    assert str(caught.value).startswith("--sampler: 'gp' is not allowed; sampler 'gp' needs "
                                        "PyTorch")

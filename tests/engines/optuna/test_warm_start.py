"""Warm starts: which trials of an earlier study fit a new space (pure), when a study imports
and what is refused (pure), that the sampler's first proposal uses the imported trials
(in-memory Optuna), and one real pair of runs: a study, then a narrower one started from it."""

import json

import optuna
import pytest

from cifar_search import engines
from cifar_search.config.parts import Sampler
from cifar_search.config.space import Space
from cifar_search.config.sweep import Sweep
from cifar_search.engines.optuna.parts import build_sampler
from cifar_search.engines.optuna.seeding import DrawSeeded
from cifar_search.engines.optuna.space import distribution, suggest
from cifar_search.engines.optuna.warm_start import (
    SourceStudy,
    SourceTrial,
    check_source,
    fitting,
    import_line,
    imports,
    misfit,
    swept_values,
)
from cifar_search.errors import ConfigError
from cifar_search.session.fingerprint import check_fingerprint

from tests.helpers import cli_inline, mlflow_runs

SPACE = Space.from_dict({"parameters": {
    "optimizer": {"choices": ["sgd", "adam"]},
    "momentum": {"type": "float", "low": 0.5, "high": 0.9, "when": {"optimizer": "sgd"}},
    "learning_rate": {"type": "float", "low": 1e-4, "high": 1e-1, "log": True},
    "units": {"type": "int", "low": 16, "high": 64, "step": 16},
    "dropout_rate": {"type": "float", "low": 0.1, "high": 0.5, "step": 0.1},
    "filters": 8,
}})
FIT = {"optimizer": "adam", "learning_rate": 0.01, "units": 32, "dropout_rate": 0.3,
       "filters": 8}


@pytest.mark.parametrize("changes, why", [
    ({}, None),
    ({"optimizer": "sgd", "momentum": 0.9}, None),                 # a condition that holds
    ({"learning_rate": 1e-4}, None),                               # a log range's end
    ({"units": 48.0}, None),                                       # a whole float on the step
    ({"learning_rate": 0.5}, "learning_rate=0.5 lies outside"),     # above a log range
    ({"learning_rate": 1e-5}, "learning_rate=1e-05 lies outside"),  # below it
    ({"optimizer": "rmsprop"}, "optimizer=rmsprop lies outside"),  # a choice removed
    ({"units": 40}, "units=40 lies outside"),                      # off the int step
    ({"units": 32.5}, "units=32.5 lies outside"),
    ({"dropout_rate": 0.25}, "dropout_rate=0.25 lies outside"),    # off the float step
    ({"filters": 16}, "filters=16 lies outside"),                  # a fixed value changed
    ({"optimizer": "sgd"}, "momentum is new in this space"),       # a condition now active
    ({"momentum": 0.9}, "momentum is not in this space"),          # inactive here
    ({"units": None}, "units is new in this space"),               # a parameter the space adds
    ({"batch_norm": True}, "batch_norm is not in this space"),     # a parameter it drops
])
def test_what_fits_a_new_space(changes, why):
    params = {**FIT, **changes}
    params = {k: v for k, v in params.items() if v is not None}
    found = misfit(params, SPACE)
    assert (found is None) if why is None else found.startswith(why), found


def test_a_fixed_parameter_the_space_adds_does_not_fit():
    space = Space.from_dict({"parameters": {"dropout_rate": {"grid": [0.1, 0.3]},
                                            "filters": 8}})
    assert misfit({"dropout_rate": 0.1}, space) == "filters is new in this space"
    assert misfit({"dropout_rate": 0.1, "filters": 8}, space) is None


def test_fitting_keeps_order_and_gives_optuna_the_swept_values():
    trials = [SourceTrial(0, FIT, 1.0), SourceTrial(1, {**FIT, "units": 40}, 0.5),
              SourceTrial(2, {**FIT, "optimizer": "sgd", "momentum": 0.7, "units": 48.0}, 0.7)]
    kept = fitting(trials, SPACE)
    assert [t.number for t in kept] == [0, 2]
    values = swept_values(kept[1], SPACE)
    assert values == {"optimizer": "sgd", "momentum": 0.7, "learning_rate": 0.01, "units": 48,
                      "dropout_rate": 0.3}
    assert isinstance(values["units"], int)
    # Optuna takes them in the new space's distributions (create_trial checks each value)
    trial = optuna.trial.create_trial(params=values, value=0.7, distributions={
        name: distribution(SPACE[name]) for name in values})
    assert trial.params == values


def sweep(**changes):
    return Sweep("new", {"parameters": {"dropout_rate": {"grid": [0.1, 0.3]}}}, "dropout",
                 **{"trials": 3, "warm_start": "old", **changes})


def test_a_study_imports_once_when_it_is_created():
    assert imports(sweep(), None, 0, joining=False)
    assert not imports(sweep(warm_start=None), None, 0, joining=False)
    assert not imports(sweep(), {"study": "old"}, 5, joining=False)  # resumed: imported once
    assert imports(sweep(), None, 0, joining=False)  # a crash during its import: it goes on
    assert not imports(sweep(), None, 0, joining=True)  # another machine created it: it imports
    with pytest.raises(ConfigError) as caught:
        imports(sweep(), {"study": "older"}, 0, joining=False)
    assert str(caught.value) == (
        "--from-study: 'old': study 'new' was started from 'older', and imports once; start a "
        "new study from it with --study-name NEW --from-study old")
    with pytest.raises(ConfigError) as caught:
        imports(sweep(), None, 2, joining=False)
    assert str(caught.value) == (
        "--from-study: 'old': study 'new' has 2 trials of its own already, and a warm start "
        "fills a new study; start a new study from it with --study-name NEW --from-study old")


def test_an_earlier_study_whose_values_mean_something_else_is_refused():
    source = SourceStudy("old", "sqlite:///o.db", (), "val_loss", "minimize", {"model": "dropout"})
    check_source(source, sweep())
    for other, words in [
        (SourceStudy("old", "sqlite:///o.db", (), "val_accuracy", "maximize"),
         "--from-study: 'old' in sqlite:///o.db maximizes val_accuracy, this sweep minimizes "
         "val_loss: its values would mean something else here"),
        (SourceStudy("old", "sqlite:///o.db", (), "val_loss", "minimize", {"model": "cnn"}),
         "--from-study: 'old' in sqlite:///o.db trained model 'cnn', this sweep 'dropout': its "
         "values would mean something else here"),
    ]:
        with pytest.raises(ConfigError) as caught:
            check_source(other, sweep())
        assert str(caught.value) == words


@pytest.mark.parametrize("changes, message", [
    ({"warm_start": "a b"}, "warm_start: 'a b' is not allowed; warm_start is the name of an "
                            "earlier study: a name is non-empty"),
    ({"warm_start": "new"}, "warm_start: 'new' is not allowed; a study cannot start from "
                            "itself: give the new study another name (--study-name NEW)"),
    ({"warm_start": None, "warm_start_storage": "sqlite:///x.db"},
     "warm_start_storage: 'sqlite:///x.db' is not allowed; it names where warm_start's study "
     "is: give warm_start too"),
    ({"sampler": "grid", "trials": None}, "warm_start: 'old' is not allowed; a grid tries every "
                                          "point whatever an earlier study learnt"),
    ({"engine": "sklearn", "sampler": "random"},
     "warm_start: 'old' is not allowed; engine 'sklearn' searches afresh each run; warm starts "
     "add trials to an Optuna study: use engine 'optuna'"),
    ({"engine": "kerastuner", "sampler": "random"},
     "warm_start: 'old' is not allowed; engine 'kerastuner' cannot add trials of an earlier "
     "study to its oracle; warm starts add them to an Optuna study; use engine 'optuna'"),
])
def test_refused_warm_starts(changes, message):
    with pytest.raises(ConfigError) as caught:
        engines.check(sweep(**changes))
    assert str(caught.value).startswith(message)


def test_a_refusal_on_the_command_line_names_the_flag():
    loaded = engines.load("sweeps/dropout.py")
    with pytest.raises(ConfigError) as caught:
        engines.override(loaded, warm_start="older")
    assert str(caught.value).startswith("--from-study: 'older' is not allowed; a grid tries")


def test_the_refusal_to_resume_a_changed_space_names_the_warm_start():
    new = Sweep("x", {"parameters": {"dropout_rate": {"grid": [0.1]}}}, "dropout", trials=1,
                source="sweep.py")
    stored = {**new.fingerprint(), "space": {"parameters": {"dropout_rate": {"grid": [0.2]}}}}
    with pytest.raises(ConfigError) as caught:
        check_fingerprint(json.dumps(stored), new.fingerprint(), new, "sqlite:///o.db",
                          warm_starts=True)
    assert str(caught.value) == (
        'sweep.py: space: {"parameters": {"dropout_rate": {"grid": [0.1]}}} differs from the '
        'study\'s {"parameters": {"dropout_rate": {"grid": [0.2]}}}; the existing study \'x\' '
        "in sqlite:///o.db was run with other settings; start afresh with --study-name "
        "NEW_NAME or another --workspace, or start a new study from this one with "
        "--study-name NEW_NAME --from-study x")


def test_nothing_fitting_is_said_in_one_line():
    source = SourceStudy("old", "sqlite:///o.db", (SourceTrial(0, {"x": 1}, 1.0),) * 3)
    assert import_line(source, 0) == ("imported 0 of 3 complete trials of study 'old' (none "
                                      "fits this space); the sampler starts afresh")


def test_the_first_proposal_after_a_warm_start_is_tpe_s_own(monkeypatch):
    """TPE proposes at random until it has ``n_startup_trials`` results: with that many
    imported, the first new trial is proposed by its model, not by its random start-up."""
    space = Space.from_dict({"parameters": {"dropout_rate": {"type": "float", "low": 0.0,
                                                             "high": 0.5}}})
    drawn_at_random = []
    original = optuna.samplers.RandomSampler.sample_independent

    def spy(self, study, trial, name, dist):
        drawn_at_random.append(trial.number)
        return original(self, study, trial, name, dist)

    monkeypatch.setattr(optuna.samplers.RandomSampler, "sample_independent", spy)

    def first_proposal(imported):
        sampler = DrawSeeded(lambda seed: build_sampler(Sampler("tpe", {"n_startup_trials": 2}),
                                                        seed), 0)
        study = optuna.create_study(sampler=sampler)
        for value, rate in imported:
            params = swept_values(SourceTrial(0, {"dropout_rate": rate}, value), space)
            study.add_trial(optuna.trial.create_trial(
                params=params, value=value, user_attrs={"imported_from": {"study": "old"}},
                distributions={"dropout_rate": distribution(space["dropout_rate"])}))
        drawn_at_random.clear()
        trial = study.ask()
        suggest(space, trial)
        return trial.number, list(drawn_at_random)

    assert first_proposal([]) == (0, [0])  # a fresh study starts at random
    assert first_proposal([(0.9, 0.1), (0.5, 0.4)]) == (2, [])  # informed by both


SWEEP = """
from cifar_search import Budget, Data, Objective, Sampler, Sweep

sweep = Sweep(
    name="{name}",
    space={{"parameters": {{"dropout_rate": {space}, "filters": 4}}}},
    model="dropout",
    data=Data(validation=0.25),
    budget=Budget(epochs=1, batch_size=8),
    objective=Objective("val_loss"),
    sampler={sampler},
    trials={trials},
    seed=3,
)
"""


@pytest.mark.processes
def test_a_narrower_study_starts_from_the_fitting_trials(tmp_path, tiny_data):
    (tmp_path / "old.py").write_text(SWEEP.format(
        name="old", space='{"grid": [0.1, 0.5]}', sampler='"grid"', trials=None))
    (tmp_path / "new.py").write_text(SWEEP.format(
        name="new", space='{"type": "float", "low": 0.05, "high": 0.35}',
        sampler='Sampler("tpe", {"n_startup_trials": 1})', trials=1))
    flags = ["--data", tiny_data, "--workspace", tmp_path / "ws", "--no-register"]
    missing = cli_inline("run", "new.py", "--from-study", "nothere", *flags, cwd=tmp_path,
                         check=False)
    assert missing.returncode == 1 and not (tmp_path / "ws" / "optuna.db").exists()
    assert missing.stderr.startswith("error: --from-study: 'nothere' is no study in sqlite:///")
    assert missing.stderr.rstrip().endswith("its studies are none (--from-storage URL reads "
                                            "another storage)")
    cli_inline("run", "old.py", *flags, cwd=tmp_path)
    run = cli_inline("run", "new.py", "--from-study", "old", *flags, cwd=tmp_path)
    assert ("imported 1 of 2 complete trials of study 'old' (those that fit this space); they "
            "inform the sampler and do not count toward trials") in run.stdout
    url = f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}"
    old = {t.number: t for t in optuna.load_study(study_name="old", storage=url).get_trials()}
    new = optuna.load_study(study_name="new", storage=url).get_trials()
    assert [t.state.name for t in new] == ["COMPLETE", "COMPLETE"]  # 1 imported + 1 trained
    imported, trained = new
    source = old[imported.user_attrs["imported_from"]["trial"]]
    assert source.params == {"dropout_rate": 0.1} and imported.value == source.value
    assert imported.user_attrs["imported_from"] == {
        "study": "old", "trial": source.number,
        "mlflow_run_id": source.user_attrs["mlflow_run_id"]}
    assert "model_path" in trained.user_attrs and "model_path" not in imported.user_attrs
    status = json.loads(cli_inline("status", "new.py", "--json", *flags[2:4], cwd=tmp_path).stdout)
    assert status["counts"] == {"complete": 1, "imported": 1}
    assert [t["state"] for t in status["trials"]] == ["imported", "complete"]
    best = json.loads(cli_inline("best", "new.py", "--json", *flags[2:4], cwd=tmp_path).stdout)
    assert best["best"]["number"] == trained.number  # chosen among trials trained here
    _, runs = mlflow_runs(tmp_path / "ws", "new")
    by_id = {r.info.run_id: r for r in runs}
    run_of = by_id[imported.user_attrs["mlflow_run_id"]]
    assert run_of.info.status == "FINISHED" and run_of.data.tags["state"] == "imported"
    assert run_of.data.tags["imported_from_run"] == source.user_attrs["mlflow_run_id"]
    assert run_of.data.metrics["objective"] == pytest.approx(source.value)
    parent = next(r for r in runs if r.data.tags.get("cifar_search.kind") == "study")
    assert parent.data.tags["warm_start"] == "old (1 of 2 complete trials imported)"
    again = cli_inline("run", "new.py", "--from-study", "old", *flags, cwd=tmp_path)
    assert again.stdout.startswith("resuming study 'new': 1 complete, 1 imported, 0 left; "
                                   "nothing to do")  # the same command again: no new import
    assert len(optuna.load_study(study_name="new", storage=url).get_trials()) == 2
    assert cli_inline("check", "new.py", *flags[2:4], cwd=tmp_path).returncode == 0

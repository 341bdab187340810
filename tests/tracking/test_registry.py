"""The best model is registered where the sweep asks, by default in the workspace's own
store only; what its version says (description, tags) and which version holds the alias
``best``."""

import dataclasses
import json

import pytest

from cifar_search.errors import ConfigError
from cifar_search.tracking.registry import (
    BestVersion,
    description,
    model_versions,
    registers,
    takes_alias,
    version_tags,
)
from cifar_search.workspace import Workspace
from tests.tracking.runs import SWEEP


def test_the_best_model_is_registered_by_default_only_in_the_workspaces_own_store(tmp_path):
    own = Workspace.at(tmp_path / "ws")
    server = Workspace.at(tmp_path / "ws", tracking_uri="http://127.0.0.1:5000")
    assert registers(SWEEP, own) and not registers(SWEEP, server)
    assert not registers(dataclasses.replace(SWEEP, register=False), own)
    assert registers(dataclasses.replace(SWEEP, register=True), server)


def test_register_must_be_true_false_or_none():
    with pytest.raises(ConfigError, match="register: 'yes' is not allowed; register is True, "
                                          r"False or None \(on for the workspace's store\)"):
        dataclasses.replace(SWEEP, register="yes")


BEST = BestVersion("tiny-grid", "tiny-grid", 2, "val_loss", "minimize", 0.912345,
                   {"dropout_rate": 0.3, "activation": "elu"}, 0.625, 1.05, "optuna", "run2",
                   ("cat", "dog"))


def test_the_versions_description_gives_the_trial_its_scores_classes_and_how_to_load_it():
    text = description(BEST)
    assert text.splitlines()[0] == ("trial-0002, the best of study tiny-grid "
                                    "(dropout_rate=0.3, activation=elu).")
    assert "**val_loss** (minimize): 0.9123; **test accuracy**: 0.625." in text
    assert "**Classes** (the outputs, in order): cat, dog." in text
    assert 'mlflow.pyfunc.load_model("models:/tiny-grid@best")' in text
    assert 'model.metadata.metadata["class_names"]' in text
    bare = description(dataclasses.replace(BEST, params={}, value=None, classes=()))
    assert "(default parameters)" in bare and "(minimize): none;" in bare
    assert "**Classes**" not in bare


def test_the_versions_tags_say_where_it_comes_from_and_how_good_it_is():
    assert version_tags(BEST) == {
        "study": "tiny-grid", "trial": "2", "trial_run": "trial-0002", "objective": "val_loss",
        "direction": "minimize", "objective_value": "0.912345", "test_accuracy": "0.625",
        "test_loss": "1.05", "engine": "optuna", "params": "dropout_rate=0.3, activation=elu"}
    bare = version_tags(dataclasses.replace(BEST, params={}, value=None, test_loss=None))
    assert not {"params", "objective_value", "test_loss"} & set(bare)


@pytest.mark.parametrize(("holder", "takes"), [
    (None, True),  # nothing holds the alias yet
    ({"study": "tiny-grid", "objective_value": "0.1"}, True),  # the study's later best
    ({"study": "other", "objective": "val_loss", "direction": "minimize",
      "objective_value": "0.95"}, True),  # another study, worse
    ({"study": "other", "objective": "val_loss", "direction": "minimize",
      "objective_value": "0.8"}, False),  # another study, better: it keeps the alias
    ({"study": "other", "objective": "val_accuracy", "direction": "maximize",
      "objective_value": "0.99"}, True),  # another objective: values do not compare
    ({"study": "other"}, True),  # a version without the tags: the newest wins
])
def test_the_best_alias_moves_to_a_better_or_the_same_studys_newer_version(holder, takes):
    assert takes_alias(BEST, holder) is takes
    maximizing = dataclasses.replace(BEST, objective="val_accuracy", direction="maximize",
                                     value=0.7)
    assert takes_alias(maximizing, {"study": "other", "objective": "val_accuracy",
                                    "direction": "maximize", "objective_value": "0.6"})


def test_the_logged_models_version_list_is_appended_as_register_model_writes_it():
    first = model_versions(None, "tiny-grid", "1")
    assert json.loads(first) == [{"name": "tiny-grid", "version": "1"}]
    both = model_versions(first, "tiny-grid", "2")
    assert json.loads(both) == [{"name": "tiny-grid", "version": "1"},
                                {"name": "tiny-grid", "version": "2"}]
    assert model_versions(both, "tiny-grid", "2") == both  # listed once

"""User-facing error messages, pinned: each names the file, the key, the value and what is
allowed."""

import pytest

from cifar_search import engines, load_sweep
from cifar_search.config.space import Space, load_space
from cifar_search.errors import ConfigError


def space_error(parameters):
    with pytest.raises(ConfigError) as caught:
        Space.from_dict({"parameters": parameters}, source="search_spaces/x.yaml")
    return str(caught.value)


@pytest.mark.parametrize(
    "parameters, message",
    [
        ({"dropout_rate": {"type": "float", "low": 0.1, "high": 1.5}},
         "search_spaces/x.yaml: dropout_rate: high=1.5 is out of range; "
         "a dropout rate lies in [0, 1)"),
        ({"dropout": {"grid": [0.1]}},
         "search_spaces/x.yaml: parameters: unknown parameter 'dropout' "
         "(did you mean 'dropout_rate'?); known parameters are activation,"),
        ({"optimizer": {"choices": ["sgd", "adm"]}},
         "search_spaces/x.yaml: optimizer: choices value='adm' is unknown; "
         "optimizers are sgd, rmsprop, adam, adamw, nadam, adagrad, adamax"),
        ({"lr_schedule": {"choices": ["cosine", "step"]}},
         "search_spaces/x.yaml: lr_schedule: choices value='step' is unknown; "
         "learning-rate schedules are constant, cosine"),
        ({"label_smoothing": {"type": "float", "low": 0.0, "high": 1.0}},
         "search_spaces/x.yaml: label_smoothing: high=1.0 is out of range; "
         "label smoothing lies in [0, 1)"),
        ({"activation": "softmax"},
         "search_spaces/x.yaml: activation: value='softmax' is unknown; activations are relu,"),
        ({"optimizer": {"choices": []}},
         "search_spaces/x.yaml: optimizer: choices=[] is not allowed; choices is a non-empty list"),
        ({"learning_rate": {"type": "float", "low": 0.0001, "high": 0.1, "log": True, "stp": 2}},
         "search_spaces/x.yaml: learning_rate: unknown key 'stp' (did you mean 'step'?); "
         "allowed keys are type, low, high, step, log, choices, grid, value, when"),
        ({"weight_decay": {"type": "float", "low": 0.0, "high": 0.1, "log": True}},
         "search_spaces/x.yaml: weight_decay: low=0.0 is not allowed with log: true; low must be > 0"),
        ({"depth": {"type": "int", "low": 4, "high": 2}},
         "search_spaces/x.yaml: depth: low=4 is above high=2; low must be <= high"),
        ({"depth": {"type": "float", "low": 1.0, "high": 3.0}},
         "search_spaces/x.yaml: depth: type='float' is not allowed; depth is a whole number of blocks >= 1"),
        ({"depth": {"low": 1, "high": 3}},
         "search_spaces/x.yaml: depth: type=None is not allowed; a range needs type: int or type: float"),
        ({"dropout_rate": {"type": "float", "low": 0.0, "high": 0.5, "step": 0.2}},
         "search_spaces/x.yaml: dropout_rate: step=0.2 does not divide high - low"),
        ({"units": {"grid": [64, 64]}},
         "search_spaces/x.yaml: units: grid repeats 64; each value may appear once"),
        ({"momentum": {"grid": [0.9], "when": {"optimizer": "sgd"}}},
         "search_spaces/x.yaml: momentum: when refers to 'optimizer', which is not a parameter "
         "defined before 'momentum'"),
        ({"optimizer": {"choices": ["adam"]}, "momentum": {"grid": [0.9], "when": {"optimizer": "sgd"}}},
         "search_spaces/x.yaml: momentum: when.optimizer='sgd' can never hold; optimizer takes 'adam'"),
        ({"batch_norm": "yes"},
         "search_spaces/x.yaml: batch_norm: value='yes' is not true or false"),
        ({"units": {"choices": [64], "grid": [32]}},
         "search_spaces/x.yaml: units: keys choices and grid given; give exactly one of"),
        ({"units": [64, 128]},
         "search_spaces/x.yaml: units: [64, 128] is not allowed; write choices: [...] or grid: [...]"),
    ],
)
def test_space_errors(parameters, message):
    assert space_error(parameters).startswith(message)


def test_space_file_errors(tmp_path):
    missing = tmp_path / "missing.yaml"
    with pytest.raises(ConfigError, match=r"missing.yaml: cannot read the space file"):
        load_space(missing)
    broken = tmp_path / "broken.yaml"
    broken.write_text("parameters:\n  depth: {type: int, low: 1\n")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+: invalid YAML"):
        load_space(broken)
    empty = tmp_path / "empty.yaml"
    empty.write_text("parameters: {}\n")
    with pytest.raises(ConfigError, match=r"empty.yaml: parameters: \{\} is not allowed"):
        load_space(empty)


SPACE = "parameters:\n  dropout_rate: {grid: [0.2, 0.4]}\n"


def write_sweep(tmp_path, body, space=SPACE):
    (tmp_path / "space.yaml").write_text(space)
    path = tmp_path / "bad.py"
    path.write_text("from cifar_search import *\n" + body)
    return path


def sweep_error(tmp_path, body, space=SPACE):
    path = write_sweep(tmp_path, body, space)
    with pytest.raises(ConfigError) as caught:
        load_sweep(path)
    message = str(caught.value)
    assert message.startswith(str(tmp_path))  # names the sweep or the space file
    return message.split(": ", 1)[1]


@pytest.mark.parametrize(
    "body, message",
    [
        ("sweep = Sweep(name='x', space='space.yaml', model='lenet', sampler='grid')",
         "model: 'lenet' is not allowed; model families are intro, dropout, vgg, bnnet, fastnet, resnet"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='bayes')",
         "sampler: 'bayes' is not allowed; samplers are grid, random, tpe, cmaes, qmc, nsga2, "
         "gp, auto"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', pruner='bohb', sampler='grid')",
         "pruner: 'bohb' is not allowed; pruners are none, median, percentile, hyperband, "
         "successive_halving, asha"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "pruner=Pruner('median', patience=0))",
         "pruner.patience: 0 is not allowed; patience is a whole number of epochs >= 1, or None"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "pruner=Pruner('none', patience=2))",
         "pruner.patience: 2 is not allowed; patience delays a pruner; pruner 'none' has nothing "
         "to delay"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='tpe')",
         "trials: None is not allowed; sampler 'tpe' needs a number of trials"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', workers=0)",
         "workers: 0 is not allowed; workers is a whole number from 1 to 64"),
        ("sweep = Sweep(name='x y', space='space.yaml', model='dropout', sampler='grid')",
         "name: 'x y' is not allowed; a name is non-empty and uses letters, digits"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "budget=Budget(epochs=0))",
         "budget.epochs: 0 is not allowed; epochs is a whole number >= 1"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective('accuracy'))",
         "objective.metric: 'accuracy' is not allowed; metrics are val_loss, val_accuracy"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "data=Data(validation=1.2))",
         "data.validation: 1.2 is not allowed; validation is a fraction in (0, 1)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=3, "
         "sampler=Sampler('tpe', {'n_startup': 3}))",
         "sampler.options: 'n_startup' is not allowed; TPESampler takes"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', trials=-2)",
         "trials: -2 is not allowed; trials is a whole number >= 1"),
        ("sweep = 3", "sweep: found 0 Sweep objects; define one, named 'sweep = Sweep(...)'"),
        ("sweep = Sweep(name='x', spce='space.yaml')",
         "line 2: TypeError: Sweep.__init__() got an unexpected keyword argument 'spce'"),
        ("sweep = Sweep(name='x', space='nope.yaml', model='dropout', sampler='grid')",
         "cannot read the space file"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "repeats=0)",
         "repeats: 0 is not allowed; repeats is a whole number from 1 to 50"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "same_seed='yes')",
         "same_seed: 'yes' is not allowed; same_seed is True or False"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='keras')",
         "engine: 'keras' is not allowed; engines are optuna, sklearn, kerastuner"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', options={'sklearn': {'cv': 1}})",
         "options.sklearn.cv: 1 is not allowed; cv is a whole number of folds >= 2"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', options={'sklearn': {'folds': 3}})",
         "options.sklearn.folds: 3 is not allowed; engine 'sklearn' takes cv, n_jobs, "
         "as_written"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "options={'keras': {'cv': 3}})",
         "options.keras: {'cv': 3} is not allowed; options are given under an engine's name: "
         "optuna, sklearn, kerastuner"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "options={'sklearn': 3})",
         "options: {'sklearn': 3} is not allowed; options map an engine's name to its "
         "settings"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', options={'sklearn': {'n_jobs': 0}})",
         "options.sklearn.n_jobs: 0 is not allowed; n_jobs is a whole number from 1 to 64, or None"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=4, "
         "engine='sklearn')",
         "sampler: 'tpe' is not allowed; engine 'sklearn' runs sampler 'grid' (GridSearchCV) "
         "or 'random' (RandomizedSearchCV)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', pruner='median')",
         "pruner: 'median' is not allowed; engine 'sklearn' cross-validates every candidate "
         "fully; use pruner 'none'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "options={'sklearn': {'as_written': True}})",
         "options.sklearn.as_written: True is not allowed; the as-written mode reproduces a scikeras mistake; "
         "it needs engine 'sklearn'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "constraints={'flops': '<= 3'})",
         "constraints.flops: 'flops' is no measure; a constraint names one of val_loss, "
         "val_accuracy, params, latency_ms, train_seconds"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "constraints={'params': '<= 1 million'})",
         "constraints.params: '<= 1 million' is not allowed; a limit is an operator (<=, <, "
         ">=, >) and a number, e.g. '<= 1_000_000', '< 2.5', '>= 0.6' or '<= 1.5M' "
         "(underscores between digits; k: thousand, M: million)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', constraints={'params': '<= 1M'})",
         "constraints: {'params': '<= 1000000'} is not allowed; engine 'sklearn' has no "
         "constraints: GridSearchCV fits and scores every candidate alike; use engine 'optuna'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='kerastuner', constraints={'params': '<= 1M'})",
         "constraints: {'params': '<= 1000000'} is not allowed; engine 'kerastuner' has no "
         "constraints: its oracles know one objective and no infeasible trial; use engine "
         "'optuna'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(gpu_memory_mb=10))",
         "compute.gpu_memory_mb: 10 is not allowed; gpu_memory_mb is a whole number of MiB "
         ">= 64, or None"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(gpus_per_trial=0.3))",
         "compute.gpus_per_trial: 0.3 is not allowed; gpus_per_trial is a whole number from 1 to "
         "64, a fraction 1/m (0.5, 0.25, ... down to 1/16), or None"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(gpus_per_trial=2))",
         "compute.gpus_per_trial: 2 is not allowed; a trial trains on more than one GPU only with "
         "data_parallel=True"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(gpus=[0, 0]))",
         "compute.gpus: (0, 0) is not allowed; gpus lists GPU indices as nvidia-smi numbers them, "
         "each once (e.g. [0, 2]), or is None (every GPU)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(backend='torch'))",
         "compute.backend: 'torch' is not allowed; backend is one of tensorflow, jax"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(backend='jax', data_parallel=True))",
         "compute.backend: 'jax' is not allowed; data_parallel trains with tf.distribute: "
         "backend 'tensorflow' only"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', compute=Compute(backend='jax'))",
         "compute.backend: 'jax' is not allowed; engine 'sklearn' trains scikeras models on "
         "TensorFlow in its own processes: backend 'tensorflow'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', compute=Compute(gpus_per_trial=0.5))",
         "compute.gpus_per_trial: 0.5 is not allowed; engine 'sklearn' fits in joblib's "
         "processes, which are not placed on GPUs (each sees every GPU, memory growing as "
         "needed): leave gpus_per_trial unset, or use engine 'optuna' or 'kerastuner'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "engine='sklearn', compute=Compute(gpus=[0, 2]))",
         "compute.gpus: (0, 2) is not allowed; engine 'sklearn' fits in joblib's processes, "
         "which are not placed on GPUs (each sees every GPU, memory growing as needed): leave "
         "gpus unset and start run with CUDA_VISIBLE_DEVICES=0,2 to choose its GPUs"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(xla='auto'))",
         "compute.xla: 'auto' is not allowed; xla is True, False or None (Keras decides)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(steps_per_execution=0))",
         "compute.steps_per_execution: 0 is not allowed; steps_per_execution is a whole number "
         ">= 1"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "compute=Compute(widen_tail='auto'))",
         "compute.widen_tail: 'auto' is not allowed; widen_tail is True or False"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "options={'optuna': {'start': [{'dropout_rate': 0.4}]}})",
         "options.optuna.start: ({'dropout_rate': 0.4},) is not allowed; a grid tries every point, in the "
         "order of its choices: list the first point's values first instead"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=2, "
         "options={'optuna': {'start': [{'dropout_rate': 0.4}] * 3}})",
         "options.optuna.start: ({'dropout_rate': 0.4}, {'dropout_rate': 0.4}, {'dropout_rate': 0.4}) is not "
         "allowed; 3 points, at most trials (2)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=2, "
         "options={'optuna': {'start': {'dropout_rate': 0.4}}})",
         "options.optuna.start: {'dropout_rate': 0.4} is not allowed; start is a list of points, each a "
         "mapping of parameter names to values"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=2, "
         "options={'optuna': {'start': [{'filters': 32}]}})",
         "options.optuna.start[0].filters: 32 is not allowed; start points set swept parameters: "
         "dropout_rate"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=2, "
         "options={'optuna': {'start': [{'dropout_rate': 0.3}]}})",
         "options.optuna.start[0].dropout_rate: 0.3 is not allowed; the space allows {'grid': [0.2, 0.4]}"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', trials=2, "
         "engine='kerastuner', options={'kerastuner': {'oracle': 'random'}, "
         "'optuna': {'start': [{'dropout_rate': 0.4}]}})",
         "options.optuna.start: ({'dropout_rate': 0.4},) is not allowed; start points are queued in an "
         "Optuna study: engine 'optuna' only"),
    ],
)
def test_sweep_errors(tmp_path, body, message):
    assert sweep_error(tmp_path, body).startswith(message)


@pytest.mark.parametrize(
    "model, space, message",
    [
        ("dropout", "parameters:\n  units: {grid: [32, 64]}\n",
         "space: 'units' is not allowed; model 'dropout' does not use it; it uses"),
        ("vgg", "parameters:\n  depth: {type: int, low: 2, high: 7}\n",
         "space.depth: 7 is not allowed; model 'vgg' fits at most depth 5 on 32x32 images"),
        ("vgg", "parameters:\n  depth: {grid: [1, 2, 3]}\n  filters_3: {grid: [64, 128]}\n",
         "space.filters_3: {'grid': [64, 128]} is not allowed; filters_3 takes effect only when "
         "depth >= 3; add when: {depth: {min: 3}}"),
        ("dropout", "parameters:\n  optimizer: {choices: [sgd, adam]}\n  momentum: {grid: [0.9]}\n",
         "space.momentum: {'grid': [0.9]} is not allowed; momentum takes effect only with sgd, "
         "rmsprop but would also be sampled with adam"),
        ("dropout", "parameters:\n  learning_rate: {type: float, low: 1e-4, high: 1e-1, log: true}\n",
         "learning_rate: {'type': 'float', 'low': 0.0001, 'high': 0.1, 'log': True} is a "
         "continuous range; a grid search needs finite values"),
    ],
)
def test_space_against_model(tmp_path, model, space, message):
    body = f"sweep = Sweep(name='x', space='space.yaml', model={model!r}, sampler='grid')"
    assert sweep_error(tmp_path, body, space).startswith(message)


CONDITIONAL = ("parameters:\n  optimizer: {choices: [sgd, adam]}\n"
               "  momentum: {type: float, low: 0.5, high: 0.9, when: {optimizer: sgd}}\n")


@pytest.mark.parametrize(
    "body, space, message",
    [
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='cmaes', "
         "trials=4)", SPACE,
         "sampler: 'cmaes' is not allowed; CMA-ES models numeric ranges that every trial has "
         "and this space has none (every swept parameter is categorical, conditional or "
         "fixed); use sampler 'tpe', 'random', 'qmc' or 'grid'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='qmc', "
         "trials=4)", CONDITIONAL,
         "sampler: 'qmc' is not allowed; a quasi-random sequence draws every parameter in "
         "every trial and momentum exist(s) only under a condition (when); use sampler 'tpe' "
         "or 'random', or sweep it without when"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', "
         "sampler=Sampler('qmc', {'qmc_type': 'latin'}), trials=4)", SPACE,
         "sampler.options: {'qmc_type': 'latin'} is not allowed; QMCSampler refuses it"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', "
         "sampler=Sampler('qmc', {'independent_sampler': None}), trials=4)", SPACE,
         "sampler.options: 'independent_sampler' is not allowed; QMCSampler takes qmc_type, "
         "scramble,"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', "
         "sampler=Sampler('auto', {'n_startup_trials': 3}), trials=4)", SPACE,
         "sampler.options: {'n_startup_trials': 3} is not allowed; sampler 'auto' takes no "
         "options (the sampler it picks runs with its defaults); name the sampler to give it "
         "options"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='auto')",
         CONDITIONAL, "trials: None is not allowed; sampler 'auto' needs a number of trials"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='cmaes', "
         "engine='sklearn')", CONDITIONAL,
         "sampler: 'cmaes' is not allowed; engine 'sklearn' runs sampler 'grid' (GridSearchCV) "
         "or 'random' (RandomizedSearchCV)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='qmc', "
         "engine='kerastuner')", SPACE,
         "sampler: 'qmc' is not allowed; engine 'kerastuner' needs an oracle: "
         "options.kerastuner.oracle='random', 'grid', 'bayesian' or 'hyperband' (or sampler "
         "'grid' or 'random')"),
    ],
)
def test_sampler_errors(tmp_path, body, space, message):
    assert sweep_error(tmp_path, body, space).startswith(message)


TWO = "objective=Objective(['val_accuracy', 'params'])"


@pytest.mark.parametrize(
    "body, message",
    [
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective(['val_accuracy', 'size']))",
         "objective.metric: 'size' is not allowed; measures are val_loss, val_accuracy, params, "
         "latency_ms, train_seconds"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective(['params', 'latency_ms']))",
         "objective.metric: ['params', 'latency_ms'] is not allowed; several objectives include "
         "val_loss or val_accuracy (the trained model's score)"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective(['val_accuracy', 'val_accuracy']))",
         "objective.metric: ['val_accuracy', 'val_accuracy'] is not allowed; each measure is "
         "named once"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective(['val_accuracy', 'params'], direction=['maximize']))",
         "objective.direction: ['maximize'] is not allowed; one direction per objective (2), "
         "each minimize or maximize"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective(['val_accuracy', 'params'], prune_on='params'))",
         "objective.prune_on: 'params' is not allowed; the pruner judges a per-epoch curve: "
         "val_loss, val_accuracy"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective(['val_accuracy', 'params'], pick='latency_ms'))",
         "objective.pick: 'latency_ms' is not allowed; pick is one of the objectives: "
         "val_accuracy, params"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         "objective=Objective('val_loss', prune_on='val_accuracy'))",
         "objective.prune_on: 'val_accuracy' is not allowed; a single objective prunes on its "
         "own metric"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='cmaes', "
         f"trials=4, {TWO})",
         "sampler: 'cmaes' is not allowed; with several objectives the samplers are nsga2, tpe, "
         "random, grid"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         f"engine='kerastuner', {TWO})",
         "objective.metric: ['val_accuracy', 'params'] is not allowed; engine 'kerastuner' "
         "scores each trial on one metric (a KerasTuner oracle has one objective); use engine "
         "'optuna'"),
        ("sweep = Sweep(name='x', space='space.yaml', model='dropout', sampler='grid', "
         f"engine='sklearn', {TWO})",
         "objective.metric: 'params' is not allowed; engine 'sklearn' scores val_accuracy and "
         "val_loss (scikit-learn's multi-metric scoring); use engine 'optuna' for params"),
    ],
)
def test_several_objectives_errors(tmp_path, body, message):
    assert sweep_error(tmp_path, body) == message


ASHA = "sampler='tpe', trials=9, budget=Budget(epochs=9), pruner=Pruner('asha'"


@pytest.mark.parametrize(
    "body, message",
    [
        (f"{ASHA}, {{'rungs': [1, 3]}})",
         "pruner.options: rungs=[1, 3] ends at 3 epochs but budget.epochs is 9; the last rung "
         "is the budget's epochs (leave rungs out to divide the budget by reduction_factor)"),
        (f"{ASHA}, {{'rungs': [3, 1, 9]}})",
         "pruner.options: rungs=[3, 1, 9] is not allowed; rungs are epochs per rung, strictly "
         "increasing whole numbers >= 1, e.g. [4, 12, 24]"),
        (f"{ASHA}, {{'reduction_factor': 1}})",
         "pruner.options: reduction_factor=1 is not allowed; a rung promotes its top "
         "1/reduction_factor: a whole number >= 2"),
        (f"{ASHA}, {{'min_resource': 1}})",
         "pruner.options: 'min_resource' is not an option of pruner 'asha'; it takes rungs, "
         "reduction_factor"),
        (f"{ASHA}), repeats=2",
         "repeats: 2 is not allowed; pruner 'asha' ranks one value per trial at each rung; use "
         "repeats=1"),
        (f"{ASHA}), same_seed=True",
         "same_seed: True is not allowed; same_seed takes an earlier result of the same "
         "parameters, and pruner 'asha' trains a promoted trial's parameters again at more "
         "epochs; use False"),
        (f"{ASHA}), {TWO}",
         "objective: ['val_accuracy', 'params'] is not allowed; pruner 'asha' ranks trials on "
         "one objective; several objectives need another pruner"),
        (f"{ASHA}, patience=2)",
         "pruner.patience: 2 is not allowed; pruner 'asha' stops no trial mid-way (each trains "
         "its rung's epochs); patience has nothing to delay"),
        ("sampler='tpe', trials=9, budget=Budget(epochs=9, stop_after=3), pruner='asha'",
         "budget.stop_after: 3 is not allowed; stop_after compares each complete trial with the "
         "best, and under pruner 'asha' a low rung's score never matches a higher rung's; leave "
         "it out"),
        ("sampler='grid', budget=Budget(epochs=9), pruner='asha'",
         "sampler: 'grid' is not allowed; pruner 'asha' trains a promoted grid point again; use "
         "a sampler that draws, such as 'tpe' or 'random'"),
    ],
)
def test_asha_errors(tmp_path, body, message):
    body = f"sweep = Sweep(name='x', space='space.yaml', model='dropout', {body})"
    assert sweep_error(tmp_path, body) == message


def test_a_sampler_that_cannot_work_is_refused_naming_the_flag(tmp_path):
    path = write_sweep(tmp_path, "sweep = Sweep(name='x', space='space.yaml', model='dropout', "
                                 "trials=2)")
    with pytest.raises(ConfigError) as caught:
        engines.override(load_sweep(path), sampler="cmaes")
    assert str(caught.value).startswith("--sampler: 'cmaes' is not allowed; CMA-ES models")


def test_missing_sweep_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope.py: no such sweep file"):
        load_sweep(tmp_path / "nope.py")


def test_syntax_error_names_line(tmp_path):
    path = write_sweep(tmp_path, "sweep = Sweep(\n")
    with pytest.raises(ConfigError, match=r"bad.py: line \d+: invalid Python"):
        load_sweep(path)


def test_override_names_the_flag_or_the_file(tmp_path):
    path = write_sweep(tmp_path, "sweep = Sweep(name='x', space='space.yaml', model='dropout', "
                                 "trials=2, sampler='random')")
    sweep = load_sweep(path)
    with pytest.raises(ConfigError) as caught:
        sweep.override(repeats=99)
    assert str(caught.value) == "--repeats: 99 is not allowed; repeats is a whole number from 1 to 50"
    tpe = write_sweep(tmp_path, "sweep = Sweep(name='x', space='space.yaml', model='dropout', "
                                "trials=2)")
    with pytest.raises(ConfigError) as caught:
        engines.override(load_sweep(tpe), engine="sklearn")
    assert str(caught.value).startswith(f"{tpe}: sampler: 'tpe' is not allowed; engine 'sklearn'")
    with pytest.raises(ConfigError) as caught:
        engines.override(sweep, as_written=True)
    assert str(caught.value) == ("--as-written: True is not allowed; the as-written mode "
                                 "reproduces a scikeras mistake; it needs engine 'sklearn'")
    with pytest.raises(ConfigError) as caught:
        engines.override(sweep, engine="sklearn", gpus=(1,))
    assert str(caught.value).startswith("--gpus: (1,) is not allowed; engine 'sklearn' fits in "
                                        "joblib's processes, which are not placed on GPUs")
    assert engines.override(sweep, engine="sklearn", as_written=True).options == {
        "sklearn": {"as_written": True}}


@pytest.mark.parametrize("extra", ["sampler='grid', repeats=2", "sampler='grid', same_seed=True",
                                   "sampler='tpe', trials=4, warm_start='old'"])
def test_several_objectives_take_repeats_same_seed_and_a_warm_start(tmp_path, extra):
    path = write_sweep(tmp_path, "sweep = Sweep(name='x', space='space.yaml', model='dropout', "
                                 f"{extra}, {TWO})")
    assert load_sweep(path).objective.several

"""Hostile space and sweep files (issue 16): each is refused while the sweep is loaded, with
one line that names the file or flag, the rule and a shortened value, before any workspace,
study or run exists.

Every case runs ``python -m cifar_search run`` in this process (``cli_inline``); ``--data``
names a folder that does not exist, which is never reached: all these checks come first.
"""

from __future__ import annotations

import hashlib
import json
import time

import pytest

from cifar_search.config.space import MAX_GRID_POINTS, MAX_SPACE_BYTES, Space
from cifar_search.config.parts import Pruner, Sampler
from cifar_search.engines.optuna.parts import check_part
from cifar_search.errors import ConfigError, clipped, shown
from tests.helpers import cli_inline, snapshot

GOOD_SPACE = "parameters:\n  dropout_rate: {grid: [0.1, 0.2]}\n"
HEADER = "from cifar_search import *\n"


def sweep_body(extra="sampler='grid'", model="vgg", space="'space.yaml'", name="x"):
    return HEADER + f"sweep = Sweep(name={name!r}, space={space}, model={model!r}, {extra})\n"


def billion_laughs():
    lines = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        lines.append(f"{name}: &{name} [" + ", ".join([f"*{prev}"] * 9) + "]")
    return "\n".join(lines) + "\nparameters: *i\n"


def floats_grid(count, repeat_last=False):
    values = [f"{1e-5 * i:.5g}" for i in range(1, count + 1)]
    if repeat_last:
        values[-1] = values[0]
    return "parameters:\n  learning_rate: {grid: [" + ", ".join(values) + "]}\n"


# (id, space file text or bytes, sweep file text, extra arguments, what stderr must contain)
CASES = [
    # -- the YAML itself --------------------------------------------------------------------
    ("billion-laughs", billion_laughs(), sweep_body(), (),
     "space.yaml: line 1: invalid YAML: anchors and aliases (&name, *name) are not allowed"),
    ("alias", "x: &d 0.5\nparameters:\n  dropout_rate: *d\n", sweep_body(), (),
     "space.yaml: line 1: invalid YAML: anchors and aliases"),
    ("grid-of-100000-values", floats_grid(100_000), sweep_body(), (),
     f"space.yaml: the space file is larger than {MAX_SPACE_BYTES // 1024} KiB"),
    ("duplicate-parameter", "parameters:\n  depth: {grid: [1, 2]}\n  depth: {grid: [3]}\n",
     sweep_body(), (), "space.yaml: line 3: invalid YAML: duplicate key 'depth'; each key may "
     "appear once in a mapping"),
    ("duplicate-spec-key", "parameters:\n  dropout_rate: {grid: [0.1], grid: [0.2]}\n",
     sweep_body(), (), "space.yaml: line 2: invalid YAML: duplicate key 'grid'"),
    ("duplicate-top-level", GOOD_SPACE + "parameters: {}\n", sweep_body(), (),
     "space.yaml: line 3: invalid YAML: duplicate key 'parameters'"),
    ("merge-key", "parameters:\n  <<: {depth: 2}\n  depth: 3\n", sweep_body(), (),
     "space.yaml: line 2: invalid YAML: merge keys (<<) are not allowed"),
    ("deep-nesting", "parameters:\n  units: " + "[" * 5000 + "]" * 5000 + "\n", sweep_body(), (),
     "space.yaml: line 2: invalid YAML: collections nest more than 16 levels deep"),
    ("5000-digit-integer", "parameters:\n  units: 1" + "0" * 5000 + "\n", sweep_body(), (),
     "space.yaml: line 2: invalid YAML: the integer '1000"),
    ("not-utf-8", b"parameters:\n  dropout_rate: {grid: [0.1, 0.\xff]}\n", sweep_body(), (),
     "space.yaml: line 2: byte 0xff at offset 43 is not UTF-8; a space file is UTF-8 text"),
    ("nul-character", b"parameters:\n  dropout_rate: \x00\n", sweep_body(), (),
     "space.yaml: line 2: invalid YAML: unacceptable character #x0000"),
    ("impossible-date", "parameters:\n  units: 2020-13-45\n", sweep_body(), (),
     "space.yaml: invalid YAML: month must be in 1..12"),
    ("space-is-a-directory", None, sweep_body(space="'.'"), (),
     "cannot read the space file"),
    # -- numbers: finite, within each parameter's bounds ------------------------------------
    ("learning-rate-inf", "parameters:\n  learning_rate: {type: float, low: 1e-4, high: .inf, "
     "log: true}\n", sweep_body("sampler='tpe', trials=3"), (),
     "space.yaml: learning_rate: high=inf is not a finite number; a learning rate lies in "
     "(0, 10]"),
    ("learning-rate-100", "parameters:\n  learning_rate: 100\n", sweep_body(), (),
     "space.yaml: learning_rate: value=100 is out of range; a learning rate lies in (0, 10]"),
    ("weight-decay-inf", "parameters:\n  weight_decay: .inf\n", sweep_body(), (),
     "space.yaml: weight_decay: value=inf is not a finite number; weight decay lies in [0, 1]"),
    ("weight-decay-1e400", "parameters:\n  weight_decay: {grid: [0.1, 1e400]}\n", sweep_body(),
     (), "space.yaml: weight_decay: grid value=inf is not a finite number"),
    ("weight-decay-2", "parameters:\n  weight_decay: {type: float, low: 0, high: 2}\n",
     sweep_body("sampler='random', trials=2"), (),
     "space.yaml: weight_decay: high=2 is out of range; weight decay lies in [0, 1]"),
    ("dropout-nan", "parameters:\n  dropout_rate: {grid: [.nan]}\n", sweep_body(), (),
     "space.yaml: dropout_rate: grid value=nan is not a finite number; a dropout rate lies in "
     "[0, 1)"),
    ("momentum-1", "parameters:\n  optimizer: sgd\n  momentum: 1.0\n", sweep_body(), (),
     "space.yaml: momentum: value=1.0 is out of range; momentum lies in [0, 1)"),
    ("filters-1e12", "parameters:\n  filters: 1e12\n", sweep_body(), (),
     "space.yaml: filters: value=1000000000000.0 is not a whole number; filters is a whole "
     "number >= 1, at most 4096"),
    ("filters-10**12", "parameters:\n  filters: 1000000000000\n", sweep_body(), (),
     "space.yaml: filters: value=1000000000000 is out of range; filters is a whole number >= 1, "
     "at most 4096"),
    ("filters-doubled-past-4096", "parameters:\n  filters: 512\n  depth: {grid: [4, 5]}\n",
     sweep_body(), (), "sweep.py: space.filters: 512 is not allowed; with depth 5 its block 5 "
     "would have 8192 filters"),
    ("units-5000", "parameters:\n  units: {grid: [128, 5000]}\n", sweep_body(), (),
     "space.yaml: units: grid value=5000 is out of range; units is a whole number >= 1, at most "
     "4096"),
    ("batch-size-10**15", "parameters:\n  batch_size: 1000000000000000\n", sweep_body(), (),
     "space.yaml: batch_size: value=1000000000000000 is out of range; batch size is a whole "
     "number >= 1, at most 65536"),
    ("depth-9", "parameters:\n  depth: {type: int, low: 1, high: 9}\n", sweep_body(), (),
     "space.yaml: depth: high=9 is out of range; depth is a whole number of blocks >= 1, at "
     "most 8"),
    ("depth-6-vgg", "parameters:\n  depth: {grid: [2, 6]}\n", sweep_body(), (),
     "sweep.py: space.depth: 6 is not allowed; model 'vgg' fits at most depth 5"),
    ("condition-min-inf", "parameters:\n  depth: {grid: [1, 2]}\n  filters_2: {grid: [8], "
     "when: {depth: {min: .inf}}}\n", sweep_body(), (),
     "space.yaml: filters_2: when.depth.min=inf is not allowed; it is a finite number"),
    ("condition-min-above-max", "parameters:\n  depth: {grid: [1, 2]}\n  filters_2: {grid: [8], "
     "when: {depth: {min: 2, max: 1}}}\n", sweep_body(), (),
     "space.yaml: filters_2: when.depth={'min': 2, 'max': 1} can never hold; min must be <= max"),
    ("step-1e-300", "parameters:\n  dropout_rate: {type: float, low: 0, high: 0.5, "
     "step: 1e-300}\n", sweep_body(), (),
     "space.yaml: dropout_rate: step=1e-300 gives more than 100000 values"),
    ("step-inf", "parameters:\n  dropout_rate: {type: float, low: 0, high: 0.5, step: .inf}\n",
     sweep_body(), (), "space.yaml: dropout_rate: step=inf is not allowed; step is a finite "
     "float > 0"),
    ("grid-over-the-limit", "parameters:\n  depth: {grid: [1, 2, 3, 4, 5]}\n  filters: "
     "{grid: [8, 16, 32, 64, 128, 256]}\n  units: {type: int, low: 1, high: 2000}\n  "
     "dropout_rate: {type: float, low: 0, high: 0.9, step: 0.01}\n", sweep_body(), (),
     "space.yaml: the grid has more than 100000 points"),
    ("budget-batch-size", GOOD_SPACE, sweep_body("sampler='grid', "
                                                 "budget=Budget(batch_size=10**15)"), (),
     "sweep.py: budget.batch_size: 1000000000000000 is not allowed; batch_size is a whole "
     "number >= 1, at most 65536"),
    ("budget-epochs", GOOD_SPACE, sweep_body("sampler='grid', budget=Budget(epochs=10**9)"), (),
     "sweep.py: budget.epochs: 1000000000 is not allowed; epochs is a whole number >= 1, at "
     "most 10000"),
    ("seed-2**40", GOOD_SPACE, sweep_body("sampler='grid', seed=2**40"), (),
     "sweep.py: seed: 1099511627776 is not allowed; seed is a whole number >= 0, at most "
     "2147483646"),
    ("trials-10**9", GOOD_SPACE, sweep_body("sampler='random', trials=10**9"), (),
     "sweep.py: trials: 1000000000 is not allowed; trials is a whole number >= 1, at most "
     "100000"),
    ("name-dot-dot", GOOD_SPACE, sweep_body(name=".."), (),
     "sweep.py: name: '..' is not allowed; a name is non-empty and uses letters"),
    # -- sampler and pruner options ---------------------------------------------------------
    ("pruner-warmup-negative", GOOD_SPACE,
     sweep_body("sampler='grid', pruner=Pruner('median', {'n_warmup_steps': -1})"), (),
     "sweep.py: pruner.options: n_warmup_steps=-1 is not allowed; MedianPruner's "
     "n_warmup_steps is a finite number from 0 to 1000000"),
    ("sampler-startup-five", GOOD_SPACE,
     sweep_body("trials=3, sampler=Sampler('tpe', {'n_startup_trials': 'five'})"), (),
     "sweep.py: sampler.options: n_startup_trials='five' is not allowed; TPESampler's "
     "n_startup_trials is a whole number"),
    ("sampler-flag-text", GOOD_SPACE,
     sweep_body("trials=3, sampler=Sampler('tpe', {'multivariate': 'yes'})"), (),
     "sweep.py: sampler.options: multivariate='yes' is not allowed; TPESampler's multivariate "
     "is True or False or None"),
    ("pruner-reduction-factor-1", GOOD_SPACE,
     sweep_body("sampler='grid', pruner=Pruner('hyperband', {'reduction_factor': 1})"), (),
     "sweep.py: pruner.options: {'reduction_factor': 1} is not allowed; HyperbandPruner "
     "refuses it: float division by zero"),
    ("pruner-percentile-150", GOOD_SPACE,
     sweep_body("sampler='grid', pruner=Pruner('percentile', {'percentile': 150})"), (),
     "sweep.py: pruner.options: {'percentile': 150} is not allowed; PercentilePruner refuses "
     "it: Percentile must be between 0 and 100"),
    ("options-not-a-mapping", GOOD_SPACE,
     sweep_body("trials=3, sampler=Sampler('tpe', ['n_startup_trials'])"), (),
     "sweep.py: sampler.options: ['n_startup_trials'] is not allowed; options map"),
    # -- the sweep file and the data flag ---------------------------------------------------
    ("sys-exit", GOOD_SPACE, HEADER + "import sys\nsys.exit(3)\n", (),
     "sweep.py: line 3: the sweep file called sys.exit(3); a sweep file only defines"),
    ("system-exit-text", GOOD_SPACE, HEADER + "raise SystemExit('bye')\n", (),
     "sweep.py: line 2: the sweep file called sys.exit('bye')"),
    ("empty-data-flag", GOOD_SPACE, sweep_body(), ("--data", ""),
     "error: --data: '' is not allowed; source is a non-empty path"),
    ("empty-data-source", GOOD_SPACE, sweep_body("sampler='grid', data=Data(source='')"), (),
     "sweep.py: data.source: '' is not allowed; source is a non-empty path"),
]


def run_bad(tmp_path, space, sweep, extra=(), target="sweep.py"):
    """Write the files and run; return (result, seconds)."""
    if isinstance(space, bytes):
        (tmp_path / "space.yaml").write_bytes(space)
    elif space is not None:
        (tmp_path / "space.yaml").write_text(space)
    (tmp_path / "sweep.py").write_text(sweep)
    data = () if "--data" in extra else ("--data", str(tmp_path / "no-data-here"))
    start = time.perf_counter()
    result = cli_inline("run", target, *data, *extra, "--workspace", "ws", cwd=tmp_path,
                        check=False)
    return result, time.perf_counter() - start


def assert_refused(result, expected):
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1 and result.stderr.endswith("\n"), result.stderr
    assert expected in result.stderr, result.stderr
    assert len(result.stderr) < 400, result.stderr  # values are shortened


@pytest.mark.parametrize("space, sweep, extra, expected", [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_bad_input_is_refused_in_one_line_before_anything_exists(tmp_path, space, sweep, extra,
                                                                 expected):
    result, seconds = run_bad(tmp_path, space, sweep, extra)
    assert_refused(result, expected)
    assert seconds < 2.0  # nothing is parsed, expanded or built beyond its limit
    assert not (tmp_path / "ws").exists()  # no workspace, study or run was made


def test_billion_laughs_is_refused_in_well_under_a_second(tmp_path):
    run_bad(tmp_path, GOOD_SPACE, sweep_body())  # imports warmed up
    result, seconds = run_bad(tmp_path, billion_laughs(), sweep_body())
    assert_refused(result, "anchors and aliases")
    assert seconds < 0.2


def test_a_50_mb_space_file_is_refused_without_parsing_it(tmp_path):
    with (tmp_path / "space.yaml").open("w") as stream:
        stream.write("description: ")
        for _ in range(50):
            stream.write("x" * 2**20)
    result, seconds = run_bad(tmp_path, None, sweep_body())
    assert_refused(result, f"space.yaml: the space file is larger than "
                   f"{MAX_SPACE_BYTES // 1024} KiB; a space is a short YAML file")
    assert seconds < 1.0


def test_a_sweep_path_that_is_a_directory(tmp_path):
    (tmp_path / "sweeps").mkdir()
    result = cli_inline("run", "sweeps", "--workspace", "ws", cwd=tmp_path, check=False)
    assert_refused(result, "error: sweeps: is a directory, not a sweep file")


def test_a_huge_multi_line_exception_is_one_short_line(tmp_path):
    sweep = HEADER + "raise ValueError('x' * 100_000 + '\\nsecond line')\n"
    result, _ = run_bad(tmp_path, GOOD_SPACE, sweep)
    assert_refused(result, "sweep.py: line 2: ValueError: xxxx")
    assert "…" in result.stderr


@pytest.mark.parametrize("spec, expected", [
    ("{'grid': [1e-5 * i for i in range(1, 100_001)] + [1e-5]}",
     "sweep.py: learning_rate: grid has 100001 values; at most 100000"),
    ("{'grid': [1e-5 * i for i in range(1, 100_000)] + [1e-5]}",
     "sweep.py: learning_rate: grid repeats 1e-05; each value may appear once"),
    ("{'grid': [{'a': 'b' * 10**6}]}", "sweep.py: learning_rate: grid value {'a': 'bbb"),
    ("'a' * 10**6", "sweep.py: learning_rate: value='aaaa"),
])
def test_space_mappings_from_sweep_files_are_checked_in_linear_time(tmp_path, spec, expected):
    sweep = sweep_body(space="{'parameters': {'learning_rate': " + spec + "}}")
    result, seconds = run_bad(tmp_path, GOOD_SPACE, sweep)
    assert_refused(result, expected)
    assert seconds < 2.0


def test_a_self_referential_value_is_shown_shortly(tmp_path):
    sweep = HEADER + ("loop = []\nloop.append(loop)\n"
                      + sweep_body(space="{'parameters': {'units': {'grid': [loop]}}}")[
                          len(HEADER):])
    result, _ = run_bad(tmp_path, GOOD_SPACE, sweep)
    assert_refused(result, "sweep.py: units: grid value [[[[")


def test_a_grid_of_100000_distinct_values_is_accepted_quickly(tmp_path):
    values = [1e-5 * i for i in range(1, MAX_GRID_POINTS + 1)]
    start = time.perf_counter()
    space = Space.from_dict({"parameters": {"learning_rate": {"grid": values}}})
    assert len(space.grid()) == MAX_GRID_POINTS
    assert time.perf_counter() - start < 2.0


def files_of(folder):
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.processes  # two snapshots import MLflow: some 10 s
def test_an_existing_study_is_unchanged_by_refused_commands(tmp_path):
    import optuna

    from cifar_search import load_sweep

    (tmp_path / "space.yaml").write_text(GOOD_SPACE)
    (tmp_path / "good.py").write_text(sweep_body(model="dropout", name="kept"))
    (tmp_path / "ws").mkdir()  # a study with one complete trial, made without training
    study = optuna.create_study(study_name="kept",
                                storage=f"sqlite:///{tmp_path / 'ws' / 'optuna.db'}")
    sweep = load_sweep(tmp_path / "good.py")
    study.set_user_attr("fingerprint", json.dumps(sweep.fingerprint(), sort_keys=True))
    study.add_trial(optuna.trial.create_trial(
        params={"dropout_rate": 0.1}, value=1.0,
        distributions={"dropout_rate": optuna.distributions.CategoricalDistribution([0.1, 0.2])}))
    before = snapshot(tmp_path, sweep="good.py")
    assert before is not None
    files = files_of(tmp_path / "ws")
    for name, space, body, extra, expected in (
            ("inf", "parameters:\n  learning_rate: {type: float, low: 1e-4, high: .inf, "
             "log: true}\n", sweep_body("sampler='tpe', trials=3", model="dropout", name="kept"),
             (), "high=inf is not a finite number"),
            ("laughs", billion_laughs(), sweep_body(model="dropout", name="kept"), (),
             "anchors and aliases"),
            ("pruner", GOOD_SPACE, sweep_body("sampler='grid', pruner=Pruner('median', "
                                              "{'n_warmup_steps': -1})", model="dropout",
                                              name="kept"), (), "n_warmup_steps=-1"),
            ("data", GOOD_SPACE, sweep_body(model="dropout", name="kept"), ("--data", ""),
             "--data: ''")):
        result, _ = run_bad(tmp_path, space, body, extra)
        assert_refused(result, expected)
        assert files_of(tmp_path / "ws") == files, name
    (tmp_path / "space.yaml").write_text(GOOD_SPACE)
    assert snapshot(tmp_path, sweep="good.py") == before


# -- the pieces, directly ------------------------------------------------------------------


@pytest.mark.parametrize("value, limit, expected", [
    ([0.1, 0.2], 80, "[0.1, 0.2]"),
    ({"type": "float", "low": 0.0001}, 80, "{'type': 'float', 'low': 0.0001}"),  # key order
    ("x" * 200, 12, "'xxxxxxxxxx…"),
    (list(range(10**6)), 20, "[0, 1, 2, 3, 4, 5, …"),
    (10**5000, 80, "<an integer of 16610 bits>"),
    ((1,), 80, "(1,)"),
    (frozenset({3}), 80, "frozenset({3})"),
    (float("inf"), 80, "inf"),
], ids=["list", "dict", "text", "long-list", "huge-int", "tuple", "frozenset", "inf"])
def test_shown_is_repr_cut_short(value, limit, expected):
    assert shown(value, limit) == expected


def test_shown_stops_on_nested_and_looping_values():
    loop: list = []
    loop.append(loop)
    deep: list = []
    for _ in range(100_000):
        deep = [deep]
    assert len(shown(loop)) == 80 and len(shown(deep)) == 80


def test_clipped_is_one_line():
    assert clipped("a\nb\r\n c") == "a b c"
    assert len(clipped("y" * 10**6)) == 200


def test_config_errors_are_one_line():
    assert str(ConfigError("key", "first\nsecond", "f.yaml")) == "f.yaml: key: first second"


@pytest.mark.parametrize("build, message", [
    (lambda: Pruner("median", {"n_warmup_steps": -1}),
     "pruner.options: n_warmup_steps=-1 is not allowed"),
    (lambda: Pruner("median", {"n_startup_trials": 2.5}),
     "pruner.options: n_startup_trials=2.5 is not allowed; MedianPruner's n_startup_trials is "
     "a whole number"),
    (lambda: Sampler("tpe", {"n_ei_candidates": float("inf")}),
     "sampler.options: n_ei_candidates=inf is not allowed"),
    (lambda: Sampler("tpe", {"prior_weight": float("nan")}),
     "sampler.options: prior_weight=nan is not allowed; TPESampler's prior_weight is a finite "
     "number from 0 to 1000000"),
    (lambda: Pruner("median", {"n_warmup_steps": 10**400}),
     "pruner.options: n_warmup_steps=1000000000"),
    (lambda: Pruner("hyperband", {"min_resource": "x"}),
     "pruner.options: min_resource='x' is not allowed; HyperbandPruner's min_resource is a "
     "whole number"),
])
def test_option_types_and_ranges_follow_the_optuna_signature(build, message):
    with pytest.raises(ConfigError) as caught:
        check_part(build())
    assert str(caught.value).startswith(message)


def test_good_options_pass():
    check_part(Pruner("hyperband", {"min_resource": 1, "max_resource": "auto"}))
    check_part(Sampler("tpe", {"n_startup_trials": 5, "multivariate": True,
                               "gamma": lambda n: min(n, 5)}))

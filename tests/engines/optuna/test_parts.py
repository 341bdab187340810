"""The sweep's sampler and pruner built as Optuna objects."""

from cifar_search.config.parts import Pruner, Sampler
from cifar_search.engines.optuna.parts import build_pruner, build_sampler


def test_samplers_and_pruners_build():
    import optuna

    assert isinstance(build_sampler(Sampler("tpe", {"n_startup_trials": 3}), 0),
                      optuna.samplers.TPESampler)
    assert isinstance(build_sampler(Sampler("random"), 0), optuna.samplers.RandomSampler)
    hyperband = build_pruner(Pruner("hyperband"), epochs=9)
    assert isinstance(hyperband, optuna.pruners.HyperbandPruner)
    assert isinstance(build_pruner(Pruner("median"), epochs=9), optuna.pruners.MedianPruner)
    assert isinstance(build_pruner(Pruner("none"), epochs=9), optuna.pruners.NopPruner)


def test_experimental_sampler_options_build_without_optunas_warning():
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        build_sampler(Sampler("tpe", {"multivariate": True, "group": True}), 0)


def test_patience_lets_a_curve_dip_and_recover_before_the_pruner_judges_it():
    import optuna

    def curve(pruner, values):
        study = optuna.create_study(direction="maximize", pruner=build_pruner(pruner, epochs=8))
        leader = study.ask()
        for step, value in enumerate([0.3, 0.4, 0.5, 0.6, 0.7], start=1):
            leader.report(value, step)
        study.tell(leader, 0.7)
        trial = study.ask()
        for step, value in enumerate(values, start=1):
            trial.report(value, step)
            if trial.should_prune():
                return step
        return None

    median = {"n_startup_trials": 1, "n_warmup_steps": 0}
    dip = [0.35, 0.45, 0.38, 0.55, 0.65]
    assert curve(Pruner("median", median), dip) == 3  # below the leader at its dip
    assert curve(Pruner("median", median, patience=1), dip) is None
    assert curve(Pruner("median", median, patience=1), [0.35, 0.45, 0.38, 0.36]) == 4


def test_tpe_nsga2_and_gp_steer_by_constraints_and_the_others_say_they_do_not():
    from cifar_search.config.sweep import Sweep
    from cifar_search.engines.optuna.parts import sampler_lines, uses_constraints

    assert [k for k in ("grid", "random", "tpe", "cmaes", "qmc", "nsga2", "gp")
            if uses_constraints(k)] == ["tpe", "nsga2", "gp"]
    sweep = Sweep("s", {"parameters": {"filters": {"choices": [4, 8]}}}, "dropout",
                  sampler="random", constraints={"params": "<= 1k"})
    assert sampler_lines(sweep) == [
        "sampler 'random' does not steer by constraints (tpe, nsga2 and gp do): it draws as if "
        "there were none; trials that break one are still infeasible and never the best"]
    assert sampler_lines(Sweep("s", {"parameters": {"filters": {"choices": [4, 8]}}},
                               "dropout", constraints={"params": "<= 1k"})) == []

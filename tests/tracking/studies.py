"""Synthetic Optuna studies for the tracking tests: trials added directly, never trained."""

import optuna

ACTIVATIONS = ["relu", "tanh", "elu", "selu", "gelu", "sigmoid", "swish", "leaky_relu"]

STATES = {"complete": optuna.trial.TrialState.COMPLETE,
          "pruned": optuna.trial.TrialState.PRUNED, "failed": optuna.trial.TrialState.FAIL,
          "running": optuna.trial.TrialState.RUNNING, "waiting": optuna.trial.TrialState.WAITING}


def add_trial(study, number, activation, value, state="complete", **attrs):
    """A trial of ``study`` over ``activation`` (``filters`` fixed at 4) whose MLflow run is
    ``run<number>``; ``attrs`` are more user attributes."""
    params = {"activation": activation, "filters": 4}
    study.add_trial(optuna.trial.create_trial(
        params={"activation": activation},
        distributions={"activation": optuna.distributions.CategoricalDistribution(ACTIVATIONS)},
        value=value if state == "complete" else None, state=STATES[state],
        intermediate_values={1: 0.0} if state == "pruned" else None,
        user_attrs={"params": params, "mlflow_run_id": f"run{number}", **attrs}))


def history_of(histories):
    """``history(run_id, metric)`` from {run_id: {metric: [(step, value), ...]}}."""
    return lambda run_id, metric: histories.get(run_id, {}).get(metric, [])

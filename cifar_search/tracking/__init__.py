"""What a sweep records in MLflow, and reading it back; the only package that calls MLflow.

``writer`` (a sweep's experiment, parent and child runs, artifacts), ``reader`` (reading runs
back; writes nothing), ``store`` (creating the MLflow store), ``registry`` (the best model as
a logged and registered model), ``ui`` (the MLflow UI server), ``packaging`` (a trained model
as an MLflow Model folder, in a worker), ``protocol`` (what a recorder writes), ``tables`` (a
study as tables and plain data; pure), ``curves`` (a learning curve; pure), ``summary`` (the
parent run's summary, plots and test results), ``plots`` (PNG files; pure) and ``integrity``
(reconcile a study's trials with its runs, and repair what a crash left).
"""

"""What a sweep records in MLflow, and reading it back.

``mlflow`` (the only module that calls MLflow: experiments, parent and child runs, artifacts),
``tables`` (a study as tables and plain data; pure), ``summary`` (the parent run's summary,
plots and test results), ``plots`` (PNG files; pure) and ``integrity`` (reconcile a study's
trials with its runs, and repair what a crash left).
"""

"""Where trials run: worker processes on this machine and the messages they exchange.

``protocol`` (the typed tasks, replies and results that cross a pipe; no TensorFlow),
``local`` (the worker pool: start, watch, replace and stop worker processes), ``preload`` (what
the fork server imports once for every worker), ``worker`` (a worker process: serves tasks with
the task runner its pool is given, such as :func:`cifar_search.session.worker.run_task`),
``threads`` (the variables that size a trainer's thread pools) and ``tail`` (when a run in
flight moves to a wider worker: the sweep's tail takes the free cores). Which trial runs next
is the engine's decision, and what a task does is the session's, not this package's.
"""

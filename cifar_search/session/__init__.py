"""The session: what running a sweep takes that is not a search engine's choice.

Shared by every engine's coordinator, one module per concept: ``loop`` (the :class:`Session`
base: the lock, the worker pool and its event loop, signals, moving a run to a wider worker,
the end), ``pool`` (the pool a session opens and the fork server's start), ``worker`` (what a
worker process runs for each task), ``data`` (the data checked and decoded before any store is
made), ``tasks`` (what a worker is handed to train), ``best`` (the test-set evaluation of the
best model), ``fingerprint`` (the settings and data a resume must keep), ``outcome`` (what a
run achieved and the user's closing lines) and ``candidates`` (a study's trials grouped for
``compare``). Which trial runs next, and the store that records it, stay the engine's.
"""

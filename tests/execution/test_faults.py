"""Which failures are the machine's or a store's, and the words the user reads for them."""

import errno
import sqlite3

import pytest
from mlflow.exceptions import MlflowException
from optuna.exceptions import StorageInternalError

from cifar_search.execution.faults import machine_fault, store_fault


def raised(outer, inner):
    """``outer`` as raised from ``inner``."""
    try:
        try:
            raise inner
        except type(inner) as cause:
            raise outer from cause
    except type(outer) as error:
        return error


@pytest.mark.parametrize("code, words", [
    (errno.ENOSPC, "no space left on device (ws/trials/x/00001/.checkpoint-1.keras)"),
    (errno.EROFS, "read-only file system (ws/trials/x/00001/.checkpoint-1.keras)"),
    (errno.EACCES, "permission denied (ws/trials/x/00001/.checkpoint-1.keras)"),
])
def test_errors_of_the_machine_are_told_from_the_trials(code, words):
    error = OSError(code, "ignored", "ws/trials/x/00001/.checkpoint-1.keras")
    assert machine_fault(raised(RuntimeError("saving the checkpoint failed"), error)) == words
    assert machine_fault(FileNotFoundError(errno.ENOENT, "No such file")) is None
    assert machine_fault(ValueError("depth=4 is too deep")) is None


@pytest.mark.parametrize("outer, inner, words", [
    (StorageInternalError("An exception is raised during the commit."),
     sqlite3.OperationalError("database or disk is full"), "the Optuna store: its disk is full"),
    (MlflowException("(sqlite3.OperationalError) disk I/O error"), None,
     "the MLflow store: an input/output error of its disk"),
    (StorageInternalError("commit failed"),
     OSError("connection to server at 127.0.0.1 failed: Connection refused"),
     "the Optuna store: the database server refuses connections"),
])
def test_a_failing_store_is_named_with_what_happened(outer, inner, words):
    error = raised(outer, inner) if inner is not None else outer
    assert store_fault(error) == words


def test_other_errors_are_no_store_fault():
    assert store_fault(StorageInternalError("a bug of ours")) is None
    assert store_fault(sqlite3.OperationalError("no such table: trials")) is None

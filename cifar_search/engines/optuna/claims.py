"""Finalisation claims: a table of cifar_search's own beside Optuna's, in the study's database.

When the study is over, every machine still there asks to finalise it (evaluate the best model
on the test set, close the parent run, register the model); exactly one may. Optuna's storage
offers no compare-and-set on study attributes, whose writes simply overwrite each other, so the
claim is a row whose primary key is the study and its count of finished trials: of machines
inserting it at the same moment, the database lets exactly one succeed, however long any of
them stalls between deciding to claim and claiming. A claim whose machine died finalising is
void after a lease; a later claimant takes the row over with a conditional update, which again
only one of several can make.

Only :class:`cifar_search.engines.optuna.study.StudyStore` calls this module, with the engine of
its storage.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import sqlalchemy
import sqlalchemy.exc

__all__ = ["TABLE", "create", "claim"]

#: The table of claims: one row per study and count of finished trials.
TABLE = sqlalchemy.Table(
    "cifar_search_finalisers", sqlalchemy.MetaData(),
    sqlalchemy.Column("study_id", sqlalchemy.Integer, primary_key=True, autoincrement=False),
    sqlalchemy.Column("finished", sqlalchemy.Integer, primary_key=True, autoincrement=False),
    sqlalchemy.Column("claim", sqlalchemy.Text, nullable=False),  # the claim as JSON
    sqlalchemy.Column("at", sqlalchemy.Float, nullable=False),    # its machine's clock
)
#: Tries at making the table when machines make it at the same instant.
CREATE_TRIES = 3


def create(engine: sqlalchemy.Engine) -> None:
    """Make the table if the database has none (machines making it at the same instant: one
    does, the others find it made)."""
    for attempt in range(CREATE_TRIES):
        try:
            TABLE.create(engine, checkfirst=True)
            return
        except sqlalchemy.exc.DatabaseError:
            if attempt == CREATE_TRIES - 1:
                raise
            time.sleep(0.2 * (attempt + 1))  # the next try finds the other's table


def claim(engine: sqlalchemy.Engine, study_id: int, mine: Mapping[str, Any],
          lease_s: float) -> bool:
    """Claim finalisation of study ``study_id`` at ``mine["finished"]`` finished trials.

    Args:
        engine: the study database's engine.
        study_id: Optuna's id of the study.
        mine: this machine's claim (:func:`.machines.claim`), with ``finished`` and ``at``.
        lease_s: seconds after which a standing claim is void (its machine died finalising).

    Returns:
        True for exactly one of the machines claiming the same study and count: the first to
        insert the row, or the one that takes over a claim older than the lease.
    """
    at = float(mine["at"])
    row = {"study_id": study_id, "finished": int(mine["finished"]),
           "claim": json.dumps(dict(mine), sort_keys=True), "at": at}
    try:
        with engine.begin() as connection:
            connection.execute(TABLE.insert().values(**row))
        return True
    except sqlalchemy.exc.IntegrityError:  # claimed already: void only past its lease
        pass
    key = (TABLE.c.study_id == study_id) & (TABLE.c.finished == row["finished"])
    with engine.begin() as connection:
        taken = connection.execute(TABLE.update().where(key & (TABLE.c.at < at - lease_s))
                                   .values(claim=row["claim"], at=at))
    return taken.rowcount == 1

"""Finalisation claims on a real database (a SQLite file here; PostgreSQL in
tests/test_several_machines.py): exactly one claimant wins, whatever the timing."""

import threading

import pytest
import sqlalchemy

from cifar_search.engines.optuna import claims
from cifar_search.engines.optuna.machines import Machine, claim

LEASE_S = 600.0


@pytest.fixture
def engine(tmp_path):
    engine = sqlalchemy.create_engine(f"sqlite:///{tmp_path / 'study.db'}",
                                      connect_args={"timeout": 60})
    claims.create(engine)
    yield engine
    engine.dispose()


def mine(name, finished, at=100.0):
    return claim(Machine(name, 1, 7), finished, at)


def test_the_first_claim_stands_and_a_later_one_of_the_same_end_loses(engine):
    assert claims.claim(engine, 1, mine("a", 6), LEASE_S)
    assert not claims.claim(engine, 1, mine("b", 6, at=100.1), LEASE_S)
    assert not claims.claim(engine, 1, mine("a", 6, at=100.2), LEASE_S)  # not twice either
    assert claims.claim(engine, 1, mine("b", 8, at=101.0), LEASE_S)  # more trials since
    assert claims.claim(engine, 2, mine("b", 6, at=101.0), LEASE_S)  # another study


def test_a_claim_past_its_lease_is_taken_over_once(engine):
    assert claims.claim(engine, 1, mine("a", 6), LEASE_S)  # its machine dies finalising
    late = 100.0 + LEASE_S + 1
    assert not claims.claim(engine, 1, mine("b", 6, at=late - 2), LEASE_S)  # not yet
    assert claims.claim(engine, 1, mine("b", 6, at=late), LEASE_S)
    assert not claims.claim(engine, 1, mine("c", 6, at=late + 1), LEASE_S)  # b's stands now
    with engine.connect() as connection:
        (row,) = connection.execute(sqlalchemy.select(claims.TABLE)).all()
    assert '"machine": "b:1"' in row.claim and row.at == late


def test_of_machines_claiming_at_the_same_instant_exactly_one_wins(engine):
    start, won = threading.Barrier(6), []

    def machine(name):
        start.wait()
        won.append(claims.claim(engine, 1, mine(name, 4), LEASE_S))

    threads = [threading.Thread(target=machine, args=(f"m{i}",)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(won) == [False] * 5 + [True]


def test_making_the_table_twice_is_harmless(engine):
    claims.create(engine)
    assert sqlalchemy.inspect(engine).has_table(claims.TABLE.name)

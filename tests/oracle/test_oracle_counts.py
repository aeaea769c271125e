"""The oracle counts a case under what was really compared, and nothing else."""
import random

import pytest

from tests.oracle.templates import NEON_GROUPS
from tests.oracle.test_neon_fp import run_fp_group
from tests.support import oracle
from tests.support.oracle import (BOTH_UNDEFINED, COMPARED, DATA, FAULTS, Case, Unimplemented,
                                  check, compare)

ADD_X0_X1_X2 = 0x8B020020
UDF_0 = 0x00000000                  # permanently undefined
LDR_X0_X1 = 0xF9400020              # ldr x0, [x1]


@pytest.fixture
def tally():
    """The running test's counts (conftest names the group after the test); these
    cases are examples, so they leave the session's totals."""
    yield lambda: dict(oracle.TALLY.get(oracle.group, {}))
    oracle.TALLY.pop(oracle.group, None)
    oracle.ANSWERS.pop(oracle.group, None)


def test_each_outcome_is_counted_apart(tally):
    check(Case(code=[ADD_X0_X1_X2], x={1: 5, 2: 7}))
    check(Case(code=[ADD_X0_X1_X2, UDF_0], x={1: 5, 2: 7}))
    check(Case(code=[LDR_X0_X1], x={1: DATA - 8}))                    # below DATA: unmapped
    assert tally() == {COMPARED: 1, BOTH_UNDEFINED: 1, FAULTS: 1}


def test_an_encoding_only_unicorn_runs_counts_nothing(tally, monkeypatch):
    real = oracle.run_mkemu

    def refuses_everything(case):          # an mkemu that has no ADD
        return real(Case(code=[UDF_0] * len(case.code), x=case.x))

    monkeypatch.setattr(oracle, "run_mkemu", refuses_everything)
    with pytest.raises(Unimplemented):
        compare(Case(code=[ADD_X0_X1_X2]))
    assert tally() == {}


def test_a_difference_counts_nothing(tally, monkeypatch):
    real = oracle.run_mkemu

    def off_by_one(case):                  # an mkemu whose add is wrong
        out = real(case)
        out["x"][0] += 1
        return out

    monkeypatch.setattr(oracle, "run_mkemu", off_by_one)
    assert compare(Case(code=[ADD_X0_X1_X2], x={1: 5, 2: 7})) == ["x0: mkemu 0xd unicorn 0xc"]
    assert tally() == {}


def test_a_disagreement_about_refusing_is_a_difference(tally, monkeypatch):
    real = oracle.run_mkemu

    def completes_everything(case):        # an mkemu that runs UDF as a NOP
        return real(Case(code=[0xD503201F] * len(case.code), x=case.x))

    monkeypatch.setattr(oracle, "run_mkemu", completes_everything)
    diffs = compare(Case(code=[UDF_0]))
    assert diffs and "unicorn stopped with" in diffs[0]
    assert tally() == {}


def test_a_group_that_cannot_draw_its_cases_fails():
    # tbl has no FP encodings at all: the group asked for must not pass with none
    mask, value = next((m, v) for name, m, v in NEON_GROUPS if name == "tbl")
    with pytest.raises(AssertionError, match="0 of 3 cases"):
        run_fp_group(random.Random(1), mask, value, 3)

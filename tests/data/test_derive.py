"""Stance pairs derived from framing roles (stanceframe.data.derive), on hand-checked fixtures."""

import json

import pytest

from stanceframe.data.derive import ActorRoles, derive_pairs, derive_stances
from tests.conftest import REPO

FIXTURES = [
    json.loads(line)
    for line in (REPO / "tests" / "fixtures" / "framing_roles.jsonl").read_text().splitlines()
]


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f["text"][:40] for f in FIXTURES])
def test_derived_stances_match_the_hand_checked_ones(fixture):
    roles = ActorRoles.from_record(fixture["roles"], "fixture")
    assert derive_stances(roles) == fixture["expected"]
    pairs = derive_pairs(fixture["text"], roles)
    assert {(p["target"], p["stance"]) for p in pairs} == set(fixture["expected"].items())
    assert all(p["text"] == fixture["text"] for p in pairs)


def test_names_are_matched_without_case_and_keep_their_first_spelling():
    roles = ActorRoles(accused=("Ruritania",), proposer=("ruritania ", "Freedonia"))
    assert derive_stances(ActorRoles.from_record({"accused": ["Ruritania"]}, "x")) == {
        "Ruritania": "against"
    }
    assert derive_stances(roles) == {"Ruritania": "against", "Freedonia": "none"}


def test_a_role_that_is_not_a_list_of_names_is_refused_with_its_place():
    with pytest.raises(ValueError, match=r"roles.jsonl line 3: field 'accused' must be a list"):
        ActorRoles.from_record({"accused": "Ruritania"}, "roles.jsonl line 3")

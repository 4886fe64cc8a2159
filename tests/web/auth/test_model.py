"""Roles and practices."""
from __future__ import annotations

import pytest

from plugin.web.auth import NotVisible, User, can_see, check_can_see, has_role
from plugin.web.auth.model import check_practice

A, B = "http://hl7.org/fhir/sid/us-npi|1111111112", "http://hl7.org/fhir/sid/us-npi|2222222224"


def test_practice_scope():
    reviewer_a = User(1, "ana", "reviewer", A)
    assert can_see(reviewer_a, A) and not can_see(reviewer_a, B) and not can_see(reviewer_a, "")
    assert can_see(User(2, "root", "admin", "*"), B)
    assert not can_see(User(3, "adm", "admin", A), B)      # an admin of a practice sees that practice only
    with pytest.raises(NotVisible, match="no such case"):
        check_can_see(reviewer_a, B)


def test_roles_rank():
    assert has_role(User(1, "a", "admin", A), "reviewer") and not has_role(User(1, "r", "reviewer", A), "admin")
    assert not has_role(User(1, "x", "superuser", A), "reviewer")


@pytest.mark.parametrize("bad", ["", "1234", "|1234", "http://x|", "a b"])
def test_practice_must_be_system_and_value(bad):
    with pytest.raises(ValueError, match="SYSTEM|VALUE"):
        check_practice(bad)

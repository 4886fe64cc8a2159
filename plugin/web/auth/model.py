"""The signed-in user as every route sees it, and what a user may see."""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("reviewer", "admin")          # an admin may do everything a reviewer may
ALL_PRACTICES = "*"


@dataclass(frozen=True)
class User:
    id: int
    username: str
    role: str        # "reviewer" | "admin"
    practice: str    # the practice identifier SYSTEM|VALUE this user sees; "*" = every practice (deployment admin)


def has_role(user: User, role: str) -> bool:
    """`role` or higher."""
    return user.role in ROLES and ROLES.index(user.role) >= ROLES.index(role)


def can_see(user: User, practice: str) -> bool:
    """May `user` see a case of `practice` (SYSTEM|VALUE)? A user bound to a practice sees only that one."""
    return user.practice == ALL_PRACTICES or (bool(practice) and user.practice == practice)


def check_practice(value: str, what: str = "practice") -> str:
    """SYSTEM|VALUE (or "*"); ValueError naming the value otherwise."""
    value = value.strip()
    if value == ALL_PRACTICES:
        return value
    system, bar, code = value.rpartition("|")
    if not bar or not system or not code:
        raise ValueError(f"{what} {value!r}: expected SYSTEM|VALUE (e.g. http://hl7.org/fhir/sid/us-npi|1234567893) or *")
    return value

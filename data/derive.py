"""Stance pairs derived from framing rows whose actors have roles (framing as supervision).

A framing row says what act a sentence performs; its roles say who does it to whom. By the stance
guidelines (GUIDELINES.md section 2) that fixes some stances:

- the accused of an accusation, and the party whose claim a denial rejects: `against`;
- a party the sentence praises, supports or defends (`supported`): `favor`;
- the accuser, the proposer and the addressee of a proposal: `none` (a neutral report of what
  someone did is `none` toward that someone).

The denier gets no pair: the bundled stance corpus reads a denier both ways (`none` for a neutral
report of a denial, `favor` where the sentence takes up the denier's defence). A party named in
roles that give two different stances gets no pair either, nor does a party that is both accuser
and accused (mutual blame: "each side blamed the other" reports a quarrel, it takes no side).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

ROLE_STANCE = {
    "accused": "against",
    "rejected": "against",
    "supported": "favor",
    "accuser": "none",
    "proposer": "none",
    "addressee": "none",
}
ROLES = (*ROLE_STANCE, "denier")


@dataclass(frozen=True)
class ActorRoles:
    """Who does what to whom in one framing sentence; every field a list of target names."""

    accuser: tuple[str, ...] = ()
    accused: tuple[str, ...] = ()
    denier: tuple[str, ...] = ()
    rejected: tuple[str, ...] = ()
    proposer: tuple[str, ...] = ()
    addressee: tuple[str, ...] = ()
    supported: tuple[str, ...] = ()

    @classmethod
    def from_record(cls, record: dict[str, Any], location: str) -> ActorRoles:
        """Roles from a JSON row; a role that is not a list of names is a ValueError naming it."""
        values = {}
        for role in (field.name for field in fields(cls)):
            names = record.get(role, [])
            if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
                raise ValueError(
                    f"{location}: field {role!r} must be a list of names, got {names!r}"
                )
            values[role] = tuple(name.strip() for name in names if name.strip())
        return cls(**values)


def derive_stances(roles: ActorRoles) -> dict[str, str]:
    """The stance toward each party the roles fix, by ROLE_STANCE; conflicting parties dropped.

    Parties are compared case-insensitively and keep their first spelling; the order is the order
    of ROLE_STANCE, then of the names.
    """
    stances: dict[str, set[str]] = {}
    spelling: dict[str, str] = {}
    accusers = {name.strip().casefold() for name in roles.accuser}
    mutual = {name.strip().casefold() for name in roles.accused} & accusers
    for role, stance in ROLE_STANCE.items():
        for name in getattr(roles, role):
            key = name.strip().casefold()
            spelling.setdefault(key, name.strip())
            stances.setdefault(key, set()).add(stance)
    # "none" from an act's role gives way to a stance the sentence takes toward the same party
    # (an accuser the sentence also defends); two real stances are a conflict.
    derived = {}
    for key, found in stances.items():
        if key in mutual:
            continue
        real = found - {"none"}
        if len(real) == 1:
            derived[spelling[key]] = real.pop()
        elif not real:
            derived[spelling[key]] = "none"
    return derived


def derive_pairs(text: str, roles: ActorRoles) -> list[dict[str, str]]:
    """Stance rows (text, target, stance) for one framing sentence."""
    return [
        {"text": text, "target": target, "stance": stance}
        for target, stance in derive_stances(roles).items()
    ]

"""A person's four e-mail slots and the ``email`` field derived from them.

NationBuilder keeps up to four addresses per person (``email1`` to ``email4``), each with an
``emailN_is_bad`` flag, and a ``primary_email_id`` naming the primary slot. Reads return as
``email`` the primary address unless it is bad, else the first good one. Writing ``email`` puts
the address in the slot that already contains it, or the first empty slot, or in place of the first
bad address, and makes that slot primary; a ``primary_email_id`` in the same write is applied
after it and wins. When all four slots hold good addresses, a new address is refused with
``validation_failed`` rather than dropped. ``PUT /people/add`` never replaces an address.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from citizenry.api.errors import ValidationFailed

SLOTS = (1, 2, 3, 4)
ADDRESS_COLUMNS = tuple(f"email{slot}" for slot in SLOTS)
BAD_COLUMNS = tuple(f"email{slot}_is_bad" for slot in SLOTS)
#: The stored columns this module reads and writes, besides the derived ``email``.
STORED_COLUMNS = (*ADDRESS_COLUMNS, *BAD_COLUMNS, "primary_email_id")
#: Every person field a write may use to change e-mail addresses.
WRITABLE_FIELDS = frozenset({"email", *STORED_COLUMNS})

EMPTY_STATE: dict[str, Any] = {
    **dict.fromkeys(ADDRESS_COLUMNS),
    **dict.fromkeys(BAD_COLUMNS, False),
    "primary_email_id": None,
}


def one_address(address: str | None) -> dict[str, Any]:
    """Return the columns of a person whose only address is ``address``, in slot 1."""
    return resolve_emails(EMPTY_STATE, {"email": address}, overwrite=True)


def best_address(state: Mapping[str, Any]) -> str | None:
    """Return the address reads show as ``email``: the primary one if good, else the first good one."""
    primary = state.get("primary_email_id")
    order = ([primary] if primary in SLOTS else []) + [slot for slot in SLOTS if slot != primary]
    for slot in order:
        if state.get(f"email{slot}") and not state.get(f"email{slot}_is_bad"):
            return str(state[f"email{slot}"])
    return None


def _slot_of(state: Mapping[str, Any], address: str) -> int | None:
    for slot in SLOTS:
        current = state.get(f"email{slot}")
        if current and current.lower() == address.lower():
            return slot
    return None


def _is_empty(value: Any) -> bool:
    return value in (None, "", False)


def _place_email(state: dict[str, Any], address: str | None, *, replace_bad: bool) -> None:
    current = best_address(state)
    if (address or "").lower() == (current or "").lower():
        return  # what a read showed, sent back unchanged
    if address is None:
        # Null removes the address that ``email`` showed.
        slot = _slot_of(state, current) if current else None
        if slot is not None:
            state[f"email{slot}"] = None
            state[f"email{slot}_is_bad"] = False
        return
    slot = _slot_of(state, address)
    if slot is None:
        empty = [number for number in SLOTS if not state.get(f"email{number}")]
        bad = [number for number in SLOTS if state.get(f"email{number}_is_bad")]
        free = empty or (bad if replace_bad else [])
        if not free and not replace_bad:
            return  # add fills only empty slots
        if not free:
            raise ValidationFailed(
                [
                    "email: this person already has four good e-mail addresses; "
                    "clear one of email1 to email4 or mark it bad first"
                ]
            )
        slot = free[0]
        state[f"email{slot}"] = address
        state[f"email{slot}_is_bad"] = False
    state["primary_email_id"] = slot


def resolve_emails(
    current: Mapping[str, Any], changes: Mapping[str, Any], *, overwrite: bool
) -> dict[str, Any]:
    """Apply validated e-mail ``changes`` to the ``current`` stored columns.

    Return the new values of :data:`STORED_COLUMNS` and ``email``. With ``overwrite`` False (as
    ``PUT /people/add`` does) only empty slots and flags are filled, and ``email`` only when the
    person shows none.
    """
    # A new row's columns are None until the database fills in their defaults.
    state = {
        name: EMPTY_STATE[name] if current.get(name) is None else current[name] for name in STORED_COLUMNS
    }
    for name in (*ADDRESS_COLUMNS, *BAD_COLUMNS):
        if name in changes and (overwrite or _is_empty(state[name])):
            state[name] = changes[name]
    for slot in SLOTS:
        if not state[f"email{slot}"]:
            state[f"email{slot}_is_bad"] = False
    if "email" in changes and (overwrite or best_address(state) is None):
        _place_email(state, changes["email"], replace_bad=overwrite)
    primary = changes.get("primary_email_id")
    if "primary_email_id" in changes and (overwrite or state["primary_email_id"] is None):
        if primary is not None and not state[f"email{primary}"]:
            raise ValidationFailed(
                [f"primary_email_id: email{primary} is empty; set an address in it or choose a filled slot"]
            )
        state["primary_email_id"] = primary
    if state["primary_email_id"] is None or not state[f"email{state['primary_email_id']}"]:
        filled = [slot for slot in SLOTS if state[f"email{slot}"]]
        state["primary_email_id"] = filled[0] if filled else None
    return {**state, "email": best_address(state)}


def emails_json(state: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Return the ``emails`` list of the full representation."""
    return [
        {
            "email_address": state[f"email{slot}"],
            "email_number": slot,
            "is_bad": bool(state[f"email{slot}_is_bad"]),
            "is_primary": slot == state["primary_email_id"],
        }
        for slot in SLOTS
        if state[f"email{slot}"]
    ]

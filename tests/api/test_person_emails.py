"""A person's four e-mail slots: resolve_emails on its own, then through the people writes."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session
from starlette.testclient import TestClient

from citizenry.api.errors import ValidationFailed
from citizenry.api.people_csv import import_people
from citizenry.api.person_emails import (
    ADDRESS_COLUMNS,
    BAD_COLUMNS,
    EMPTY_STATE,
    SLOTS,
    STORED_COLUMNS,
    best_address,
    emails_json,
    one_address,
    resolve_emails,
)
from citizenry.store.models import Nation, Person
from tests.factory import Factory, NationInfo

#: The keys of the full representation that describe a person's e-mail addresses.
EMAIL_KEYS = ("email", *STORED_COLUMNS, "emails")


def _state(*addresses: str | None, bad: tuple[int, ...] = (), primary: int | None = None) -> dict[str, Any]:
    """Build stored e-mail columns: ``addresses`` fill the slots from 1, ``bad`` lists bad slots."""
    state = dict(EMPTY_STATE)
    for slot, address in zip(SLOTS, addresses, strict=False):
        state[f"email{slot}"] = address
    for slot in bad:
        state[f"email{slot}_is_bad"] = True
    state["primary_email_id"] = primary
    return state


def _read(state: dict[str, Any]) -> dict[str, Any]:
    """Return the e-mail keys a read of ``state`` shows, ``emails`` aside."""
    return {**{name: state[name] for name in STORED_COLUMNS}, "email": best_address(state)}


def _errors(error: pytest.ExceptionInfo[ValidationFailed]) -> list[str]:
    errors: list[str] = error.value.extra["validation_errors"]
    return errors


def _field_of(message: str) -> str:
    """Return the field a validation error names: the text before its first space or colon."""
    return message.split(" ", 1)[0].rstrip(":")


# best_address and emails_json


def test_best_address_is_good_primary() -> None:
    state = _state("a@example.org", "b@example.org", primary=2)

    assert best_address(state) == "b@example.org"


def test_best_address_skips_bad_primary() -> None:
    state = _state("a@example.org", "b@example.org", "c@example.org", bad=(1, 2), primary=1)

    assert best_address(state) == "c@example.org"


def test_best_address_without_primary() -> None:
    state = _state(None, "b@example.org", "c@example.org", primary=None)

    assert best_address(state) == "b@example.org"


def test_best_address_all_bad_is_none() -> None:
    state = _state("a@example.org", "b@example.org", bad=(1, 2), primary=1)

    assert best_address(state) is None


def test_emails_json_lists_filled_slots() -> None:
    state = _state("a@example.org", None, "c@example.org", bad=(1,), primary=3)

    assert emails_json(state) == [
        {"email_address": "a@example.org", "email_number": 1, "is_bad": True, "is_primary": False},
        {"email_address": "c@example.org", "email_number": 3, "is_bad": False, "is_primary": True},
    ]


def test_one_address_fills_slot_one() -> None:
    assert one_address("a@example.org") == {
        **_state("a@example.org", primary=1),
        "email": "a@example.org",
    }
    assert one_address(None) == {**EMPTY_STATE, "email": None}


# resolve_emails, one rule at a time


def test_email_goes_to_first_empty_slot() -> None:
    current = _state("a@example.org", None, "c@example.org", primary=1)

    result = resolve_emails(current, {"email": "new@example.org"}, overwrite=True)

    assert result == {
        **_state("a@example.org", "new@example.org", "c@example.org", primary=2),
        "email": "new@example.org",
    }


def test_email_already_held_reuses_slot() -> None:
    current = _state("a@example.org", "Mixed.Case@Example.org", primary=1)

    result = resolve_emails(current, {"email": "mixed.case@example.ORG"}, overwrite=True)

    # The slot keeps its spelling; only the primary slot changes.
    assert result == {
        **_state("a@example.org", "Mixed.Case@Example.org", primary=2),
        "email": "Mixed.Case@Example.org",
    }


def test_email_replaces_first_bad_when_full() -> None:
    current = _state(
        "a@example.org", "b@example.org", "c@example.org", "d@example.org", bad=(2, 4), primary=1
    )

    result = resolve_emails(current, {"email": "new@example.org"}, overwrite=True)

    assert result == {
        **_state("a@example.org", "new@example.org", "c@example.org", "d@example.org", bad=(4,), primary=2),
        "email": "new@example.org",
    }


def test_email_with_four_good_is_rejected() -> None:
    current = _state("a@example.org", "b@example.org", "c@example.org", "d@example.org", primary=1)

    with pytest.raises(ValidationFailed) as error:
        resolve_emails(current, {"email": "new@example.org"}, overwrite=True)

    assert [_field_of(message) for message in _errors(error)] == ["email"]


def test_email_after_clearing_a_slot_fits() -> None:
    current = _state("a@example.org", "b@example.org", "c@example.org", "d@example.org", primary=1)

    result = resolve_emails(current, {"email3": None, "email": "new@example.org"}, overwrite=True)

    assert result == {
        **_state("a@example.org", "b@example.org", "new@example.org", "d@example.org", primary=3),
        "email": "new@example.org",
    }


def test_shown_email_in_other_case_changes_nothing() -> None:
    current = _state("a@example.org", "b@example.org", primary=2)

    result = resolve_emails(current, {"email": "B@EXAMPLE.ORG"}, overwrite=True)

    assert result == {**current, "email": "b@example.org"}


def test_null_email_removes_shown_address() -> None:
    current = _state("a@example.org", "b@example.org", "c@example.org", bad=(1,), primary=1)

    result = resolve_emails(current, {"email": None}, overwrite=True)

    # b was shown (the primary a is bad); c becomes the address shown, and a stays, bad.
    assert result == {
        **_state("a@example.org", None, "c@example.org", bad=(1,), primary=1),
        "email": "c@example.org",
    }


def test_null_email_without_shown_address() -> None:
    current = _state("a@example.org", bad=(1,), primary=1)

    result = resolve_emails(current, {"email": None}, overwrite=True)

    assert result == {**current, "email": None}


def test_null_email_moves_primary() -> None:
    current = _state("a@example.org", "b@example.org", primary=1)

    result = resolve_emails(current, {"email": None}, overwrite=True)

    assert result == {**_state(None, "b@example.org", primary=2), "email": "b@example.org"}


def test_email_equal_to_bad_address() -> None:
    current = _state("a@example.org", "b@example.org", bad=(2,), primary=1)

    result = resolve_emails(current, {"email": "b@example.org"}, overwrite=True)

    # The slot that contains the address becomes primary, but it stays bad, so reads still show a.
    assert result == {
        **_state("a@example.org", "b@example.org", bad=(2,), primary=2),
        "email": "a@example.org",
    }


def test_primary_must_name_filled_slot() -> None:
    current = _state("a@example.org", primary=1)

    with pytest.raises(ValidationFailed) as error:
        resolve_emails(current, {"primary_email_id": 3}, overwrite=True)

    assert [_field_of(message) for message in _errors(error)] == ["primary_email_id"]


def test_primary_switch_changes_shown_email() -> None:
    current = _state("a@example.org", "b@example.org", primary=1)

    result = resolve_emails(current, {"primary_email_id": 2}, overwrite=True)

    assert result == {**_state("a@example.org", "b@example.org", primary=2), "email": "b@example.org"}


def test_clearing_primary_slot_moves_primary() -> None:
    current = _state("a@example.org", None, "c@example.org", primary=1)

    result = resolve_emails(current, {"email1": None}, overwrite=True)

    assert result == {**_state(None, None, "c@example.org", primary=3), "email": "c@example.org"}


def test_bad_flag_on_empty_slot_is_dropped() -> None:
    current = _state("a@example.org", primary=1)

    result = resolve_emails(current, {"email3_is_bad": True}, overwrite=True)

    assert result == {**current, "email": "a@example.org"}


def test_new_row_columns_are_none() -> None:
    # A new row's flags are None until the database fills in their defaults.
    current = dict.fromkeys(STORED_COLUMNS)

    result = resolve_emails(current, {"email": "a@example.org"}, overwrite=True)

    assert result == {**_state("a@example.org", primary=1), "email": "a@example.org"}


def test_without_overwrite_fills_only_empty() -> None:
    current = _state("a@example.org", None, "c@example.org", primary=1)
    changes = {
        "email": "new@example.org",
        "email1": "z@example.org",
        "email2": "b@example.org",
        "email3": None,
        "email1_is_bad": True,
        "primary_email_id": 2,
    }

    result = resolve_emails(current, changes, overwrite=False)

    # A false flag counts as empty, so email1_is_bad is set. The person already shows an address
    # and has a primary slot, so email and primary_email_id change nothing.
    assert result == {
        **_state("a@example.org", "b@example.org", "c@example.org", bad=(1,), primary=1),
        "email": "b@example.org",
    }


def test_without_overwrite_fills_missing_email() -> None:
    current = _state(None, "b@example.org", bad=(2,), primary=2)

    result = resolve_emails(current, {"email": "new@example.org"}, overwrite=False)

    assert result == {
        **_state("new@example.org", "b@example.org", bad=(2,), primary=1),
        "email": "new@example.org",
    }


def test_without_overwrite_keeps_bad_addresses() -> None:
    addresses = ("a@example.org", "b@example.org", "c@example.org", "d@example.org")
    current = _state(*addresses, bad=(1, 2, 3, 4), primary=1)

    result = resolve_emails(current, {"email": "new@example.org"}, overwrite=False)

    assert [result[name] for name in ADDRESS_COLUMNS] == list(addresses)


def test_primary_of_slot_filled_by_email() -> None:
    result = resolve_emails(EMPTY_STATE, {"email": "a@example.org", "primary_email_id": 1}, overwrite=True)

    assert result == {**_state("a@example.org", primary=1), "email": "a@example.org"}


# resolve_emails, properties

#: Few distinct addresses, two of them equal but for case, so that writes often hit stored ones.
ADDRESSES = st.sampled_from(
    ["a@example.org", "A@Example.org", "b@example.org", "c@example.org", "d@example.org", "e@example.org"]
)


@st.composite
def stored_states(draw: st.DrawFn) -> dict[str, Any]:
    """Draw the e-mail columns of a person as writes leave them.

    A flag is set only on a filled slot, and ``primary_email_id`` names a filled slot, or is None
    when no slot is filled.
    """
    state = dict(EMPTY_STATE)
    for slot in SLOTS:
        address = draw(st.none() | ADDRESSES)
        state[f"email{slot}"] = address
        state[f"email{slot}_is_bad"] = address is not None and draw(st.booleans())
    filled = [slot for slot in SLOTS if state[f"email{slot}"]]
    state["primary_email_id"] = draw(st.sampled_from(filled)) if filled else None
    return state


WRITE_VALUES: dict[str, st.SearchStrategy[Any]] = {
    "email": st.none() | ADDRESSES,
    **{name: st.none() | ADDRESSES for name in ADDRESS_COLUMNS},
    **{name: st.booleans() for name in BAD_COLUMNS},
    "primary_email_id": st.none() | st.sampled_from(SLOTS),
}
CHANGES = st.fixed_dictionaries({}, optional=WRITE_VALUES)


def _resolve_or_none(
    current: dict[str, Any], changes: dict[str, Any], overwrite: bool
) -> dict[str, Any] | None:
    try:
        return resolve_emails(current, changes, overwrite=overwrite)
    except ValidationFailed:
        return None


@settings(max_examples=300, deadline=None, database=None)
@given(current=stored_states(), changes=CHANGES, overwrite=st.booleans())
def test_shown_email_is_a_good_slot(
    current: dict[str, Any], changes: dict[str, Any], overwrite: bool
) -> None:
    result = _resolve_or_none(current, changes, overwrite)
    if result is None:
        return

    good = [
        result[f"email{slot}"]
        for slot in SLOTS
        if result[f"email{slot}"] and not result[f"email{slot}_is_bad"]
    ]
    filled = [slot for slot in SLOTS if result[f"email{slot}"]]
    if good:
        assert result["email"] in good
    else:
        assert result["email"] is None
    if filled:
        assert result["primary_email_id"] in filled
    else:
        assert result["primary_email_id"] is None
    for slot in SLOTS:
        if not result[f"email{slot}"]:
            assert result[f"email{slot}_is_bad"] is False


@settings(max_examples=200, deadline=None, database=None)
@given(current=stored_states(), overwrite=st.booleans())
def test_read_round_trip_is_noop(current: dict[str, Any], overwrite: bool) -> None:
    shown = _read(current)

    full = resolve_emails(current, shown, overwrite=overwrite)
    abbreviated = resolve_emails(current, {"email": shown["email"]}, overwrite=overwrite)

    assert full == shown
    assert abbreviated == shown


@settings(max_examples=300, deadline=None, database=None)
@given(current=stored_states(), changes=CHANGES, overwrite=st.booleans())
def test_no_address_lost_silently(current: dict[str, Any], changes: dict[str, Any], overwrite: bool) -> None:
    result = _resolve_or_none(current, changes, overwrite)
    if result is None:
        return

    remaining = {result[name] for name in ADDRESS_COLUMNS}
    for slot in SLOTS:
        address = current[f"email{slot}"]
        if address is None or address in remaining:
            continue
        # The address is gone. Only three writes may do that: one that sets the slot, one that
        # sends a null email, and one whose new email takes the place of a bad address.
        cleared = overwrite and f"email{slot}" in changes
        nulled = "email" in changes and changes["email"] is None
        was_bad = current[f"email{slot}_is_bad"] or changes.get(f"email{slot}_is_bad") is True
        replaced = changes.get("email") is not None and was_bad
        assert cleared or nulled or replaced, (slot, address)


@settings(max_examples=200, deadline=None, database=None)
@given(current=stored_states(), changes=CHANGES)
def test_written_email_is_held(current: dict[str, Any], changes: dict[str, Any]) -> None:
    result = _resolve_or_none(current, changes, True)
    if result is None or changes.get("email") is None:
        return

    written = changes["email"].lower()
    stored = [result[name].lower() for name in ADDRESS_COLUMNS if result[name]]
    assert written in stored
    # Reads show the written address, unless it sits in a bad slot, which then is the primary,
    # or the same write names another primary slot, which wins.
    if "primary_email_id" in changes:
        return
    if result["email"] is None or result["email"].lower() != written:
        primary = result["primary_email_id"]
        assert result[f"email{primary}"].lower() == written
        assert result[f"email{primary}_is_bad"] is True


# Through the API


def _setup(factory: Factory) -> tuple[NationInfo, dict[str, str]]:
    nation = factory.nation()
    token = factory.test_token(nation, factory.user(nation))
    return nation, {"Authorization": f"Bearer {token}", "Accept": "application/json"}


def _url(nation: NationInfo, path: str = "") -> str:
    return f"{nation.prefix}/api/v1/people{path}"


def _create(client: TestClient, nation: NationInfo, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post(_url(nation), json={"person": fields}, headers=headers)
    assert response.status_code == 201, response.text
    person: dict[str, Any] = response.json()["person"]
    return person


def _show(client: TestClient, nation: NationInfo, headers: dict[str, str], person_id: int) -> dict[str, Any]:
    response = client.get(_url(nation, f"/{person_id}"), headers=headers)
    assert response.status_code == 200, response.text
    person: dict[str, Any] = response.json()["person"]
    return person


def _emails_of(person: dict[str, Any]) -> dict[str, Any]:
    return {name: person[name] for name in EMAIL_KEYS}


def _expected(
    *addresses: str | None, bad: tuple[int, ...] = (), primary: int | None = None, shown: str | None
) -> dict[str, Any]:
    """Return the e-mail keys of the full representation for these slots."""
    state = _state(*addresses, bad=bad, primary=primary)
    return {"email": shown, **state, "emails": emails_json(state)}


def _update(
    client: TestClient, nation: NationInfo, headers: dict[str, str], person_id: int, **fields: Any
) -> Any:
    return client.put(_url(nation, f"/{person_id}"), json={"person": fields}, headers=headers)


def test_create_with_email(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(client, nation, headers, first_name="Ann", email="ann@example.org")

    assert _emails_of(person) == {
        "email": "ann@example.org",
        "email1": "ann@example.org",
        "email2": None,
        "email3": None,
        "email4": None,
        "email1_is_bad": False,
        "email2_is_bad": False,
        "email3_is_bad": False,
        "email4_is_bad": False,
        "primary_email_id": 1,
        "emails": [
            {"email_address": "ann@example.org", "email_number": 1, "is_bad": False, "is_primary": True}
        ],
    }
    assert _show(client, nation, headers, person["id"]) == person


def test_create_without_email(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(client, nation, headers, first_name="Ann")

    assert _emails_of(person) == _expected(shown=None)


def test_create_with_slots(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email3="three@example.org",
        email2_is_bad=True,
        primary_email_id=2,
    )

    # The primary address is bad, so email is the first good one.
    assert _emails_of(person) == _expected(
        "one@example.org",
        "two@example.org",
        "three@example.org",
        bad=(2,),
        primary=2,
        shown="one@example.org",
    )


def test_create_email_and_slots(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    person = _create(
        client, nation, headers, first_name="Ann", email="new@example.org", email1="one@example.org"
    )

    assert _emails_of(person) == _expected(
        "one@example.org", "new@example.org", primary=2, shown="new@example.org"
    )


def test_update_email_takes_empty_slot(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client, nation, headers, first_name="Ann", email1="one@example.org", email2="two@example.org"
    )

    response = _update(client, nation, headers, person["id"], email="three@example.org")

    assert response.status_code == 200, response.text
    expected = _expected(
        "one@example.org", "two@example.org", "three@example.org", primary=3, shown="three@example.org"
    )
    assert _emails_of(response.json()["person"]) == expected
    assert _emails_of(_show(client, nation, headers, person["id"])) == expected


def test_update_email_replaces_bad(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email3="three@example.org",
        email4="four@example.org",
        email3_is_bad=True,
    )

    response = _update(client, nation, headers, person["id"], email="new@example.org")

    assert response.status_code == 200, response.text
    assert _emails_of(response.json()["person"]) == _expected(
        "one@example.org",
        "two@example.org",
        "new@example.org",
        "four@example.org",
        primary=3,
        shown="new@example.org",
    )


def test_update_fifth_good_email_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email3="three@example.org",
        email4="four@example.org",
    )

    response = _update(client, nation, headers, person["id"], email="new@example.org", last_name="Lee")

    assert response.status_code == 400
    body = response.json()
    assert body == {
        "code": "validation_failed",
        "message": "Validation Failed.",
        "validation_errors": body["validation_errors"],
    }
    assert [_field_of(message) for message in body["validation_errors"]] == ["email"]
    # Nothing was written, not even the other field.
    assert _show(client, nation, headers, person["id"]) == person


def test_update_read_back_changes_nothing(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email4="four@example.org",
        email1_is_bad=True,
        primary_email_id=1,
    )
    shown = _show(client, nation, headers, person["id"])

    response = _update(client, nation, headers, person["id"], **shown)

    assert response.status_code == 200, response.text
    assert _emails_of(response.json()["person"]) == _emails_of(shown)
    assert _emails_of(shown) == _expected(
        "one@example.org",
        "two@example.org",
        None,
        "four@example.org",
        bad=(1,),
        primary=1,
        shown="two@example.org",
    )


def test_update_null_email_removes_shown(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client, nation, headers, first_name="Ann", email1="one@example.org", email2="two@example.org"
    )

    response = _update(client, nation, headers, person["id"], email=None)

    assert response.status_code == 200, response.text
    assert _emails_of(response.json()["person"]) == _expected(
        None, "two@example.org", primary=2, shown="two@example.org"
    )


def test_update_primary_switch(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client, nation, headers, first_name="Ann", email1="one@example.org", email2="two@example.org"
    )

    response = _update(client, nation, headers, person["id"], primary_email_id=2)

    assert response.status_code == 200, response.text
    assert _emails_of(response.json()["person"]) == _expected(
        "one@example.org", "two@example.org", primary=2, shown="two@example.org"
    )


@pytest.mark.parametrize("value", [3, 0, 5, "1", True])
def test_update_bad_primary_is_400(client: TestClient, factory: Factory, value: Any) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client, nation, headers, first_name="Ann", email1="one@example.org", email2="two@example.org"
    )

    response = _update(client, nation, headers, person["id"], primary_email_id=value)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [_field_of(message) for message in body["validation_errors"]] == ["primary_email_id"]
    assert _show(client, nation, headers, person["id"]) == person


@pytest.mark.parametrize(
    ("name", "value"),
    [("email2", "not-an-address"), ("email3", 5), ("email4_is_bad", "yes"), ("email1_is_bad", None)],
)
def test_update_bad_slot_value_is_400(client: TestClient, factory: Factory, name: str, value: Any) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ann", email="one@example.org")

    response = _update(client, nation, headers, person["id"], **{name: value})

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "validation_failed"
    assert [_field_of(message) for message in body["validation_errors"]] == [name]


def test_index_shows_best_address(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email1_is_bad=True,
    )

    response = client.get(_url(nation), headers=headers)

    assert response.status_code == 200, response.text
    listed = {row["id"]: row for row in response.json()["results"]}
    assert listed[person["id"]]["email"] == "two@example.org"
    assert "email1" not in listed[person["id"]]


def test_push_matches_shown_email(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    created = client.put(
        _url(nation, "/push"),
        json={"person": {"email": "Ann+News@Example.org", "first_name": "Ann"}},
        headers=headers,
    )
    again = client.put(
        _url(nation, "/push"),
        json={"person": {"email": "ann+news@EXAMPLE.ORG", "last_name": "Lee"}},
        headers=headers,
    )
    other = client.put(
        _url(nation, "/push"),
        json={"person": {"email": "annnews@example.org", "first_name": "Bo"}},
        headers=headers,
    )

    assert created.status_code == 201, created.text
    assert again.status_code == 200, again.text
    assert other.status_code == 201, other.text
    person = again.json()["person"]
    assert person["id"] == created.json()["person"]["id"]
    assert (person["first_name"], person["last_name"]) == ("Ann", "Lee")
    assert _emails_of(person) == _expected("Ann+News@Example.org", primary=1, shown="Ann+News@Example.org")
    assert other.json()["person"]["id"] != person["id"]


def test_push_matches_first_good_address(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email1_is_bad=True,
    )

    response = client.put(
        _url(nation, "/push"),
        json={"person": {"email": "TWO@example.org", "last_name": "Lee"}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    pushed = response.json()["person"]
    assert pushed["id"] == person["id"]
    assert _emails_of(pushed) == _expected(
        "one@example.org", "two@example.org", bad=(1,), primary=1, shown="two@example.org"
    )


def test_push_new_email_by_external_id(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ann", email="one@example.org", external_id="X1")

    response = client.put(
        _url(nation, "/push"),
        json={"person": {"external_id": "X1", "email": "new@example.org"}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    pushed = response.json()["person"]
    assert pushed["id"] == person["id"]
    assert _emails_of(pushed) == _expected(
        "one@example.org", "new@example.org", primary=2, shown="new@example.org"
    )


def test_push_fifth_good_email_is_400(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    addresses = {f"email{slot}": f"e{slot}@example.org" for slot in SLOTS}
    person = _create(client, nation, headers, first_name="Ann", external_id="X1", **addresses)

    response = client.put(
        _url(nation, "/push"),
        json={"person": {"external_id": "X1", "email": "new@example.org"}},
        headers=headers,
    )

    assert response.status_code == 400
    assert response.json()["code"] == "validation_failed"
    assert [_field_of(message) for message in response.json()["validation_errors"]] == ["email"]
    assert _show(client, nation, headers, person["id"]) == person


def test_add_fills_only_empty_slots(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ann", email="one@example.org")

    response = client.put(
        _url(nation, "/add"),
        json={
            "person": {
                "email": "ONE@example.org",
                "email1": "other@example.org",
                "email2": "two@example.org",
                "primary_email_id": 2,
            }
        },
        headers=headers,
    )

    assert response.status_code == 200, response.text
    added = response.json()["person"]
    assert added["id"] == person["id"]
    assert _emails_of(added) == _expected(
        "one@example.org", "two@example.org", primary=1, shown="one@example.org"
    )


def test_add_keeps_shown_email(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ann", email="one@example.org", external_id="X1")

    response = client.put(
        _url(nation, "/add"),
        json={"person": {"external_id": "X1", "email": "new@example.org"}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert _emails_of(response.json()["person"]) == _emails_of(person)


def test_add_sets_missing_email(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(client, nation, headers, first_name="Ann", external_id="X1")

    response = client.put(
        _url(nation, "/add"),
        json={"person": {"external_id": "X1", "email": "new@example.org"}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    added = response.json()["person"]
    assert added["id"] == person["id"]
    assert _emails_of(added) == _expected("new@example.org", primary=1, shown="new@example.org")


def test_add_keeps_bad_addresses(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    addresses = {f"email{slot}": f"e{slot}@example.org" for slot in SLOTS}
    flags = {f"email{slot}_is_bad": True for slot in SLOTS}
    person = _create(client, nation, headers, first_name="Ann", external_id="X1", **addresses, **flags)

    response = client.put(
        _url(nation, "/add"),
        json={"person": {"external_id": "X1", "email": "new@example.org"}},
        headers=headers,
    )

    assert response.status_code == 200, response.text
    assert _emails_of(response.json()["person"]) == _emails_of(person)


def test_create_email_with_primary_id(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)

    response = client.post(
        _url(nation),
        json={"person": {"first_name": "Ann", "email": "one@example.org", "primary_email_id": 1}},
        headers=headers,
    )

    assert response.status_code == 201, response.text
    assert _emails_of(response.json()["person"]) == _expected(
        "one@example.org", primary=1, shown="one@example.org"
    )


def test_stored_columns_match_read(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    person = _create(
        client,
        nation,
        headers,
        first_name="Ann",
        email1="one@example.org",
        email2="two@example.org",
        email1_is_bad=True,
    )

    def load(session: Session) -> dict[str, Any]:
        row = session.get(Person, person["id"])
        assert row is not None
        return {name: getattr(row, name) for name in ("email", *STORED_COLUMNS)}

    stored = factory.database.transaction(load)

    assert stored == {name: person[name] for name in ("email", *STORED_COLUMNS)}


def test_csv_import_fills_slots(client: TestClient, factory: Factory) -> None:
    nation, headers = _setup(factory)
    text = (
        "first_name,email,email2,email3\n"
        "Ann,ann@example.org,ann.work@example.org,\n"
        "Bo,bo@example.org,,\n"
        "Cy,,,cy@example.org\n"
        "Dee,,,\n"
    )

    report = factory.database.transaction(
        lambda session: import_people(session, session.get(Nation, nation.id), io.StringIO(text))
    )

    assert (report.imported, report.rejected) == (4, 0)
    listed = client.get(_url(nation), headers=headers).json()["results"]
    people = {person["first_name"]: _show(client, nation, headers, person["id"]) for person in listed}
    assert {name: _emails_of(person) for name, person in people.items()} == {
        "Ann": _expected("ann@example.org", "ann.work@example.org", primary=1, shown="ann@example.org"),
        "Bo": _expected("bo@example.org", primary=1, shown="bo@example.org"),
        "Cy": _expected(None, None, "cy@example.org", primary=3, shown="cy@example.org"),
        "Dee": _expected(shown=None),
    }

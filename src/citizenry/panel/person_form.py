"""The person form of the control panel, turned into an API person body and back.

The panel saves a person through the API's own checks (:func:`validate_person`,
:func:`apply_changes` and :func:`check_identity`), so both apply the same rules to names, e-mail
slots, addresses and custom fields. This module maps form inputs to person fields, and the API's
validation messages, which start with a field name, back to the inputs they are about.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData

from citizenry.api.custom_fields import MAX_FIELDS_PER_NATION
from citizenry.api.person_emails import SLOTS
from citizenry.api.person_json import ADDRESS_FIELDS as API_ADDRESS_KEYS
from citizenry.panel.forms import form_field
from citizenry.store.models import CustomField, Person

#: Labels of the name and phone inputs, by person field.
NAME_FIELDS = {
    "first_name": "First name",
    "last_name": "Last name",
}
PHONE_FIELDS = {
    "phone": "Phone",
    "mobile": "Mobile",
}
#: Inputs of the primary address, by the key of NationBuilder's address object.
ADDRESS_FIELDS = {
    "address1": "Street address",
    "address2": "Address line 2",
    "city": "City",
    "state": "State or region",
    "zip": "Postal code",
    "country_code": "Country code",
}
#: The input holding every tag of a new person, one per line.
TAGS_INPUT = "tags"
#: The form-wide messages, such as a person without a name, e-mail address or phone number.
FORM_ERRORS = ""
#: The maximum number of fields of a person form. It counts the CSRF token, the name, phone and
#: address inputs, and one input per custom field. The new person form adds an e-mail address and
#: tags, and the edit form adds four e-mail slots with their flags and the primary slot.
MAX_FORM_FIELDS = (
    1
    + len(NAME_FIELDS)
    + len(PHONE_FIELDS)
    + len(ADDRESS_FIELDS)
    + max(2, 2 * len(SLOTS) + 1)
    + MAX_FIELDS_PER_NATION
)


def address_input(key: str) -> str:
    return f"address.{key}"


def custom_input(slug: str) -> str:
    # A slug has no dot, so this never names another input.
    return f"custom.{slug}"


@dataclass
class PersonForm:
    """The inputs of a person form: the text of each, and the problems found, by input name."""

    values: dict[str, str] = field(default_factory=dict)
    errors: dict[str, list[str]] = field(default_factory=dict)

    def value(self, name: str) -> str:
        return self.values.get(name, "")

    def add_errors(self, messages: list[str], custom_fields: Mapping[str, CustomField]) -> None:
        """File the API's validation messages under the inputs they name, reworded with the labels."""
        labels = input_labels(custom_fields)
        for message in messages:
            head, separator, rest = message.partition(" ")
            name = head.removesuffix(":")
            if name in custom_fields:
                name = custom_input(name)
            elif name.startswith("primary_address."):
                name = address_input(name.removeprefix("primary_address."))
            if not separator or name not in self.values:
                name, text = FORM_ERRORS, message.split(": ", 1)[-1]
            elif head.endswith(":"):
                text = rest
            else:
                text = f"{labels[name]} {rest}"
            self.errors.setdefault(name, []).append(_sentence(text))

    @property
    def error_count(self) -> int:
        return sum(len(messages) for messages in self.errors.values())


def _sentence(text: str) -> str:
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else f"{text}."


def input_labels(custom_fields: Mapping[str, CustomField]) -> dict[str, str]:
    """Return the label of every input of the person form, by input name."""
    labels = {**NAME_FIELDS, **PHONE_FIELDS, "email": "E-mail address", TAGS_INPUT: "Tags"}
    labels.update({address_input(key): label for key, label in ADDRESS_FIELDS.items()})
    for slot in SLOTS:
        labels[f"email{slot}"] = f"E-mail address {slot}"
        labels[f"email{slot}_is_bad"] = f"E-mail address {slot} is bad"
    labels["primary_email_id"] = "Primary e-mail address"
    labels.update({custom_input(slug): custom.name for slug, custom in custom_fields.items()})
    return labels


def person_form(person: Person | None, custom_fields: Mapping[str, CustomField]) -> PersonForm:
    """Return the form filled with a person's values, or empty for a new person."""
    form = PersonForm()
    for name in (*NAME_FIELDS, *PHONE_FIELDS):
        form.values[name] = (getattr(person, name) if person else None) or ""
    address = (person.primary_address if person else None) or {}
    for key in ADDRESS_FIELDS:
        form.values[address_input(key)] = str(address.get(key) or "")
    if person is None:
        form.values["email"] = ""
        form.values[TAGS_INPUT] = ""
    else:
        for slot in SLOTS:
            form.values[f"email{slot}"] = getattr(person, f"email{slot}") or ""
            form.values[f"email{slot}_is_bad"] = "on" if getattr(person, f"email{slot}_is_bad") else ""
        form.values["primary_email_id"] = str(person.primary_email_id or "")
    stored = (person.custom_values if person else None) or {}
    for slug, custom in custom_fields.items():
        form.values[custom_input(slug)] = _custom_text(custom, stored.get(str(custom.id)))
    return form


def _custom_text(custom: CustomField, value: Any) -> str:
    if value is None:
        return ""
    if custom.type == "checkbox":
        return "on" if value else ""
    if custom.type == "number":
        number = float(value)
        # Whole numbers without ".0", as people type them; others in full precision.
        return str(int(number)) if number.is_integer() and abs(number) < 1e15 else repr(number)
    return str(value)


def submitted_form(data: FormData, blank: PersonForm) -> PersonForm:
    """Return the form as sent, with the inputs of ``blank``; inputs it lacks are left out."""
    return PersonForm(values={name: form_field(data, name) for name in blank.values})


def person_body(
    form: PersonForm, person: Person | None, custom_fields: Mapping[str, CustomField]
) -> dict[str, Any]:
    """Build the API person body that saves ``form``, for ``person`` or for a new person."""
    body: dict[str, Any] = {name: form.value(name) for name in (*NAME_FIELDS, *PHONE_FIELDS)}
    if person is None:
        body["email"] = form.value("email")
        body["tags"] = form.value(TAGS_INPUT).splitlines()
    else:
        body.update(_email_slots(form))

    # Keys the form does not show, such as lat and lng, keep their values.
    stored_address = (person.primary_address if person else None) or {}
    current = {key: stored_address[key] for key in API_ADDRESS_KEYS if stored_address.get(key) is not None}
    address = {**current, **{key: form.value(address_input(key)) or None for key in ADDRESS_FIELDS}}
    if any(address.values()):
        body["primary_address"] = address
    elif current:
        body["primary_address"] = None

    stored = (person.custom_values if person else None) or {}
    for slug, custom in custom_fields.items():
        text = form.value(custom_input(slug))
        if custom.type == "checkbox":
            # An unticked box leaves a value that was never set unset, rather than making it false.
            if text or stored.get(str(custom.id)) is not None:
                body[slug] = bool(text)
        else:
            body[slug] = text.strip() or None
    return body


def _email_slots(form: PersonForm) -> dict[str, Any]:
    slots: dict[str, Any] = {}
    for slot in SLOTS:
        slots[f"email{slot}"] = form.value(f"email{slot}")
        slots[f"email{slot}_is_bad"] = bool(form.value(f"email{slot}_is_bad"))
    primary = form.value("primary_email_id")
    if primary.isascii() and primary.isdigit() and int(primary) in SLOTS:
        slots["primary_email_id"] = int(primary)
    return slots

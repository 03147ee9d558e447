"""The person resource in NationBuilder's full representation (show, me).

The full representation is the abbreviated one plus these keys. Fields Citizenry does not store
yet come back with the default a new person has on NationBuilder: null, false, 0 or an empty list.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from citizenry.api.person_custom import custom_values_json
from citizenry.api.person_emails import STORED_COLUMNS as EMAIL_COLUMNS
from citizenry.api.person_emails import emails_json
from citizenry.api.person_json import abbreviated_person, iso_utc
from citizenry.store.models import CustomField, Person

#: Person objects (abbreviated) and addresses, null until Citizenry stores them.
NULL_OBJECTS = (
    "author",
    "recruiter",
    "parent",
    "last_contacted_by",
    "billing_address",
    "home_address",
    "mailing_address",
    "registered_address",
    "user_submitted_address",
    "work_address",
    "meetup_address",
    "facebook_address",
    "twitter_address",
)

NULL_INTEGERS = (
    "author_id",
    "parent_id",
    "priority_level",
    "inferred_support_level",
    "last_call_id",
    "call_status_id",
    "contact_status_id",
    "overdue_invoices_count",
    "invoices_amount_in_cents",
    "outstanding_invoices_amount_in_cents",
)

ZERO_INTEGERS = (
    "children_count",
    "recruits_count",
    "warnings_count",
    "rule_violations_count",
    "capital_amount_in_cents",
    "spent_capital_amount_in_cents",
    "received_capital_amount_in_cents",
    "donations_amount_in_cents",
    "donations_amount_this_cycle_in_cents",
    "donations_count",
    "donations_count_this_cycle",
    "donations_pledged_amount_in_cents",
    "donations_raised_amount_in_cents",
    "donations_raised_amount_this_cycle_in_cents",
    "donations_raised_count",
    "donations_raised_count_this_cycle",
    "donations_to_raise_amount_in_cents",
    "invoice_payments_amount_in_cents",
    "invoice_payments_referred_amount_in_cents",
    "closed_invoices_amount_in_cents",
    "invoices_count",
    "closed_invoices_count",
    "outstanding_invoices_count",
    "twitter_followers_count",
    "twitter_friends_count",
)

FALSE_BOOLEANS = (
    "is_deceased",
    "is_donor",
    "is_fundraiser",
    "is_ignore_donation_limits",
    "is_mobile_bad",
    "is_possible_duplicate",
    "is_profile_private",
    "is_prospect",
    "is_survey_question_private",
    "federal_donotcall",
    "party_member",
    "email1_is_bad",
    "email2_is_bad",
    "email3_is_bad",
    "email4_is_bad",
)

TRUE_BOOLEANS = ("is_leaderboardable", "is_profile_searchable", "is_supporter")

NULL_BOOLEANS = (
    "is_absentee_voter",
    "is_active_voter",
    "is_dropped_from_file",
    "is_early_voter",
    "is_permanent_absentee_voter",
    "could_vote_status",
)

NULL_STRINGS = (
    "legal_name",
    "prefix",
    "suffix",
    "username",
    "email2",
    "email3",
    "email4",
    "language",
    "locale",
    "demo",
    "ethnicity",
    "religion",
    "church",
    "marital_status",
    "inferred_party",
    "previous_party",
    "availability",
    "phone_time",
    "fax_number",
    "website",
    "bio",
    "profile_headline",
    "profile_content",
    "profile_content_html",
    "submitted_address",
    "page_slug",
    "call_status_name",
    "contact_status_name",
    "media_market_name",
    "city_sub_district",
    "township",
    "precinct_code",
    "precinct_name",
    "nbec_precinct_code",
    "nbec_precinct",
    "phone_normalized",
    "mobile_normalized",
    "facebook_profile_url",
    "facebook_username",
    "twitter_login",
    "twitter_description",
    "twitter_location",
    "twitter_website",
    "meetup_id",
    "import_id",
    "auto_import_id",
    "support_probability_score",
    "turnout_probability_score",
)

NULL_TIMESTAMPS = (
    "first_donated_at",
    "first_fundraised_at",
    "first_invoice_at",
    "first_prospect_at",
    "first_recruited_at",
    "first_volunteer_at",
    "last_donated_at",
    "last_fundraised_at",
    "last_invoice_at",
    "last_contacted_at",
    "last_rule_violation_at",
    "banned_at",
    "unsubscribed_at",
    "note_updated_at",
    "support_level_changed_at",
    "priority_level_changed_at",
    "registered_at",
    "facebook_updated_at",
    "twitter_updated_at",
    "voter_updated_at",
    "active_customer_started_at",
    "active_customer_expires_at",
)

EMPTY_LISTS = ("ballots", "identity_mappings", "signup_sources", "subnations")


def full_person(
    person: Person, tags: Iterable[str], avatar_url: str, custom_fields: dict[str, CustomField]
) -> dict[str, Any]:
    """Return the full representation: the abbreviated keys, the full-only ones, the custom fields."""
    body = abbreviated_person(person, tags, avatar_url, {})
    body.update(dict.fromkeys(NULL_OBJECTS + NULL_INTEGERS + NULL_BOOLEANS + NULL_STRINGS + NULL_TIMESTAMPS))
    body.update(dict.fromkeys(ZERO_INTEGERS, 0))
    body.update(dict.fromkeys(FALSE_BOOLEANS, False))
    body.update(dict.fromkeys(TRUE_BOOLEANS, True))
    body.update({name: [] for name in EMPTY_LISTS})

    names = [person.first_name, person.middle_name, person.last_name]
    body["full_name"] = " ".join(part for part in names if part) or None
    emails = {name: getattr(person, name) for name in EMAIL_COLUMNS}
    body.update(emails)
    body["emails"] = emails_json(emails)
    body["first_supporter_at"] = iso_utc(person.created_at)
    # Writable full-only fields the person has values for. The e-mail slots have columns of their
    # own; a key left in ``extra`` by an older write never hides them.
    body.update({name: value for name, value in (person.extra or {}).items() if name not in emails})
    body.update(custom_values_json(person, custom_fields))
    return body

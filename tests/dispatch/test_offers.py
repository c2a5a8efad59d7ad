"""Offer rules and webhook signing, with plain values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dispatch.offers import offer_outcome
from dispatch.webhooks import backoff_s, sign_payload, verify_signature

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def test_an_answer_in_time_does_what_it_says():
    later = NOW + timedelta(seconds=30)
    assert offer_outcome(state="pending", expires_at=later, now=NOW, response="accept") == "accept"
    assert offer_outcome(state="pending", expires_at=later, now=NOW,
                         response="decline") == "decline"


def test_a_late_answer_counts_as_expiry():
    assert offer_outcome(state="pending", expires_at=NOW, now=NOW, response="accept") == "expire"
    assert offer_outcome(state="pending", expires_at=NOW - timedelta(seconds=1), now=NOW,
                         response="decline") == "expire"


def test_answered_offers_are_closed():
    for state in ("accepted", "declined", "expired", "withdrawn"):
        assert offer_outcome(state=state, expires_at=NOW + timedelta(hours=1), now=NOW,
                             response="accept") == "closed"


def test_signatures_verify_and_tampering_fails():
    body = b'{"order_id": 1, "status": "assigned"}'
    header = sign_payload("s" * 32, timestamp_s=1_800_000_000, body=body)
    assert header.startswith("t=1800000000,v1=")
    assert verify_signature("s" * 32, header=header, body=body, now_s=1_800_000_010)
    assert not verify_signature("s" * 32, header=header, body=body + b" ", now_s=1_800_000_010)
    assert not verify_signature("x" * 32, header=header, body=body, now_s=1_800_000_010)
    assert not verify_signature("s" * 32, header=header, body=body, now_s=1_800_001_000)
    assert not verify_signature("s" * 32, header="garbage", body=body, now_s=1_800_000_000)


def test_retries_back_off_exponentially_up_to_a_cap():
    assert [backoff_s(n) for n in (1, 2, 3, 4)] == [5.0, 10.0, 20.0, 40.0]
    assert backoff_s(30) == 3600.0

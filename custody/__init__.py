"""Custody: who held an order's parcel, proven at every handoff.

Above `dispatch` in the layering: custody reads and moves orders through `dispatch.orders`;
orders know nothing of custody and reach the ledger only through the follower port
(`dispatch.order_followers`), which `custody.order_entries` implements.

    chain.py        the pure hash chain: entries, canonical encoding, verification
    tokens.py       signed handoff tokens (Ed25519 JWS) and the key ring
    keys.py         where the signing keys live (files or configuration), rotation
    errors.py       why a token, scan or fallback code was refused (one code each)
    tables.py       the `custody_entries` table
    store.py        appending to and reading the ledger in PostgreSQL
    state_store.py  short-lived handoff state in Redis (single-use markers, live codes)
    service.py      issuing a leg's token and accepting a courier's scan
    order_entries.py  the ledger entries that follow order events (created, cancelled, failed)
"""

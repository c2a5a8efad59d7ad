"""Problem tickets: a buyer, seller, courier or dispatcher reports what went wrong with an order;
an admin assigns, comments and resolves it.

Above `custody` in the layering: opening a ticket gathers its evidence — the custody chain with
each handoff's place and time (and whether the chain verifies), the courier's stored track
around each handoff (through the `TrackAround` port, which the API implements over tracking's
positions), and the order's log. Opening and resolving are events in the order's log
(`ticket_opened`, `ticket_resolved`), so the order webhooks carry them.

    tables.py   the `tickets` and `ticket_comments` tables
    service.py  opening, listing, assigning, commenting, resolving
"""

"""`courier simulate live`: a fleet driven over the wire.

Simulated couriers, sellers and buyers use a running service through its public API only
(HTTP with httpx, `/ws/courier` with websockets), as their apps would; nothing here imports
`api/` or needs the database.

    behaviour   pure choices from a seeded RNG: offers, Poisson orders, GPS noise, next stop
    movement    a polyline walked at a speed, one pose per tick (pure)
    geo         distances, bearings, service areas (pure)
    summary     what a run counts; JSON and text
    client      the HTTP edge: actors, calls, errors counted per endpoint
    gps_link    the courier WebSocket: acks, reconnects, re-sends
    cast        sellers, buyers and couriers set up (and reused) through the API
    courier     one courier's shift; sellers: the order stream
    runner      a run end to end; cli: `add_arguments` and `run`
"""

"""Delivery-day simulation: dispatch policies compared before they ship.

* `mdrp` (`courier simulate mdrp`) — the Grubhub meal-delivery instances as online days: the
  service's dispatch cycle on virtual time, the evaluator's solution files, an independent
  checker, the paper's figures.
* `city` (`courier simulate city`) — a generated marketplace day on a road network (OSRM),
  with the service's dispatch as it ships.
* `live` (`courier simulate live`) — simulated couriers, sellers and buyers against a running
  service over its public API: the demo city that moves, and a soak test.

`day` is the simulated day both in-process modes share (events, couriers, the cycle on the
in-memory store); `report` writes the pages and comparisons. Nothing here imports `api/`.
"""

"""Delivery-day simulation.

`live` (`courier simulate live`) drives simulated couriers, sellers and buyers against a running
service over its public API: the demo city that moves, and a soak test. The in-process modes are
not built yet: `mdrp` and `city` will replay days of orders and couriers against the dispatch
policies (`dispatch.policies`: batch, nearest, cascade) and compare them. Nothing here imports
`api/`.
"""

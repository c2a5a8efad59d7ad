"""Route planning for the courier fleet: pickup-and-delivery with time windows on OR-Tools.

Modules (import what you need; nothing heavy is loaded by importing the package):

- ``problem``   the problem as data: vehicles, shipments, parcels on board, matrices, weights
- ``plan``      a solution: routes with times and loads, unassigned shipments with reasons
- ``solver``    ``solve(problem, *, time_limit_s, seed, initial=None) -> Plan`` on OR-Tools
- ``construct`` a fast greedy first solution for city-sized problems
- ``validator`` an independent check of any plan, and its true objective
- ``lilim``     the Li & Lim benchmark reader and best-known solutions
- ``peers``     PyVRP and VROOM adapters, to measure against
- ``bench``     ``courier bench lilim`` (also ``python -m routing.bench lilim``)
- ``errors``    the package's exceptions

``routing`` imports only the standard library, numpy and OR-Tools (the peers lazily).
"""

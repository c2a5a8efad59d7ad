"""Errors raised by the routing package.

    RoutingError
     ├── ProblemError   the problem data is malformed (not merely infeasible)
     └── PeerUnavailable a peer solver (PyVRP, VROOM) is not installed

An infeasible order is not an error: ``solve`` reports it unassigned with a reason.
"""

__all__ = ["PeerUnavailable", "ProblemError", "RoutingError"]


class RoutingError(Exception):
    """Base of every error raised by ``routing``."""


class ProblemError(RoutingError, ValueError):
    """The problem data is malformed: bad matrix shapes, unknown locations, duplicate ids."""


class PeerUnavailable(RoutingError, ImportError):
    """A peer solver's package is not installed."""

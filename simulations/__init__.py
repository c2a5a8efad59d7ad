"""Delivery-day simulation (not built yet).

Reserved for a discrete-event city that replays a day of orders and couriers against the
dispatch policies (`dispatch.policies`: batch, nearest, cascade), in process or against a
running service, and compares them. It must not import `api/`.
"""

"""Redis edge of tracking: the live view of where couriers are, and the cross-worker feed.

Keys (all under the configured prefix):

* `tracking:geo`   GEO set of couriers' last positions ("couriers near a point");
* `tracking:last`  hash courier id → last position as JSON (the dispatcher snapshot);
* `tracking:seen`  sorted set courier id → fix time, for stale marking;
* `tracking:stale` set of couriers marked stale;
* `tracking:feed`  pub/sub channel every worker subscribes to and relays to its dispatchers.

All the work for one batch is one pipeline (one round trip), whatever the number of couriers.
Redis is the live view only: PostGIS keeps the record, so callers treat failures here as
"the map lags", never as lost data.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from redis.asyncio import Redis

from geodata.points import haversine_m
from tracking.fixes import Fix

__all__ = ["LiveStore", "feed_channel", "position_wire", "GEO_MAX_LAT"]

#: Redis GEO indexes latitudes within Web Mercator's range only; beyond it GEOADD and GEOSEARCH
#: refuse the pair. The index stores a clamped latitude (the exact fix is in `tracking:last`).
GEO_MAX_LAT = 85.05112878


def _geo_lat(lat: float) -> float:
    return max(-GEO_MAX_LAT, min(GEO_MAX_LAT, lat))


def position_wire(courier_id: int, fix: Fix, *, stale: bool = False) -> dict:
    """A courier's position as the dispatcher feed shows it (CONTRACT.md plus `acc`)."""
    body = {"id": courier_id, "lat": fix.lat, "lon": fix.lon, "ts": fix.ts_s,
            "speed": fix.speed_mps, "heading": fix.heading_deg, "acc": fix.accuracy_m}
    if stale:
        body["stale"] = True
    return body


def feed_channel(prefix: str) -> str:
    """The Redis channel on which every worker's fixes and feed messages are published."""
    return f"{prefix}tracking:feed"


class LiveStore:
    def __init__(self, redis: Redis, prefix: str) -> None:
        self.redis = redis
        self.geo_key = f"{prefix}tracking:geo"
        self.last_key = f"{prefix}tracking:last"
        self.seen_key = f"{prefix}tracking:seen"
        self.stale_key = f"{prefix}tracking:stale"
        self.channel = feed_channel(prefix)

    async def apply(self, latest: dict[int, Fix], *,
                    messages: Iterable[dict] = ()) -> list[dict]:
        """Stores the latest fix per courier and publishes them (plus `messages`) in one pipeline.

        Returns the `positions` message it published, followed by `messages`.
        """
        couriers = [position_wire(cid, fix) for cid, fix in latest.items()]
        published: list[dict] = []
        pipe = self.redis.pipeline(transaction=False)
        if couriers:
            geo: list[object] = []
            for c in couriers:
                geo.extend((c["lon"], _geo_lat(c["lat"]), c["id"]))
            pipe.geoadd(self.geo_key, geo)
            pipe.hset(self.last_key, mapping={c["id"]: orjson.dumps(c) for c in couriers})
            pipe.zadd(self.seen_key, {c["id"]: c["ts"] for c in couriers})
            pipe.srem(self.stale_key, *[c["id"] for c in couriers])
            positions = {"type": "positions", "couriers": couriers}
            pipe.publish(self.channel, orjson.dumps(positions))
            published.append(positions)
        for message in messages:
            pipe.publish(self.channel, orjson.dumps(message))
            published.append(message)
        if published:
            await pipe.execute()
        return published

    async def publish(self, message: dict) -> None:
        await self.redis.publish(self.channel, orjson.dumps(message))

    async def snapshot(self) -> list[dict]:
        """Every courier's last position, stale ones flagged."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.hgetall(self.last_key)
        pipe.smembers(self.stale_key)
        last, stale = await pipe.execute()
        stale_ids = {int(x) for x in stale}
        couriers = []
        for raw in last.values():
            courier = orjson.loads(raw)
            if courier["id"] in stale_ids:
                courier["stale"] = True
            couriers.append(courier)
        couriers.sort(key=lambda c: c["id"])
        return couriers

    async def latest(self, courier_ids: list[int]) -> dict[int, tuple[float, float, float]]:
        """Each courier's last live position as (lat, lon, fix time in Unix seconds); couriers
        with none (or an unreadable entry) are left out. Raises if Redis does."""
        if not courier_ids:
            return {}
        values = await self.redis.hmget(self.last_key, [str(c) for c in courier_ids])
        out = {}
        for courier_id, raw in zip(courier_ids, values, strict=True):
            if raw is None:
                continue
            try:
                body = orjson.loads(raw)
                out[courier_id] = (float(body["lat"]), float(body["lon"]), float(body["ts"]))
            except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
                continue
        return out

    async def position(self, courier_id: int) -> dict | None:
        """The courier's last live fix as `{"lat", "lon", "heading", "speed", "ts"}` (heading
        and speed may be None), or None when there is none or it cannot be read. Raises if
        Redis does."""
        raw = await self.redis.hget(self.last_key, str(courier_id))
        if raw is None:
            return None
        try:
            body = orjson.loads(raw)
            return {"lat": float(body["lat"]), "lon": float(body["lon"]),
                    "heading": body.get("heading"), "speed": body.get("speed"),
                    "ts": float(body["ts"])}
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            return None

    async def nearby(self, *, lat: float, lon: float, radius_m: float,
                     limit: int) -> list[tuple[int, float]]:
        """Couriers within `radius_m` of a point, nearest first, as (id, distance_m).

        Near the poles, beyond what Redis GEO indexes, the search runs from the nearest indexed
        latitude with the radius widened by the gap, and distances are measured from the true
        point (exact for every courier inside the indexed range)."""
        indexed_lat = _geo_lat(lat)
        if indexed_lat == lat:
            rows = await self.redis.geosearch(self.geo_key, longitude=lon, latitude=lat,
                                              radius=radius_m, unit="m", sort="ASC",
                                              count=limit, withdist=True)
            return [(int(member), float(dist)) for member, dist in rows]
        gap_m = haversine_m((lat, lon), (indexed_lat, lon))
        rows = await self.redis.geosearch(self.geo_key, longitude=lon, latitude=indexed_lat,
                                          radius=radius_m + gap_m, unit="m", sort="ASC",
                                          withcoord=True)
        found = sorted((haversine_m((lat, lon), (plat, plon)), int(member))
                       for member, (plon, plat) in rows)
        return [(member, dist) for dist, member in found if dist <= radius_m][:limit]

    async def claim_stale(self, *, now_s: float, stale_after_s: float) -> list[dict]:
        """Couriers with no fix for `stale_after_s`, claimed by this worker only (ZREM wins)."""
        ids = await self.redis.zrangebyscore(self.seen_key, "-inf", now_s - stale_after_s,
                                             start=0, num=1000)
        if not ids:
            return []
        pipe = self.redis.pipeline(transaction=False)
        for member in ids:
            pipe.zrem(self.seen_key, member)
        removed = await pipe.execute()
        claimed = [member for member, won in zip(ids, removed, strict=True) if won]
        if not claimed:
            return []
        pipe = self.redis.pipeline(transaction=False)
        pipe.sadd(self.stale_key, *claimed)
        pipe.hmget(self.last_key, claimed)
        _, raws = await pipe.execute()
        stale = []
        for raw in raws:
            if raw is not None:
                courier = orjson.loads(raw)
                courier["stale"] = True
                stale.append(courier)
        if stale:
            await self.publish({"type": "positions", "couriers": stale})
        return stale

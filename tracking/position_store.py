"""PostGIS edge of tracking: the batched history writer and the track query.

One call of `commit_batch` is one transaction for every courier that sent points during one
event-loop tick: lock (and create) the couriers' cursors in one statement, decide each
submission with the pure `tracking.ingest.decide`, insert all accepted points with one
multi-row `INSERT ... SELECT FROM json_to_recordset(...)` that also moves the cursors (so a
batch costs two round trips and the commit). Nothing is acknowledged before this transaction
commits.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any

import orjson
import psycopg
from sqlalchemy.ext.asyncio import AsyncEngine

from tracking.filters import FilterConfig
from tracking.fixes import Fix
from tracking.ingest import Cursor, IngestVerdict, decide

__all__ = ["PositionStore", "Submission", "WriterConnections", "track_geojson"]

Submission = tuple[int, list[Fix]]

#: Advisory lock id serialising partition creation across workers ("trak" in ASCII).
_PARTITION_LOCK_KEY = 0x7472616B

# Lock the couriers' cursors in id order (so concurrent batches never deadlock), creating the
# missing ones. Rows created here are invisible to the locking SELECT (same snapshot), hence
# the UNION with what the insert returned; a row another transaction created meanwhile is
# picked up by running the statement again.
_LOCK_CURSORS = """
WITH created AS (
    INSERT INTO tracking_cursors (courier_id)
    SELECT unnest(%(ids)s::text::bigint[]) ORDER BY 1
    ON CONFLICT (courier_id) DO NOTHING
    RETURNING courier_id, last_seq, last_ts_s, last_lat, last_lon
), locked AS (
    SELECT courier_id, last_seq, last_ts_s, last_lat, last_lon FROM tracking_cursors
    WHERE courier_id = ANY(%(ids)s::text::bigint[]) ORDER BY courier_id FOR UPDATE
)
SELECT * FROM locked UNION ALL SELECT * FROM created
"""

# Rows travel as one JSON document: orjson writes it in C and the server parses it in C, where
# psycopg's per-element array dumping would cost more than everything else in a batch.
# A data-modifying CTE always runs to completion, referenced or not.
_INSERT_POSITIONS_AND_MOVE_CURSORS = """
WITH inserted AS (
INSERT INTO positions (courier_id, recorded_at, seq, location, accuracy_m, speed_mps,
                       heading_deg)
SELECT c, to_timestamp(t), s, ST_SetSRID(ST_MakePoint(lo, la), 4326)::geography, a, v, h
FROM json_to_recordset(%(rows)s::json)
     AS u(c bigint, t float8, s bigint, lo float8, la float8, a float8, v float8, h float8)
ON CONFLICT DO NOTHING
)
UPDATE tracking_cursors AS k
SET last_seq = m.s, last_ts_s = m.t, last_lat = m.la, last_lon = m.lo, updated_at = now()
FROM json_to_recordset(%(cursors)s::json)
     AS m(c bigint, s bigint, t float8, la float8, lo float8)
WHERE k.courier_id = m.c
"""

_STORED_SEQS = """
SELECT DISTINCT p.courier_id, p.seq
FROM json_to_recordset(%(pairs)s::json) AS x(c bigint, s bigint)
JOIN positions AS p ON p.courier_id = x.c AND p.seq = x.s
"""

def _id_array(ids: Sequence[int]) -> str:
    """A PostgreSQL array literal (sent as text: no per-element adaptation in Python)."""
    return "{" + ",".join(map(str, ids)) + "}"


_TRACK = """
SELECT seq, extract(epoch FROM recorded_at)::float8, ST_Y(location::geometry),
       ST_X(location::geometry), accuracy_m, speed_mps, heading_deg
FROM positions
WHERE courier_id = %(c)s AND recorded_at >= %(f)s AND recorded_at < %(t)s
ORDER BY recorded_at
LIMIT %(n)s
"""

#: One fix per courier and time bucket (the last in it), for replaying the fleet.
_HISTORY = """
SELECT DISTINCT ON (courier_id, floor(extract(epoch FROM recorded_at)::float8 / %(s)s))
       courier_id, extract(epoch FROM recorded_at)::float8, ST_Y(location::geometry),
       ST_X(location::geometry), heading_deg, speed_mps
FROM positions
WHERE recorded_at >= %(f)s AND recorded_at < %(t)s {couriers}
ORDER BY courier_id, floor(extract(epoch FROM recorded_at)::float8 / %(s)s), recorded_at DESC
LIMIT %(n)s
"""


class WriterConnections:
    """A few long-lived psycopg connections for the batch writer, one per transaction in
    flight. The writer runs a handful of fixed statements hundreds of times a second, where
    an ORM pool's per-checkout work (greenlet hops, reset-on-return rollback) would cost more
    CPU than the statements themselves. A connection that breaks is dropped and replaced on
    the next use."""

    def __init__(self, conninfo: str, size: int) -> None:
        self.conninfo = conninfo
        self._free: list[psycopg.AsyncConnection] = []
        self._slots = asyncio.Semaphore(size)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[psycopg.AsyncConnection]:
        async with self._slots:
            conn = self._free.pop() if self._free else await psycopg.AsyncConnection.connect(
                self.conninfo, autocommit=True)
            healthy = False
            try:
                async with conn.transaction():
                    yield conn
                healthy = True
            finally:
                if healthy or not (conn.closed or conn.broken):
                    self._free.append(conn)
                else:
                    await conn.close()

    async def close(self) -> None:
        free, self._free = self._free, []
        for conn in free:
            await conn.close()


class PositionStore:
    def __init__(self, engine: AsyncEngine, config: FilterConfig, *,
                 writer: WriterConnections | None = None) -> None:
        """`engine` serves the occasional queries; `writer`, if given, the batch writer."""
        self.engine = engine
        self.config = config
        self.writer = writer

    @asynccontextmanager
    async def _writer_transaction(self) -> AsyncIterator[Any]:
        if self.writer is not None:
            async with self.writer.transaction() as conn:
                yield conn
        else:
            async with self.engine.begin() as conn:
                yield _DriverSqlAdapter(conn)

    async def commit_batch(self, submissions: Sequence[Submission], *,
                           now_s: float) -> list[IngestVerdict]:
        """Decides and stores every submission in one transaction; one decision each."""
        ids = sorted({courier_id for courier_id, _ in submissions})
        async with self._writer_transaction() as conn:
            cursors: dict[int, Cursor] = {}
            missing = ids
            for _ in range(3):
                locked = await (await conn.execute(_LOCK_CURSORS,
                                                   {"ids": _id_array(missing)})).fetchall()
                for courier_id, last_seq, ts_s, lat, lon in locked:
                    last = None if ts_s is None else Fix(lat=lat, lon=lon, ts_s=ts_s)
                    cursors[courier_id] = Cursor(courier_id, last_seq, last)
                missing = [i for i in ids if i not in cursors]
                if not missing:
                    break
            else:
                raise RuntimeError(f"tracking cursors not lockable: {missing}")
            stored = await self._stored_below_marks(conn, submissions, cursors)
            decisions: list[IngestVerdict] = []
            rows: list[dict[str, Any]] = []
            for courier_id, fixes in submissions:
                known = stored.setdefault(courier_id, set())
                decision = decide(cursors[courier_id], fixes, config=self.config, now_s=now_s,
                                  stored_below_mark=known)
                known.update(f.seq for f in fixes if f.seq is not None)
                cursors[courier_id] = decision.cursor  # type: ignore[assignment]
                decisions.append(decision)
                rows.extend({"c": courier_id, "t": f.ts_s, "s": f.seq, "lo": f.lon, "la": f.lat,
                             "a": f.accuracy_m, "v": f.speed_mps, "h": f.heading_deg}
                            for f in decision.accepted)
            moved = []
            for courier_id in ids:
                cursor = cursors[courier_id]
                last = cursor.last_fix
                moved.append({"c": courier_id, "s": cursor.last_seq,
                              "t": last.ts_s if last else None, "la": last.lat if last else None,
                              "lo": last.lon if last else None})
            await conn.execute(_INSERT_POSITIONS_AND_MOVE_CURSORS, {
                "rows": orjson.dumps(rows).decode(), "cursors": orjson.dumps(moved).decode()})
        return decisions

    @staticmethod
    async def _stored_below_marks(conn: Any, submissions: Sequence[Submission],
                                  cursors: dict[int, Cursor]) -> dict[int, set[int]]:
        """Which seqs at or below each courier's mark are stored already (one query, and
        only when some batch reaches below its mark: re-sends and late points)."""
        pairs = [{"c": courier_id, "s": fix.seq} for courier_id, fixes in submissions
                 for fix in fixes
                 if fix.seq is not None and fix.seq <= cursors[courier_id].last_seq]
        stored: dict[int, set[int]] = {}
        if pairs:
            rows = await (await conn.execute(_STORED_SEQS, {
                "pairs": orjson.dumps(pairs).decode()})).fetchall()
            for courier_id, seq in rows:
                stored.setdefault(courier_id, set()).add(seq)
        return stored

    async def track(self, courier_id: int, *, start: datetime, end: datetime,
                    limit: int) -> list[tuple]:
        """Stored fixes in [start, end) as rows (seq, ts_s, lat, lon, acc, speed, heading)."""
        async with self.engine.connect() as conn:
            result = await conn.exec_driver_sql(
                _TRACK, {"c": courier_id, "f": start, "t": end, "n": limit})
            return [tuple(row) for row in result.all()]

    async def history(self, *, start: datetime, end: datetime, step_s: float, limit: int,
                      courier_ids: Sequence[int] | None = None) -> list[tuple]:
        """The fleet's stored fixes in [start, end), thinned to the last fix per courier every
        `step_s`, as rows (courier_id, ts_s, lat, lon, heading, speed) ordered by courier and
        time; at most `limit` rows."""
        sql = _HISTORY.format(couriers="AND courier_id = ANY(%(ids)s)" if courier_ids else "")
        params: dict[str, Any] = {"f": start, "t": end, "s": float(step_s), "n": limit}
        if courier_ids:
            params["ids"] = list(courier_ids)
        async with self.engine.connect() as conn:
            result = await conn.exec_driver_sql(sql, params)
            return [tuple(row) for row in result.all()]

    async def ensure_partitions(self, *, first_day: datetime, days: int) -> int:
        async with self.engine.begin() as conn:
            # Every worker runs this; the lock makes them take turns instead of racing to
            # create the same partition.
            await conn.exec_driver_sql("SELECT pg_advisory_xact_lock(%(k)s)",
                                       {"k": _PARTITION_LOCK_KEY})
            result = await conn.exec_driver_sql(
                "SELECT courier_ensure_position_partitions(%(d)s::date, %(n)s)",
                {"d": first_day.date(), "n": days})
            return int(result.scalar() or 0)


def track_geojson(courier_id: int, rows: Sequence[tuple]) -> dict:
    """A track as a GeoJSON FeatureCollection: one LineString plus one Point per fix."""
    coordinates = [[lon, lat] for _, _, lat, lon, *_ in rows]
    features: list[dict] = []
    if len(coordinates) >= 2:
        features.append({"type": "Feature", "geometry": {"type": "LineString",
                                                          "coordinates": coordinates},
                         "properties": {"courier_id": courier_id, "kind": "track"}})
    for seq, ts_s, lat, lon, acc, speed, heading in rows:
        features.append({"type": "Feature",
                         "geometry": {"type": "Point", "coordinates": [lon, lat]},
                         "properties": {"seq": seq, "ts": ts_s, "acc": acc, "speed": speed,
                                        "heading": heading}})
    return {"type": "FeatureCollection", "features": features,
            "properties": {"courier_id": courier_id, "points": len(rows)}}


class _DriverSqlAdapter:
    """Lets the writer's statements run on a SQLAlchemy connection (no `WriterConnections`)."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    async def execute(self, sql: str, params: dict) -> Any:
        result = await self.conn.exec_driver_sql(sql, params)
        return _Rows(result.all() if result.returns_rows else [])


class _Rows:
    def __init__(self, rows: list) -> None:
        self.rows = rows

    async def fetchall(self) -> list:
        return self.rows

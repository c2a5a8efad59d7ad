// Pure rules of the console (no DOM, no map): a courier's state from its orders and fix age,
// which orders are open, late or at risk, and the filters. Tested in state.test.ts.
import type { Order, Vehicle } from "./api";

export type CourierState = "idle" | "to_pickup" | "to_dropoff" | "break" | "stale";

export const COURIER_COLOURS: Record<CourierState, string> = {
  idle: "#2e7d32",
  to_pickup: "#1565c0",
  to_dropoff: "#6a1b9a",
  break: "#ef8f00",
  stale: "#8a8a8a",
};

export const OPEN_STATUSES = ["pending", "offered", "assigned", "at_pickup", "picked_up", "at_dropoff", "returning"];
export const TO_PICKUP = new Set(["assigned", "at_pickup", "returning"]);
export const TO_DROPOFF = new Set(["picked_up", "at_dropoff"]);

export const ORDER_COLOURS: Record<string, string> = {
  pending: "#d32f2f",
  offered: "#f57c00",
  assigned: "#1565c0",
  at_pickup: "#1565c0",
  picked_up: "#6a1b9a",
  at_dropoff: "#6a1b9a",
  returning: "#5d4037",
  late: "#b71c1c",
};

/** Seconds without a fix after which a courier counts as stale (the service's default). */
export const STALE_AFTER_S = 120;
/** An order is at risk when its ETA comes this close to the end of its window. */
export const AT_RISK_MARGIN_S = 300;
/** An order nobody took for this long is at risk too. */
export const UNASSIGNED_RISK_S = 600;

export interface CourierFacts {
  shiftState: string;
  ts: number | null;
  stale: boolean;
}

export function courierState(c: CourierFacts, orders: Iterable<Order>, nowS: number): CourierState {
  if (c.shiftState === "break") return "break";
  if (c.stale || c.ts === null || nowS - c.ts > STALE_AFTER_S) return "stale";
  let toPickup = false;
  for (const order of orders) {
    if (TO_DROPOFF.has(order.status)) return "to_dropoff";
    if (TO_PICKUP.has(order.status)) toPickup = true;
  }
  return toPickup ? "to_pickup" : "idle";
}

export type Lateness = "late" | "at_risk" | null;

function seconds(iso: string | null | undefined): number | null {
  if (!iso) return null;
  const value = Date.parse(iso);
  return Number.isNaN(value) ? null : value / 1000;
}

/** Late: the promised drop-off window has ended, or the ETA falls after it. At risk: the ETA
 * comes within `AT_RISK_MARGIN_S` of its end, or nobody took the order for `UNASSIGNED_RISK_S`. */
export function lateness(order: Order, nowS: number): Lateness {
  if (!OPEN_STATUSES.includes(order.status)) return null;
  const end = seconds(order.dropoff_window?.end);
  const eta = seconds(order.dropoff_eta);
  if (end !== null) {
    if (nowS > end || (eta !== null && eta > end)) return "late";
    if (eta !== null && eta > end - AT_RISK_MARGIN_S) return "at_risk";
    if (eta === null && nowS > end - AT_RISK_MARGIN_S) return "at_risk";
  }
  const pickupEnd = seconds(order.pickup_window?.end);
  const pickupEta = seconds(order.pickup_eta);
  if (pickupEnd !== null && TO_PICKUP.has(order.status) || (pickupEnd !== null && order.status === "pending")) {
    if (nowS > pickupEnd! || (pickupEta !== null && pickupEta > pickupEnd!)) return "late";
  }
  const created = seconds(order.created_at);
  if ((order.status === "pending" || order.status === "offered") && created !== null && nowS - created > UNASSIGNED_RISK_S) {
    return "at_risk";
  }
  return null;
}

export interface OrderFilter {
  statuses: Set<string>; // empty: every open status; may hold "late"
  vehicle: Vehicle | "";
  zoneId: number | null;
  query: string;
}

export function matchesQuery(order: Order, query: string): boolean {
  const q = query.trim().toLowerCase();
  if (!q) return true;
  return String(order.id) === q.replace(/^#/, "") || (order.external_id ?? "").toLowerCase().includes(q);
}

/** Ray casting on a GeoJSON polygon ring set ([lon, lat]); holes subtract. */
export function inPolygon(lon: number, lat: number, geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon): boolean {
  const polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
  for (const rings of polygons) {
    let inside = false;
    rings.forEach((ring, index) => {
      if (inRing(lon, lat, ring)) inside = index === 0 ? true : false;
    });
    if (inside) return true;
  }
  return false;
}

function inRing(x: number, y: number, ring: GeoJSON.Position[]): boolean {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > y) !== (yj > y) && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

export function orderVisible(
  order: Order, filter: OrderFilter, nowS: number,
  courierVehicle: (id: number) => Vehicle | undefined,
  zone: GeoJSON.Polygon | GeoJSON.MultiPolygon | null,
): boolean {
  if (!OPEN_STATUSES.includes(order.status)) return false;
  if (!matchesQuery(order, filter.query)) return false;
  if (filter.statuses.size) {
    const late = lateness(order, nowS) === "late";
    if (!filter.statuses.has(order.status) && !(late && filter.statuses.has("late"))) return false;
  }
  if (filter.vehicle) {
    if (order.courier_id === null || courierVehicle(order.courier_id) !== filter.vehicle) return false;
  }
  if (zone && !inPolygon(order.pickup.lon, order.pickup.lat, zone) && !inPolygon(order.dropoff.lon, order.dropoff.lat, zone)) {
    return false;
  }
  return true;
}

/** Linear interpolation of a replayed track at time `ts` (rows [ts, lat, lon, heading, speed]). */
export function positionAt(points: number[][], ts: number): { lat: number; lon: number; heading: number | null } | null {
  if (!points.length || ts < points[0][0]) return null;
  let lo = 0;
  let hi = points.length - 1;
  if (ts >= points[hi][0]) return { lat: points[hi][1], lon: points[hi][2], heading: points[hi][3] ?? null };
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (points[mid][0] <= ts) lo = mid;
    else hi = mid;
  }
  const [t0, lat0, lon0, h0] = points[lo];
  const [t1, lat1, lon1] = points[hi];
  const f = t1 > t0 ? (ts - t0) / (t1 - t0) : 0;
  return { lat: lat0 + (lat1 - lat0) * f, lon: lon0 + (lon1 - lon0) * f, heading: h0 ?? null };
}

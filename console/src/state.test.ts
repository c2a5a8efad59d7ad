import { describe, expect, it } from "vitest";
import type { Order } from "./api";
import { missingKeys, pickLang } from "./i18n";
import { courierState, inPolygon, lateness, matchesQuery, positionAt } from "./state";

const NOW = 1_800_000_000;
const iso = (s: number) => new Date(s * 1000).toISOString();

function order(over: Partial<Order> = {}): Order {
  return {
    id: 7, external_id: "EXT-42", status: "assigned", seller_id: 1, courier_id: 3,
    pickup: { lat: 41.3, lon: 69.2 }, dropoff: { lat: 41.31, lon: 69.25 },
    pickup_window: null, dropoff_window: null, pickup_eta: null, dropoff_eta: null,
    unservable_reason: null, created_at: iso(NOW - 60), updated_at: iso(NOW - 60), ...over,
  };
}

describe("courierState", () => {
  const fresh = { shiftState: "on", ts: NOW - 5, stale: false };
  it("follows the most advanced order", () => {
    expect(courierState(fresh, [], NOW)).toBe("idle");
    expect(courierState(fresh, [order()], NOW)).toBe("to_pickup");
    expect(courierState(fresh, [order(), order({ status: "picked_up" })], NOW)).toBe("to_dropoff");
  });
  it("puts breaks and silence first", () => {
    expect(courierState({ ...fresh, shiftState: "break" }, [order()], NOW)).toBe("break");
    expect(courierState({ ...fresh, ts: NOW - 600 }, [order()], NOW)).toBe("stale");
    expect(courierState({ ...fresh, ts: null }, [], NOW)).toBe("stale");
    expect(courierState({ ...fresh, stale: true }, [], NOW)).toBe("stale");
  });
});

describe("lateness", () => {
  it("is late past the window or with an ETA after it", () => {
    expect(lateness(order({ dropoff_window: { start: iso(NOW - 900), end: iso(NOW - 1) } }), NOW)).toBe("late");
    expect(lateness(order({ dropoff_window: { start: iso(NOW), end: iso(NOW + 900) }, dropoff_eta: iso(NOW + 1000) }), NOW)).toBe("late");
  });
  it("is at risk close to the end, or long unassigned", () => {
    expect(lateness(order({ dropoff_window: { start: iso(NOW), end: iso(NOW + 900) }, dropoff_eta: iso(NOW + 800) }), NOW)).toBe("at_risk");
    expect(lateness(order({ status: "pending", courier_id: null, created_at: iso(NOW - 3600) }), NOW)).toBe("at_risk");
    expect(lateness(order({ dropoff_window: { start: iso(NOW), end: iso(NOW + 3600) }, dropoff_eta: iso(NOW + 60) }), NOW)).toBe(null);
    expect(lateness(order({ status: "delivered", dropoff_window: { start: iso(0), end: iso(1) } }), NOW)).toBe(null);
  });
});

describe("search and zones", () => {
  it("finds by id or external id", () => {
    expect(matchesQuery(order(), "7")).toBe(true);
    expect(matchesQuery(order(), "#7")).toBe(true);
    expect(matchesQuery(order(), "ext-4")).toBe(true);
    expect(matchesQuery(order(), "8")).toBe(false);
  });
  it("tells points inside a polygon", () => {
    const square: GeoJSON.Polygon = { type: "Polygon", coordinates: [[[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]] };
    expect(inPolygon(0.5, 0.5, square)).toBe(true);
    expect(inPolygon(1.5, 0.5, square)).toBe(false);
  });
});

describe("replay and languages", () => {
  it("interpolates a track", () => {
    const points = [[0, 0, 0, 90, 1], [10, 1, 2, 90, 1]];
    expect(positionAt(points, -1)).toBe(null);
    expect(positionAt(points, 5)).toEqual({ lat: 0.5, lon: 1, heading: 90 });
    expect(positionAt(points, 20)).toEqual({ lat: 1, lon: 2, heading: 90 });
  });
  it("has every text in every language and picks the browser's", () => {
    expect(missingKeys()).toEqual({ en: [], ru: [], uz: [] });
    expect(pickLang(["de-DE", "ru-RU"])).toBe("ru");
    expect(pickLang(["fr"])).toBe("en");
  });
});

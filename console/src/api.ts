// The service's HTTP API: bearer token, the chosen language, and the error envelope
// `{"error": {"code", "message", "details"}}` turned into `ApiError` (message already in the
// language we asked for).
import { lang, t } from "./i18n";

export class ApiError extends Error {
  constructor(public status: number, public code: string, message: string, public details?: unknown) {
    super(message);
  }
}

let token: string | null = null;

export function setToken(value: string | null): void {
  token = value;
}

export function getToken(): string | null {
  return token;
}

export async function api<T = unknown>(path: string, init: RequestInit & { form?: Record<string, string>; json?: unknown } = {}): Promise<T> {
  const headers = new Headers(init.headers);
  headers.set("Accept-Language", lang());
  headers.set("Accept", "application/json");
  if (token) headers.set("Authorization", `Bearer ${token}`);
  let body = init.body;
  if (init.form) {
    body = new URLSearchParams(init.form);
  } else if (init.json !== undefined) {
    headers.set("Content-Type", "application/json");
    body = JSON.stringify(init.json);
  }
  let response: Response;
  try {
    response = await fetch(`/api/v1${path}`, { ...init, headers, body });
  } catch {
    throw new ApiError(0, "network", t("error.network"));
  }
  const text = await response.text();
  const data = text ? safeJson(text) : null;
  if (!response.ok) {
    const error = (data as { error?: { code: string; message: string; details?: unknown } } | null)?.error;
    throw new ApiError(response.status, error?.code ?? "http_" + response.status,
      error?.message ?? `${response.status} ${response.statusText}`, error?.details);
  }
  return data as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function wsUrl(path: string): string {
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${location.host}${path}`;
}

// --- shapes (see the README and /openapi.json) -------------------------------------------

export type Vehicle = "foot" | "bicycle" | "scooter" | "car";

export interface Place { lat: number; lon: number; address?: string | null }
export interface Window { start: string; end: string }

export interface Order {
  id: number;
  external_id: string | null;
  status: string;
  seller_id: number;
  courier_id: number | null;
  pickup: Place;
  dropoff: Place;
  pickup_window: Window | null;
  dropoff_window: Window | null;
  pickup_eta: string | null;
  dropoff_eta: string | null;
  unservable_reason: string | null;
  created_at: string;
  updated_at: string;
  events?: OrderEvent[] | null;
}

export interface OrderEvent {
  id?: number;
  type: string;
  from_status?: string | null;
  to_status?: string | null;
  courier_id?: number | null;
  at: string;
  details?: Record<string, unknown> | null;
}

export interface CourierPosition {
  id: number;
  lat: number | null;
  lon: number | null;
  ts: number | null;
  speed: number | null;
  heading: number | null;
  acc?: number | null;
  stale: boolean;
}

export interface SnapshotCourier extends CourierPosition {
  name: string;
  vehicle: Vehicle;
  shift_state: string;
  age_s: number | null;
}

export interface RouteStop { order_id: number; kind: "pickup" | "dropoff"; lat: number; lon: number; eta: string | null }
export interface CourierRoute { courier_id: number; stops: RouteStop[]; geometry: GeoJSON.LineString }

export interface CustodyEntry { seq: number; kind: string; at: string; courier_id: number | null; method: string }

export interface Zone { id: number; name: string; active: boolean; geometry: GeoJSON.Polygon | GeoJSON.MultiPolygon }

export type FeedMessage =
  | { type: "snapshot"; couriers: SnapshotCourier[]; orders: Order[]; server_time?: string; server_time_s?: number }
  | { type: "positions"; couriers: CourierPosition[] }
  | { type: "order"; order: Order }
  | { type: "courier"; courier: { id: number; name: string; vehicle: Vehicle; shift_state: string } }
  | { type: "order_event"; event: { order_id: number; type: string; at: string; courier_id: number | null; details: unknown } }
  | { type: "handoff_refused"; code: string; order_id: number | null; leg: string | null; courier_id: number | null; at: string; at_s: number }
  | { type: "geofence"; courier_id: number; order_id: number | null; zone_id: number | null; event: string; kind: string }
  | { type: "error"; code: string; message: string }
  | { type: "pong" | "subscribed" };

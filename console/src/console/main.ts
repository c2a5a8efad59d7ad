// The dispatcher console: sign-in, the live map of couriers and orders (/ws/dispatch), a side
// panel with couriers, orders, alerts and replay, and actions through the HTTP API.
import type { GeoJSONSource, Map as MapLibreMap, MapLayerMouseEvent } from "maplibre-gl";
import {
  api, ApiError, getToken, setToken, wsUrl,
  type CourierRoute, type CustodyEntry, type FeedMessage, type Order, type SnapshotCourier,
  type Vehicle, type Zone,
} from "../api";
import { clear, h, LiveSocket } from "../dom";
import { ago, apiMessage, clock, lang, LANG_NAMES, LANGS, onLangChange, pickLang, setLang, t, type Lang } from "../i18n";
import { baseStyle, createMap, drawImagesOnDemand, loadTileJson } from "../map";
import {
  COURIER_COLOURS, courierState, lateness, ORDER_COLOURS, OPEN_STATUSES, orderVisible, positionAt,
  STALE_AFTER_S, type CourierState, type OrderFilter,
} from "../state";
import "../style.css";

interface Courier {
  id: number;
  name: string;
  vehicle: Vehicle;
  shiftState: string;
  lat: number | null;
  lon: number | null;
  ts: number | null;
  heading: number | null;
  speed: number | null;
  stale: boolean;
}

interface Alert {
  key: string;
  at: number;
  text: string;
  kind: "late" | "at_risk" | "stale" | "refused" | "declined" | "offer_expired";
  orderId?: number | null;
  courierId?: number | null;
}

const VIEW_KEY = "courier.console.view";
const LANG_KEY = "courier.console.lang";
const TOKEN_KEY = "courier.console.token";
const DEFAULT_VIEW = { center: [69.279, 41.311] as [number, number], zoom: 12 };
const MAX_LIST_ROWS = 300;
const EVENT_ALERTS_KEPT = 200;
/** The couriers' layer is redrawn at most this often (positions arriving between are merged). */
const COURIER_UPDATE_MS = 100;
/** From this zoom on couriers are drawn as vehicle icons, below it as dots (or clusters). */
const ICON_ZOOM = 14;

// --- metrics the benchmark and tests read (performance marks, frame counts) -------------------
interface ConsoleMetrics {
  fixLatenciesMs: number[];
  frames: number;
  firstDataAt: number | null;
  ordersRenderedMs: number | null;
  couriers: number;
  orders: number;
  errors: string[];
}
const metrics: ConsoleMetrics = { fixLatenciesMs: [], frames: 0, firstDataAt: null, ordersRenderedMs: null, couriers: 0, orders: 0, errors: [] };
(window as unknown as { __console: ConsoleMetrics }).__console = metrics;
(function countFrames() {
  metrics.frames++;
  requestAnimationFrame(countFrames);
})();

// --- state -------------------------------------------------------------------------------------
const couriers = new Map<number, Courier>();
const orders = new Map<number, Order>();
const ordersByCourier = new Map<number, Set<number>>();
const eventAlerts: Alert[] = [];
let zones: Zone[] = [];
const filter: OrderFilter = { statuses: new Set(), vehicle: "", zoneId: null, query: "" };
let selectedCourier: number | null = null;
let selectedOrder: number | null = null;
let following = false;
let activeTab: "couriers" | "orders" | "alerts" | "replay" = "couriers";
let map: MapLibreMap | null = null;
let feed: LiveSocket | null = null;
let live = false;
let replay: Replay | null = null;
const nowS = () => Date.now() / 1000;

const root = document.getElementById("app")!;
setLang((localStorage.getItem(LANG_KEY) as Lang | null) ?? pickLang(navigator.languages ?? [navigator.language]));
onLangChange(() => localStorage.setItem(LANG_KEY, lang()));

function languagePicker(): HTMLSelectElement {
  const select = h<"select">("select.lang", {
    "aria-label": "Language", "data-testid": "language",
    onchange: (event: Event) => setLang((event.target as HTMLSelectElement).value as Lang),
  }, ...LANGS.map((code) => h("option", { value: code, selected: code === lang() }, LANG_NAMES[code])));
  return select;
}

// --- sign-in -----------------------------------------------------------------------------------
function showLogin(message = ""): void {
  const error = h("p.error", { role: "alert", "data-testid": "login-error" }, message);
  const user = h("input", { name: "username", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form.login", {
    onsubmit: async (event: Event) => {
      event.preventDefault();
      error.textContent = "";
      try {
        const body = await api<{ access_token: string }>("/auth/token", {
          method: "POST", form: { username: user.value, password: password.value },
        });
        setToken(body.access_token);
        sessionStorage.setItem(TOKEN_KEY, body.access_token);
        await start();
      } catch (exc) {
        error.textContent = (exc as Error).message;
      }
    },
  },
  h("h1", null, t("login.title")),
  h("label", null, t("login.user"), user),
  h("label", null, t("login.password"), password),
  h("button", { type: "submit" }, t("login.submit")),
  error,
  languagePicker());
  clear(root, form);
  user.focus();
}

onLangChange(() => {
  if (!map) showLogin();
});

async function boot(): Promise<void> {
  const saved = sessionStorage.getItem(TOKEN_KEY);
  if (!saved) return showLogin();
  setToken(saved);
  try {
    await start();
  } catch {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    showLogin();
  }
}

function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
  setToken(null);
  feed?.close();
  feed = null;
  map?.remove();
  map = null;
  couriers.clear();
  orders.clear();
  showLogin();
}

// --- layout ------------------------------------------------------------------------------------
const el = {
  status: h("span.live", { "data-testid": "live" }),
  counts: h("span.counts"),
  toast: h("div.toast", { role: "status", "data-testid": "toast" }),
  panel: h("div.panel-body"),
  detail: h("div.detail", { "data-testid": "detail" }),
  tabs: h("nav.tabs"),
  policy: h("select", { "data-testid": "policy" }) as HTMLSelectElement,
};

function toast(text: string, error = false): void {
  el.toast.textContent = text;
  el.toast.className = error ? "toast error show" : "toast show";
  window.clearTimeout((toast as unknown as { timer?: number }).timer);
  (toast as unknown as { timer?: number }).timer = window.setTimeout(() => (el.toast.className = "toast"), 6000);
}

function fail(exc: unknown): void {
  toast(exc instanceof ApiError ? exc.message : String(exc), true);
}

async function start(): Promise<void> {
  const me = await api<{ role: string; name: string }>("/users/me");
  if (me.role !== "dispatcher" && me.role !== "admin") {
    sessionStorage.removeItem(TOKEN_KEY);
    setToken(null);
    return showLogin(t("login.role"));
  }
  const mapBox = h("div.map", { "data-testid": "map" });
  clear(root, h("div.console",
    null,
    topBar(me.name),
    h("main", null, mapBox, h("aside.side", null, el.tabs, el.panel, el.detail)),
    el.toast));
  renderTabs();
  const tiles = await loadTileJson();
  const saved = JSON.parse(localStorage.getItem(VIEW_KEY) ?? "null") as typeof DEFAULT_VIEW | null;
  const view = saved ?? (tiles?.center ? { center: [tiles.center[0], tiles.center[1]] as [number, number], zoom: tiles.center[2] } : DEFAULT_VIEW);
  map = createMap(mapBox, baseStyle(tiles), view);
  (window as unknown as { __consoleMap: MapLibreMap }).__consoleMap = map;
  drawImagesOnDemand(map);
  map.on("moveend", () => {
    if (!map) return;
    const c = map.getCenter();
    localStorage.setItem(VIEW_KEY, JSON.stringify({ center: [c.lng, c.lat], zoom: map.getZoom() }));
  });
  map.on("dragstart", () => {
    if (following) {
      following = false;
      renderDetail();
    }
  });
  map.on("error", (event: unknown) => {
    const message = (event as { error?: Error }).error?.message ?? "map error";
    if (!/tiles?\//.test(message)) metrics.errors.push(message);
  });
  await new Promise<void>((resolve) => map!.on("load", () => resolve()));
  addLayers(map);
  loadZones();
  loadPolicy();
  connectFeed();
  routeFromPath();
  window.setInterval(() => {
    renderPanel();
    renderCounts();
    scheduleCouriers();
  }, 1000);
}

function topBar(userName: string): HTMLElement {
  const search = h("input.search", {
    type: "search", placeholder: t("search"), "data-testid": "search",
    oninput: (event: Event) => {
      filter.query = (event.target as HTMLInputElement).value;
      scheduleOrders();
      renderPanel();
    },
    onkeydown: (event: KeyboardEvent) => {
      if (event.key !== "Enter") return;
      const match = [...orders.values()].find((o) => orderVisible(o, filter, nowS(), vehicleOf, null));
      if (match) selectOrder(match.id, true);
    },
  });
  const statuses = [...OPEN_STATUSES.filter((s) => s !== "returning" && s !== "at_pickup" && s !== "at_dropoff"), "late"];
  const statusBox = h("div.statuses", { "data-testid": "status-filter" }, ...statuses.map((status) => h("label.chip", null,
    h("input", {
      type: "checkbox", value: status, checked: filter.statuses.has(status),
      onchange: (event: Event) => {
        const box = event.target as HTMLInputElement;
        if (box.checked) filter.statuses.add(status);
        else filter.statuses.delete(status);
        scheduleOrders();
        renderPanel();
      },
    }), t(`status.${status}`))));
  const vehicle = h("select", {
    "data-testid": "vehicle-filter", "aria-label": t("filter.vehicle"),
    onchange: (event: Event) => {
      filter.vehicle = (event.target as HTMLSelectElement).value as Vehicle | "";
      scheduleOrders();
      scheduleCouriers();
      renderPanel();
    },
  }, h("option", { value: "" }, `${t("filter.vehicle")}: ${t("filter.all")}`),
  ...(["foot", "bicycle", "scooter", "car"] as Vehicle[]).map((v) => h("option", { value: v, selected: filter.vehicle === v }, t(`vehicle.${v}`))));
  const zone = h<"select">("select#zone-filter", {
    "data-testid": "zone-filter", "aria-label": t("filter.zone"),
    onchange: (event: Event) => {
      const value = (event.target as HTMLSelectElement).value;
      filter.zoneId = value ? Number(value) : null;
      scheduleOrders();
      renderPanel();
    },
  });
  fillZones(zone);
  const policy = el.policy;
  policy.onchange = async () => {
    try {
      await api("/dispatch/settings", { method: "PUT", json: { policy: policy.value } });
      toast(t("order.done"));
    } catch (exc) {
      fail(exc);
      loadPolicy();
    }
  };
  return h("header.top", null,
    h("strong.brand", null, t("app.title")),
    search, statusBox, vehicle, zone,
    h("span.spacer"),
    h("label.policy", null, t("dispatch.policy"), policy),
    h("button", {
      "data-testid": "run-dispatch",
      onclick: async () => {
        try {
          const summary = await api<Record<string, unknown>>("/dispatch/run", { method: "POST", json: {} });
          const count = (key: string) => (Array.isArray(summary[key]) ? (summary[key] as unknown[]).length : Number(summary[key] ?? 0));
          toast(t("dispatch.ran", { offers: count("offers"), unservable: count("unservable") }));
        } catch (exc) {
          fail(exc);
        }
      },
    }, t("dispatch.run")),
    el.status, el.counts,
    languagePicker(),
    h("span.user", null, userName),
    h("button.link", { onclick: signOut, "data-testid": "sign-out" }, t("logout")));
}

function fillZones(select: HTMLSelectElement): void {
  clear(select, h("option", { value: "" }, `${t("filter.zone")}: ${t("filter.all")}`),
    ...zones.map((z) => h("option", { value: String(z.id), selected: filter.zoneId === z.id }, z.name)));
}

async function loadZones(): Promise<void> {
  try {
    zones = (await api<{ items: Zone[] }>("/zones")).items;
    const select = document.getElementById("zone-filter") as HTMLSelectElement | null;
    if (select) fillZones(select);
  } catch (exc) {
    fail(exc);
  }
}

async function loadPolicy(): Promise<void> {
  try {
    const settings = await api<{ policy: string }>("/dispatch/settings");
    clear(el.policy, ...["batch", "nearest", "cascade"].map((p) => h("option", { value: p, selected: p === settings.policy }, p)));
  } catch (exc) {
    fail(exc);
  }
}

onLangChange(() => {
  if (!map || !getToken()) return;
  // Rebuild the chrome in the new language; the map and its data stay.
  const header = root.querySelector("header.top");
  const name = root.querySelector(".user")?.textContent ?? "";
  header?.replaceWith(topBar(name));
  loadPolicy();
  renderTabs();
  renderPanel();
  renderDetail();
  renderCounts();
});

// --- the live feed -----------------------------------------------------------------------------
function connectFeed(): void {
  feed = new LiveSocket(() => wsUrl(`/ws/dispatch?token=${encodeURIComponent(getToken() ?? "")}`), {
    open: () => setLive(true),
    drop: (code) => {
      setLive(false);
      if (code === 4401) {
        signOut();
        return false;
      }
      return true;
    },
    message: (data) => onFeed(data as FeedMessage),
  });
}

function setLive(value: boolean): void {
  live = value;
  el.status.textContent = live ? `● ${t("live.connected")}` : `○ ${t("live.reconnecting")}`;
  el.status.className = live ? "live on" : "live off";
}

function courierFrom(c: SnapshotCourier): Courier {
  return {
    id: c.id, name: c.name, vehicle: c.vehicle, shiftState: c.shift_state, lat: c.lat, lon: c.lon,
    ts: c.ts, heading: c.heading, speed: c.speed, stale: c.stale,
  };
}

function indexOrder(order: Order): void {
  const previous = orders.get(order.id);
  if (previous?.courier_id != null) ordersByCourier.get(previous.courier_id)?.delete(order.id);
  if (OPEN_STATUSES.includes(order.status)) {
    orders.set(order.id, order);
    if (order.courier_id != null) {
      if (!ordersByCourier.has(order.courier_id)) ordersByCourier.set(order.courier_id, new Set());
      ordersByCourier.get(order.courier_id)!.add(order.id);
    }
  } else {
    orders.delete(order.id);
  }
}

const pendingFixTs: number[] = [];

function onFeed(message: FeedMessage): void {
  switch (message.type) {
    case "snapshot": {
      couriers.clear();
      for (const c of message.couriers) couriers.set(c.id, courierFrom(c));
      orders.clear();
      ordersByCourier.clear();
      for (const o of message.orders) indexOrder(o);
      metrics.firstDataAt ??= performance.now();
      performance.mark("console-snapshot");
      scheduleCouriers();
      scheduleOrders();
      renderPanel();
      renderCounts();
      break;
    }
    case "positions": {
      for (const p of message.couriers) {
        const known = couriers.get(p.id);
        if (known) {
          Object.assign(known, { lat: p.lat, lon: p.lon, ts: p.ts, heading: p.heading, speed: p.speed, stale: p.stale });
        } else {
          couriers.set(p.id, { id: p.id, name: `#${p.id}`, vehicle: "bicycle", shiftState: "on", lat: p.lat, lon: p.lon, ts: p.ts, heading: p.heading, speed: p.speed, stale: p.stale });
        }
        if (p.ts !== null && !p.stale && pendingFixTs.length < 20000) pendingFixTs.push(p.ts);
      }
      scheduleCouriers();
      if (following && selectedCourier !== null) follow();
      break;
    }
    case "order": {
      indexOrder(message.order);
      scheduleOrders();
      scheduleCouriers();
      if (selectedOrder === message.order.id) renderDetail();
      break;
    }
    case "courier": {
      const c = message.courier;
      if (c.shift_state === "off") {
        couriers.delete(c.id);
      } else {
        const known = couriers.get(c.id);
        if (known) Object.assign(known, { name: c.name, vehicle: c.vehicle, shiftState: c.shift_state });
        else couriers.set(c.id, { id: c.id, name: c.name, vehicle: c.vehicle, shiftState: c.shift_state, lat: null, lon: null, ts: null, heading: null, speed: null, stale: true });
      }
      scheduleCouriers();
      break;
    }
    case "order_event": {
      const e = message.event;
      const kind = e.type === "declined" ? "declined" : "offer_expired";
      pushAlert({ key: `${kind}-${e.order_id}-${e.at}`, at: Date.parse(e.at) / 1000, kind, orderId: e.order_id, courierId: e.courier_id, text: "" });
      break;
    }
    case "handoff_refused": {
      pushAlert({ key: `refused-${message.courier_id}-${message.at}`, at: Date.parse(message.at) / 1000, kind: "refused", orderId: message.order_id, courierId: message.courier_id, text: message.code });
      break;
    }
    case "error": {
      toast(apiMessage(message.code, message.message), true);
      break;
    }
    default:
      break;
  }
}

function pushAlert(alert: Alert): void {
  eventAlerts.unshift(alert);
  eventAlerts.length = Math.min(eventAlerts.length, EVENT_ALERTS_KEPT);
  renderTabs();
  if (activeTab === "alerts") renderPanel();
}

// --- map layers --------------------------------------------------------------------------------
const EMPTY: GeoJSON.FeatureCollection = { type: "FeatureCollection", features: [] };

function addLayers(m: MapLibreMap): void {
  m.addSource("orders", { type: "geojson", data: EMPTY });
  m.addSource("route", { type: "geojson", data: EMPTY });
  m.addSource("track", { type: "geojson", data: EMPTY });
  m.addSource("replay", { type: "geojson", data: EMPTY });
  m.addSource("couriers", { type: "geojson", data: EMPTY, cluster: true, clusterMaxZoom: 12, clusterRadius: 40 });
  m.addLayer({
    id: "order-lines", type: "line", source: "orders", filter: ["==", ["geometry-type"], "LineString"],
    paint: { "line-color": ["get", "colour"], "line-width": ["case", ["get", "selected"], 4, 1.5], "line-opacity": 0.7, "line-dasharray": [2, 2] },
  });
  m.addLayer({
    id: "track", type: "line", source: "track",
    paint: { "line-color": "#ff6f00", "line-width": 3, "line-opacity": 0.8 },
  });
  m.addLayer({
    id: "route", type: "line", source: "route", filter: ["==", ["geometry-type"], "LineString"],
    layout: { "line-cap": "round", "line-join": "round" },
    paint: { "line-color": "#0d47a1", "line-width": 5, "line-opacity": 0.75 },
  });
  m.addLayer({
    id: "order-points", type: "circle", source: "orders", filter: ["==", ["geometry-type"], "Point"],
    paint: {
      "circle-radius": ["case", ["get", "selected"], 9, ["==", ["get", "kind"], "pickup"], 6, 5],
      "circle-color": ["case", ["==", ["get", "kind"], "pickup"], ["get", "colour"], "#ffffff"],
      "circle-stroke-color": ["get", "colour"],
      "circle-stroke-width": ["case", ["get", "selected"], 4, 2.5],
    },
  });
  m.addLayer({
    id: "route-stops", type: "symbol", source: "route", filter: ["==", ["geometry-type"], "Point"],
    layout: { "icon-image": ["get", "icon"], "icon-anchor": "bottom", "icon-allow-overlap": true },
  });
  m.addLayer({
    id: "clusters", type: "circle", source: "couriers", filter: ["has", "point_count"],
    paint: {
      "circle-color": "#37474f", "circle-opacity": 0.85, "circle-stroke-color": "#fff", "circle-stroke-width": 2,
      "circle-radius": ["step", ["get", "point_count"], 14, 10, 18, 100, 24, 1000, 30],
    },
  });
  m.addLayer({
    id: "cluster-counts", type: "symbol", source: "couriers", filter: ["has", "point_count"],
    layout: { "icon-image": ["concat", "count-", ["get", "point_count_abbreviated"]], "icon-allow-overlap": true },
  });
  // Below street zoom a courier is a dot in its state's colour (cheap to draw by the
  // thousand); from zoom 14 it is its vehicle's icon turned to its heading.
  m.addLayer({
    id: "courier-dots", type: "circle", source: "couriers", maxzoom: ICON_ZOOM,
    filter: ["!", ["has", "point_count"]],
    paint: {
      "circle-color": ["get", "colour"], "circle-radius": ["case", ["get", "selected"], 8, 5],
      "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5,
    },
  });
  m.addLayer({
    id: "couriers", type: "symbol", source: "couriers", minzoom: ICON_ZOOM,
    filter: ["!", ["has", "point_count"]],
    layout: {
      "icon-image": ["get", "icon"], "icon-rotate": ["coalesce", ["get", "heading"], 0],
      "icon-rotation-alignment": "map", "icon-allow-overlap": true, "icon-ignore-placement": true,
      "icon-size": ["case", ["get", "selected"], 1.35, 1],
    },
  });
  m.addLayer({
    id: "replay", type: "symbol", source: "replay",
    layout: {
      "icon-image": ["get", "icon"], "icon-rotate": ["coalesce", ["get", "heading"], 0],
      "icon-rotation-alignment": "map", "icon-allow-overlap": true, "icon-ignore-placement": true,
    },
  });
  for (const layer of ["couriers", "courier-dots"]) {
    m.on("click", layer, (event: MapLayerMouseEvent) => {
      const id = event.features?.[0]?.properties?.id;
      if (id !== undefined) selectCourier(Number(id));
    });
  }
  m.on("click", "order-points", (event: MapLayerMouseEvent) => {
    const id = event.features?.[0]?.properties?.order_id;
    if (id !== undefined) selectOrder(Number(id));
  });
  m.on("click", "clusters", async (event: MapLayerMouseEvent) => {
    const feature = event.features?.[0];
    if (!feature) return;
    const source = m.getSource("couriers") as GeoJSONSource;
    const zoom = await source.getClusterExpansionZoom(feature.properties!.cluster_id as number);
    m.easeTo({ center: (feature.geometry as GeoJSON.Point).coordinates as [number, number], zoom });
  });
  for (const layer of ["couriers", "courier-dots", "order-points", "clusters"]) {
    m.on("mouseenter", layer, () => (m.getCanvas().style.cursor = "pointer"));
    m.on("mouseleave", layer, () => (m.getCanvas().style.cursor = ""));
  }
}

function vehicleOf(id: number): Vehicle | undefined {
  return couriers.get(id)?.vehicle;
}

function stateOf(c: Courier, now = nowS()): CourierState {
  const ids = ordersByCourier.get(c.id);
  const mine = ids ? [...ids].map((id) => orders.get(id)!).filter(Boolean) : [];
  return courierState({ shiftState: c.shiftState, ts: c.ts, stale: c.stale }, mine, now);
}

function iconOf(state: CourierState, vehicle: string): string {
  return `courier-${COURIER_COLOURS[state].slice(1)}-${vehicle}`;
}

// Coalesced source updates: one setData in flight per source, the next one waits for it and
// for `minIntervalMs` since the last (a fleet reporting every second stays a few updates a
// second, whatever the number of couriers).
class SourceWriter {
  private scheduled = false;
  private busy = false;
  private again = false;
  private lastWrite = 0;

  constructor(private id: string, private build: () => GeoJSON.FeatureCollection,
    private onShown?: (batch: number[]) => void, private batch?: () => number[],
    private minIntervalMs = 0) {}

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    const wait = this.lastWrite + this.minIntervalMs - performance.now();
    const run = () => requestAnimationFrame(() => {
      this.scheduled = false;
      void this.write();
    });
    if (wait > 0) window.setTimeout(run, wait);
    else run();
  }

  private async write(): Promise<void> {
    if (!map) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    this.lastWrite = performance.now();
    const fixes = this.batch?.() ?? [];
    const source = map.getSource(this.id) as GeoJSONSource | undefined;
    try {
      await source?.setData(this.build());
      if (this.onShown && fixes.length) afterRender(this.id, () => this.onShown!(fixes));
    } catch (error) {
      console.warn(`source ${this.id} not updated`, error);
    } finally {
      this.busy = false;
      if (this.again) {
        this.again = false;
        this.schedule();
      }
    }
  }
}

/** Calls `done` at the first frame drawn once the source's tiles hold the new data. */
function afterRender(sourceId: string, done: () => void): void {
  if (!map) return;
  const m = map;
  const started = performance.now();
  const check = () => {
    if (m.isSourceLoaded(sourceId) || performance.now() - started > 2000) {
      m.off("render", check);
      done();
    }
  };
  m.on("render", check);
  m.triggerRepaint();
}

const courierWriter = new SourceWriter("couriers", buildCouriers, (batch) => {
  const shownMs = performance.timeOrigin + performance.now();
  performance.mark("couriers-rendered");
  for (const ts of batch) metrics.fixLatenciesMs.push(shownMs - ts * 1000);
  if (metrics.fixLatenciesMs.length > 200000) metrics.fixLatenciesMs.splice(0, 100000);
}, () => pendingFixTs.splice(0, pendingFixTs.length), COURIER_UPDATE_MS);
let ordersShown = false;
const orderWriter = new SourceWriter("orders", buildOrders, () => {
  // The first frame that shows the open orders: the console's "first paint" with data.
  ordersShown = true;
  performance.mark("orders-rendered");
  metrics.ordersRenderedMs = performance.now();
}, () => (ordersShown || orders.size === 0 ? [] : [1]));

function scheduleCouriers(): void {
  if (!replay) courierWriter.schedule();
}

function scheduleOrders(): void {
  orderWriter.schedule();
}

function buildCouriers(): GeoJSON.FeatureCollection {
  const now = nowS();
  const features: GeoJSON.Feature[] = [];
  for (const c of couriers.values()) {
    if (c.lat === null || c.lon === null) continue;
    if (filter.vehicle && c.vehicle !== filter.vehicle) continue;
    const state = stateOf(c, now);
    features.push({
      type: "Feature", id: c.id,
      geometry: { type: "Point", coordinates: [c.lon, c.lat] },
      properties: {
        id: c.id, icon: iconOf(state, c.vehicle), colour: COURIER_COLOURS[state], heading: c.heading ?? 0,
        state, selected: c.id === selectedCourier,
      },
    });
  }
  metrics.couriers = features.length;
  return { type: "FeatureCollection", features };
}

function orderColour(o: Order, now: number): string {
  return lateness(o, now) === "late" ? ORDER_COLOURS.late : ORDER_COLOURS[o.status] ?? "#455a64";
}

function buildOrders(): GeoJSON.FeatureCollection {
  const now = nowS();
  const zone = zones.find((z) => z.id === filter.zoneId)?.geometry ?? null;
  const features: GeoJSON.Feature[] = [];
  let shown = 0;
  for (const o of orders.values()) {
    if (!orderVisible(o, filter, now, vehicleOf, zone)) continue;
    shown++;
    const colour = orderColour(o, now);
    const selected = o.id === selectedOrder;
    const common = { order_id: o.id, colour, selected, status: o.status };
    const pickedUp = o.status === "picked_up" || o.status === "at_dropoff";
    if (!pickedUp) features.push({ type: "Feature", geometry: { type: "Point", coordinates: [o.pickup.lon, o.pickup.lat] }, properties: { ...common, kind: "pickup" } });
    features.push({ type: "Feature", geometry: { type: "Point", coordinates: [o.dropoff.lon, o.dropoff.lat] }, properties: { ...common, kind: "dropoff" } });
    features.push({ type: "Feature", geometry: { type: "LineString", coordinates: [[o.pickup.lon, o.pickup.lat], [o.dropoff.lon, o.dropoff.lat]] }, properties: common });
  }
  metrics.orders = shown;
  return { type: "FeatureCollection", features };
}

function renderCounts(): void {
  el.counts.textContent = `${t("count.couriers", { n: couriers.size })} · ${t("count.orders", { n: orders.size })}`;
}

// --- side panel --------------------------------------------------------------------------------
function computedAlerts(): Alert[] {
  const now = nowS();
  const out: Alert[] = [];
  for (const o of orders.values()) {
    const late = lateness(o, now);
    if (late) out.push({ key: `${late}-${o.id}`, at: now, kind: late, orderId: o.id, text: "" });
  }
  for (const c of couriers.values()) {
    if (c.shiftState === "on" && (c.stale || (c.ts !== null && now - c.ts > STALE_AFTER_S))) {
      out.push({ key: `stale-${c.id}`, at: c.ts ?? now, kind: "stale", courierId: c.id, text: "" });
    }
  }
  return out;
}

function alertText(a: Alert): string {
  const courier = a.courierId != null ? couriers.get(a.courierId)?.name ?? `#${a.courierId}` : "—";
  const id = a.orderId ?? "—";
  switch (a.kind) {
    case "late": return t("alert.late", { id });
    case "at_risk": return t("alert.at_risk", { id });
    case "stale": return t("alert.stale", { name: courier, age: ago(nowS() - a.at) });
    case "refused": return t("alert.refused", { id, reason: apiMessage(a.text, a.text) });
    case "declined": return t("alert.declined", { id, courier });
    case "offer_expired": return t("alert.offer_expired", { id, courier });
  }
}

function renderTabs(): void {
  const alertCount = eventAlerts.length + computedAlerts().length;
  clear(el.tabs, ...(["couriers", "orders", "alerts", "replay"] as const).map((tab) => h("button", {
    className: tab === activeTab ? "active" : "", "data-testid": `tab-${tab}`,
    onclick: () => {
      activeTab = tab;
      renderTabs();
      renderPanel();
    },
  }, t(`tab.${tab}`), tab === "alerts" && alertCount ? h("span.badge", null, alertCount) : null)));
}

let lastPanelKey = "";

function renderPanel(): void {
  if (activeTab === "replay") {
    if (lastPanelKey !== `replay-${lang()}`) {
      clear(el.panel, replayControls());
      lastPanelKey = `replay-${lang()}`;
    }
    return;
  }
  lastPanelKey = activeTab;
  const now = nowS();
  if (activeTab === "couriers") {
    const rows = [...couriers.values()]
      .filter((c) => !filter.vehicle || c.vehicle === filter.vehicle)
      .sort((a, b) => a.name.localeCompare(b.name)).slice(0, MAX_LIST_ROWS);
    clear(el.panel, h("ul.list", { "data-testid": "courier-list" }, ...rows.map((c) => {
      const state = stateOf(c, now);
      return h("li", {
        className: c.id === selectedCourier ? "selected" : "", "data-courier-id": c.id,
        onclick: () => selectCourier(c.id, true),
      }, h("span.dot", { style: `background:${COURIER_COLOURS[state]}` }), h("b", null, c.name),
      h("small", null, ` ${t(`vehicle.${c.vehicle}`)} · ${t(`state.${state}`)} · ${c.ts ? ago(now - c.ts) : t("courier.never")}`));
    })));
  } else if (activeTab === "orders") {
    const zone = zones.find((z) => z.id === filter.zoneId)?.geometry ?? null;
    const rows = [...orders.values()].filter((o) => orderVisible(o, filter, now, vehicleOf, zone))
      .sort((a, b) => b.id - a.id).slice(0, MAX_LIST_ROWS);
    clear(el.panel, h("ul.list", { "data-testid": "order-list" }, ...rows.map((o) => {
      const late = lateness(o, now);
      return h("li", {
        className: o.id === selectedOrder ? "selected" : "", "data-order-id": o.id,
        onclick: () => selectOrder(o.id, true),
      }, h("span.dot", { style: `background:${orderColour(o, now)}` }), h("b", null, `#${o.id}`),
      h("small", null, ` ${o.external_id ?? ""} · ${t(`status.${o.status}`)}${late ? ` · ${t(late === "late" ? "status.late" : "alert.at_risk", { id: "" }).trim()}` : ""}`));
    })));
  } else {
    const alerts = [...computedAlerts(), ...eventAlerts];
    clear(el.panel, alerts.length ? h("ul.list.alerts", { "data-testid": "alert-list" }, ...alerts.slice(0, MAX_LIST_ROWS).map((a) => h("li", {
      className: `alert-${a.kind}`, dataset: { kind: a.kind },
      onclick: () => {
        if (a.orderId != null && orders.has(a.orderId)) selectOrder(a.orderId, true);
        else if (a.courierId != null && couriers.has(a.courierId)) selectCourier(a.courierId, true);
      },
    }, alertText(a)))) : h("p.muted", null, t("alerts.none")));
    renderTabs();
  }
}

// --- selection ---------------------------------------------------------------------------------
function routeFromPath(): void {
  const match = location.pathname.match(/\/console\/(couriers|orders)\/(\d+)/);
  if (!match) return;
  if (match[1] === "couriers") selectCourier(Number(match[2]), true, false);
  else selectOrder(Number(match[2]), true, false);
}

window.addEventListener("popstate", () => {
  selectedCourier = selectedOrder = null;
  routeFromPath();
  renderDetail();
});

function selectCourier(id: number, fly = false, push = true): void {
  selectedCourier = id;
  following = false;
  if (push) history.pushState(null, "", `/console/couriers/${id}`);
  const c = couriers.get(id);
  if (fly && map && c?.lat != null && c.lon != null) map.easeTo({ center: [c.lon, c.lat], zoom: Math.max(map.getZoom(), 14) });
  scheduleCouriers();
  renderPanel();
  renderDetail();
  loadCourierExtras(id);
}

function selectOrder(id: number, fly = false, push = true): void {
  selectedOrder = id;
  if (push) history.pushState(null, "", `/console/orders/${id}`);
  const o = orders.get(id);
  if (fly && map && o) map.fitBounds([[Math.min(o.pickup.lon, o.dropoff.lon), Math.min(o.pickup.lat, o.dropoff.lat)], [Math.max(o.pickup.lon, o.dropoff.lon), Math.max(o.pickup.lat, o.dropoff.lat)]], { padding: 120, maxZoom: 15 });
  scheduleOrders();
  renderPanel();
  renderDetail();
}

function follow(): void {
  const c = selectedCourier !== null ? couriers.get(selectedCourier) : undefined;
  if (map && c?.lat != null && c.lon != null) map.easeTo({ center: [c.lon, c.lat], duration: 300 });
}

let courierRoute: CourierRoute | null = null;
let orderDetail: { order: Order; custody: CustodyEntry[] } | null = null;

async function loadCourierExtras(id: number): Promise<void> {
  courierRoute = null;
  try {
    const from = new Date(Date.now() - 30 * 60 * 1000).toISOString();
    const [route, track] = await Promise.all([
      api<CourierRoute>(`/couriers/${id}/route`),
      api<GeoJSON.FeatureCollection>(`/couriers/${id}/track?from=${encodeURIComponent(from)}`),
    ]);
    if (selectedCourier !== id || !map) return;
    courierRoute = route;
    const stops: GeoJSON.Feature[] = route.stops.map((s, index) => ({
      type: "Feature", geometry: { type: "Point", coordinates: [s.lon, s.lat] },
      properties: { icon: `pin-${s.kind === "pickup" ? "1565c0" : "6a1b9a"}-${index + 1}` },
    }));
    const line: GeoJSON.Feature[] = route.geometry?.coordinates?.length ? [{ type: "Feature", geometry: route.geometry, properties: {} }] : [];
    (map.getSource("route") as GeoJSONSource).setData({ type: "FeatureCollection", features: [...line, ...stops] });
    (map.getSource("track") as GeoJSONSource).setData({ type: "FeatureCollection", features: track.features.filter((f) => f.geometry.type === "LineString") });
    renderDetail();
  } catch (exc) {
    fail(exc);
  }
}

async function loadOrderExtras(id: number): Promise<void> {
  try {
    const [order, custody] = await Promise.all([
      api<Order>(`/orders/${id}`),
      api<{ entries: CustodyEntry[] }>(`/orders/${id}/custody`),
    ]);
    if (selectedOrder !== id) return;
    orderDetail = { order, custody: custody.entries };
    renderDetail(false);
  } catch (exc) {
    fail(exc);
  }
}

function clearSelection(): void {
  selectedCourier = selectedOrder = null;
  following = false;
  courierRoute = null;
  orderDetail = null;
  history.pushState(null, "", "/console/");
  if (map) {
    (map.getSource("route") as GeoJSONSource).setData(EMPTY);
    (map.getSource("track") as GeoJSONSource).setData(EMPTY);
  }
  scheduleCouriers();
  scheduleOrders();
  renderPanel();
  renderDetail();
}

function renderDetail(reload = true): void {
  const parts: HTMLElement[] = [];
  const now = nowS();
  if (selectedCourier !== null) {
    const c = couriers.get(selectedCourier);
    const state = c ? stateOf(c, now) : "stale";
    parts.push(h("section.card", { "data-testid": "courier-detail" },
      h("header", null, h("b", null, c?.name ?? `#${selectedCourier}`), " ",
        h("small", null, c ? `${t(`vehicle.${c.vehicle}`)} · ${t(`state.${state}`)} · ${c.ts ? t("courier.age", { age: ago(now - c.ts) }) : t("courier.never")}` : ""),
        h("button.link", { onclick: clearSelection, "aria-label": t("close") }, "×")),
      h("button", {
        "data-testid": "follow",
        onclick: () => {
          following = !following;
          if (following) follow();
          renderDetail(false);
        },
      }, following ? t("courier.unfollow") : t("courier.follow")),
      h("h4", null, t("courier.stops")),
      courierRoute?.stops.length
        ? h("ol.stops", { "data-testid": "stops" }, ...courierRoute.stops.map((s) => h("li", null,
          `${t(`stop.${s.kind}`)} · #${s.order_id} · ${t("order.eta")} `, h("b.eta", null, clock(s.eta)))))
        : h("p.muted", null, courierRoute ? t("courier.no_stops") : "…")));
  }
  if (selectedOrder !== null) {
    const o = orderDetail?.order.id === selectedOrder ? { ...orderDetail.order, ...orders.get(selectedOrder) } : orders.get(selectedOrder);
    if (reload) void loadOrderExtras(selectedOrder);
    if (o) parts.push(orderCard(o as Order, now));
  }
  clear(el.detail, ...parts);
}

function orderCard(o: Order, now: number): HTMLElement {
  const late = lateness(o, now);
  const courierName = o.courier_id != null ? couriers.get(o.courier_id)?.name ?? `#${o.courier_id}` : "—";
  const act = async (path: string, json: unknown = {}) => {
    try {
      const updated = await api<Order>(path, { method: "POST", json });
      indexOrder(updated);
      scheduleOrders();
      scheduleCouriers();
      toast(t("order.done"));
      void loadOrderExtras(o.id);
    } catch (exc) {
      fail(exc);
    }
  };
  const canAssign = ["pending", "offered", "assigned"].includes(o.status);
  const timeline = orderDetail?.order.id === o.id ? [
    ...(orderDetail.order.events ?? []).map((e) => ({ at: e.at, text: `${e.type}${e.to_status ? ` → ${t(`status.${e.to_status}`)}` : ""}` })),
    ...orderDetail.custody.map((c) => ({ at: c.at, text: `${t("order.custody")}: ${c.kind} (${c.method})` })),
  ].sort((a, b) => Date.parse(a.at) - Date.parse(b.at)) : [];
  return h("section.card", { "data-testid": "order-detail" },
    h("header", null, h("b", null, `#${o.id}`), " ", h("small", null, `${o.external_id ?? ""} · ${t(`status.${o.status}`)}${late ? ` · ${t("status.late")}` : ""}`),
      h("button.link", { onclick: clearSelection, "aria-label": t("close") }, "×")),
    h("p", null, `${t("order.courier")}: ${courierName}`),
    h("p", null, `${t("order.eta")}: ${clock(o.pickup_eta)} → ${clock(o.dropoff_eta)}`),
    o.dropoff_window ? h("p", null, `${t("order.window")}: ${clock(o.dropoff_window.start)}–${clock(o.dropoff_window.end)}`) : null,
    h("div.actions", null,
      canAssign ? h("button", {
        "data-testid": "assign",
        onclick: () => (selectedCourier === null ? toast(t("order.pick_courier"), true) : act(`/orders/${o.id}/assign`, { courier_id: selectedCourier })),
      }, o.courier_id ? t("order.reassign") : t("order.assign")) : null,
      o.courier_id ? h("button", { "data-testid": "unassign", onclick: () => act(`/orders/${o.id}/unassign`) }, t("order.unassign")) : null,
      h("button.danger", {
        "data-testid": "cancel",
        onclick: () => {
          if (confirm(t("order.confirm_cancel", { id: o.id }))) void act(`/orders/${o.id}/cancel`, {});
        },
      }, t("order.cancel"))),
    h("h4", null, t("order.timeline")),
    h("ol.timeline", { "data-testid": "timeline" }, ...timeline.map((e) => h("li", null, h("time", null, clock(e.at)), " ", e.text))));
}

// --- replay ------------------------------------------------------------------------------------
interface Replay {
  couriers: { id: number; points: number[][] }[];
  from: number;
  to: number;
  t: number;
  speed: number;
  playing: boolean;
  timer?: number;
}

function replayControls(): HTMLElement {
  const status = h("p.muted", { "data-testid": "replay-status" });
  const slider = h("input", { type: "range", min: "0", max: "1000", value: "0", "data-testid": "replay-slider", disabled: !replay });
  const time = h("b", { "data-testid": "replay-time" }, replay ? clock(replay.t) : "—");
  const speed = h("select", { "aria-label": t("replay.speed") }, ...[1, 10, 60, 300].map((s) => h("option", { value: String(s), selected: replay?.speed === s }, `×${s}`)));
  const play = h("button", { disabled: !replay }, replay?.playing ? t("replay.pause") : t("replay.play"));
  const sync = () => {
    if (!replay) return;
    slider.value = String(Math.round(((replay.t - replay.from) / Math.max(1, replay.to - replay.from)) * 1000));
    time.textContent = clock(replay.t);
    drawReplay();
  };
  slider.oninput = () => {
    if (!replay) return;
    replay.t = replay.from + (Number(slider.value) / 1000) * (replay.to - replay.from);
    sync();
  };
  speed.onchange = () => replay && (replay.speed = Number(speed.value));
  play.onclick = () => {
    if (!replay) return;
    replay.playing = !replay.playing;
    play.textContent = replay.playing ? t("replay.pause") : t("replay.play");
    window.clearInterval(replay.timer);
    if (replay.playing) {
      let last = performance.now();
      replay.timer = window.setInterval(() => {
        if (!replay) return;
        const now = performance.now();
        replay.t = Math.min(replay.to, replay.t + ((now - last) / 1000) * replay.speed);
        last = now;
        if (replay.t >= replay.to) replay.playing = false;
        sync();
      }, 100);
    }
  };
  const load = async (kind: "courier" | "fleet") => {
    const to = nowS();
    try {
      let loaded: Replay;
      if (kind === "courier") {
        if (selectedCourier === null) return (status.textContent = t("replay.select_courier"));
        const dayStart = new Date();
        dayStart.setHours(0, 0, 0, 0);
        const body = await api<{ couriers: { id: number; points: number[][] }[]; truncated: boolean }>(
          `/tracking/history?from=${dayStart.getTime() / 1000}&to=${to}&step_s=2&courier_id=${selectedCourier}`);
        loaded = { couriers: body.couriers, from: dayStart.getTime() / 1000, to, t: dayStart.getTime() / 1000, speed: 60, playing: false };
        status.textContent = body.truncated ? t("replay.truncated") : "";
      } else {
        const body = await api<{ couriers: { id: number; points: number[][] }[]; truncated: boolean }>(
          `/tracking/history?from=${to - 3600}&to=${to}&step_s=5`);
        loaded = { couriers: body.couriers, from: to - 3600, to, t: to - 3600, speed: 60, playing: false };
        status.textContent = body.truncated ? t("replay.truncated") : "";
      }
      if (!loaded.couriers.length) {
        status.textContent = t("replay.empty");
        return;
      }
      loaded.from = Math.min(...loaded.couriers.map((c) => c.points[0][0]));
      loaded.t = loaded.from;
      stopReplay();
      replay = loaded;
      speed.value = String(replay.speed);
      map?.setLayoutProperty("couriers", "visibility", "none");
      map?.setLayoutProperty("courier-dots", "visibility", "none");
      map?.setLayoutProperty("clusters", "visibility", "none");
      map?.setLayoutProperty("cluster-counts", "visibility", "none");
      slider.disabled = play.disabled = false;
      sync();
    } catch (exc) {
      fail(exc);
    }
  };
  return h("div.replay", { "data-testid": "replay" },
    h("div.actions", null,
      h("button", { onclick: () => load("courier") }, t("replay.courier")),
      h("button", { onclick: () => load("fleet") }, t("replay.fleet"))),
    h("div.actions", null, play, speed, time),
    slider, status,
    h("button.link", {
      onclick: () => {
        stopReplay();
        lastPanelKey = "";
        renderPanel();
      },
    }, t("replay.stop")));
}

function drawReplay(): void {
  if (!map || !replay) return;
  const features: GeoJSON.Feature[] = [];
  for (const c of replay.couriers) {
    const at = positionAt(c.points, replay.t);
    if (!at) continue;
    const vehicle = couriers.get(c.id)?.vehicle ?? "bicycle";
    features.push({ type: "Feature", geometry: { type: "Point", coordinates: [at.lon, at.lat] }, properties: { icon: iconOf("idle", vehicle), heading: at.heading ?? 0 } });
  }
  (map.getSource("replay") as GeoJSONSource).setData({ type: "FeatureCollection", features });
}

function stopReplay(): void {
  if (replay) window.clearInterval(replay.timer);
  replay = null;
  if (!map) return;
  (map.getSource("replay") as GeoJSONSource).setData(EMPTY);
  for (const layer of ["couriers", "courier-dots", "clusters", "cluster-counts"]) map.setLayoutProperty(layer, "visibility", "visible");
  scheduleCouriers();
}

window.addEventListener("error", (event) => metrics.errors.push(String(event.message)));
void boot();

// The buyer's tracking page (/t/{token}): no login; status, ETA, the drop-off on the map and
// the courier only when the API gives a position; live over /ws/track/{token}, reconnecting
// after a drop; an expired or revoked link says so plainly.
import { GeoJSONSource, LngLatBounds, type Map as MapLibreMap } from "maplibre-gl";
import { wsUrl } from "../api";
import { clear, h, LiveSocket } from "../dom";
import { clock, lang, LANG_NAMES, LANGS, onLangChange, pickLang, setLang, t, type Lang } from "../i18n";
import { baseStyle, createMap, drawImagesOnDemand, loadTileJson } from "../map";
import "../style.css";

interface TrackBody {
  order: {
    id: number;
    external_id: string | null;
    status: string;
    pickup_eta: string | null;
    dropoff_eta: string | null;
    dropoff: { lat: number; lon: number; address: string | null };
    updated_at: string;
  };
  courier: null | { lat: number; lon: number; heading: number | null; speed: number | null; ts: number; vehicle: string };
  expires_at: string | number;
}

const LANG_KEY = "courier.buyer.lang";
const token = decodeURIComponent(location.pathname.split("/t/")[1]?.split("/")[0] ?? "");
const root = document.getElementById("app")!;
const metrics = { errors: [] as string[], updates: 0 };
(window as unknown as { __buyer: typeof metrics }).__buyer = metrics;
window.addEventListener("error", (event) => metrics.errors.push(String(event.message)));

setLang((localStorage.getItem(LANG_KEY) as Lang | null) ?? pickLang(navigator.languages ?? [navigator.language]));

let body: TrackBody | null = null;
let dead: { code: string; message: string } | null = null;
let connected = true;
let map: MapLibreMap | null = null;
let socket: LiveSocket | null = null;
let fitted = false;

const view = {
  banner: h("div.banner", { hidden: true, "data-testid": "banner" }),
  info: h("section.info", { "data-testid": "info" }),
  mapBox: h("div.bmap", { "data-testid": "buyer-map" }),
  title: h("h1"),
};

function layout(): void {
  const picker = h<"select">("select", {
    "aria-label": "Language", "data-testid": "language",
    onchange: (event: Event) => {
      setLang((event.target as HTMLSelectElement).value as Lang);
      localStorage.setItem(LANG_KEY, lang());
    },
  }, ...LANGS.map((code) => h("option", { value: code, selected: code === lang() }, LANG_NAMES[code])));
  clear(root, h("div.buyer-page", null, h("header", null, view.title, picker), h("div.bwrap", null, view.banner, view.mapBox), view.info));
}

function render(): void {
  view.title.textContent = t("buyer.title");
  document.title = t("buyer.title");
  view.banner.hidden = connected || dead !== null;
  view.banner.textContent = t("buyer.live_lost");
  if (dead) {
    clear(view.info, h("p.dead", { "data-testid": "dead", role: "alert" }, dead.message || t("buyer.dead")));
    view.mapBox.hidden = true;
    return;
  }
  if (!body) return;
  const o = body.order;
  const eta = o.status === "delivered" ? null : o.dropoff_eta;
  clear(view.info,
    h("div.muted", null, t("buyer.order", { id: o.external_id ?? o.id })),
    h("div.status", { "data-testid": "status" }, t(`status.${o.status}`)),
    h("div.eta", { "data-testid": "eta" }, eta ? t("buyer.eta", { time: clock(eta) }) : t("buyer.eta_unknown")),
    h("div", null, h("span.muted", null, `${t("buyer.address")}: `), o.dropoff.address ?? `${o.dropoff.lat.toFixed(5)}, ${o.dropoff.lon.toFixed(5)}`),
    body.courier ? null : h("div.muted", { "data-testid": "courier-hidden" }, t("buyer.courier_hidden")),
    h("small.muted", null, t("buyer.updated", { time: clock(o.updated_at) })));
  drawMap();
}

onLangChange(() => {
  layout();
  render();
  if (!dead && body) void refresh(); // messages from the API come in the new language
});

function drawMap(): void {
  if (!map || !body || !map.getSource("delivery")) return;
  const features: GeoJSON.Feature[] = [{
    type: "Feature", geometry: { type: "Point", coordinates: [body.order.dropoff.lon, body.order.dropoff.lat] },
    properties: { icon: "pin-6a1b9a-⌂", kind: "dropoff" },
  }];
  if (body.courier) {
    features.push({
      type: "Feature", geometry: { type: "Point", coordinates: [body.courier.lon, body.courier.lat] },
      properties: { icon: `courier-1565c0-${body.courier.vehicle ?? "bicycle"}`, heading: body.courier.heading ?? 0, kind: "courier" },
    });
  }
  (map.getSource("delivery") as GeoJSONSource | undefined)?.setData({ type: "FeatureCollection", features });
  if (!fitted) {
    fitted = true;
    if (body.courier) {
      const bounds = new LngLatBounds([body.order.dropoff.lon, body.order.dropoff.lat], [body.order.dropoff.lon, body.order.dropoff.lat]);
      bounds.extend([body.courier.lon, body.courier.lat]);
      map.fitBounds(bounds, { padding: 60, maxZoom: 16, duration: 0 });
    } else {
      map.jumpTo({ center: [body.order.dropoff.lon, body.order.dropoff.lat], zoom: 15 });
    }
  }
}

async function refresh(): Promise<void> {
  try {
    const response = await fetch(`/api/v1/public/track/${encodeURIComponent(token)}`, {
      headers: { Accept: "application/json", "Accept-Language": lang() },
    });
    const data = await response.json().catch(() => null);
    if (!response.ok) {
      const error = data?.error ?? { code: `http_${response.status}`, message: t("buyer.dead") };
      if (response.status === 404 || response.status === 410) {
        die(error.code, error.message);
      }
      return;
    }
    update(data as TrackBody);
  } catch {
    connected = false;
    render();
  }
}

function update(next: TrackBody): void {
  body = next;
  metrics.updates++;
  render();
}

function die(code: string, message: string): void {
  dead = { code, message };
  socket?.close();
  render();
}

async function start(): Promise<void> {
  layout();
  render();
  await refresh();
  if (dead) return;
  const tiles = await loadTileJson();
  const center: [number, number] = body ? [body.order.dropoff.lon, body.order.dropoff.lat] : [69.279, 41.311];
  map = createMap(view.mapBox, baseStyle(tiles), { center, zoom: 15 });
  (window as unknown as { __buyerMap: MapLibreMap }).__buyerMap = map;
  drawImagesOnDemand(map);
  map.on("load", () => {
    map!.addSource("delivery", { type: "geojson", data: { type: "FeatureCollection", features: [] } });
    map!.addLayer({
      id: "delivery", type: "symbol", source: "delivery",
      layout: {
        "icon-image": ["get", "icon"], "icon-allow-overlap": true,
        "icon-anchor": ["case", ["==", ["get", "kind"], "dropoff"], "bottom", "center"],
        "icon-rotate": ["coalesce", ["get", "heading"], 0], "icon-rotation-alignment": "map",
      },
    });
    drawMap();
  });
  socket = new LiveSocket(() => wsUrl(`/ws/track/${encodeURIComponent(token)}`), {
    open: () => {
      const wasDown = !connected;
      connected = true;
      render();
      if (wasDown) void refresh(); // catch up on what changed while we were away
    },
    drop: (code) => {
      if (code === 4410 || dead) return false;
      connected = false;
      render();
      return true;
    },
    message: (data) => {
      const message = data as { type: string; code?: string; message?: string } & TrackBody;
      if (message.type === "track") update(message);
      else if (message.type === "error") die(message.code ?? "tracking_link_invalid", message.message ?? t("buyer.dead"));
    },
  });
}

void start();

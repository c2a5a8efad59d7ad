// The base map: a MapLibre style over the service's own vector tiles (GET /api/v1/tiles.json,
// layers roads, water, parks, zones). Everything is offline: no glyphs and no sprites are
// fetched, so the style has no text labels (street names are skipped); vehicle icons and
// cluster counts are drawn on canvases and added as images at run time.
import { AttributionControl, Map as MapLibreMap, NavigationControl, setWorkerUrl, type ExpressionSpecification, type StyleSpecification } from "maplibre-gl";
import "maplibre-gl/dist/maplibre-gl.css";
import workerUrl from "maplibre-gl/dist/maplibre-gl-worker.mjs?worker&url";

// MapLibre's tile worker, bundled by Vite next to our own files (no CDN).
setWorkerUrl(workerUrl);

export interface TileJson {
  tiles: string[];
  minzoom?: number;
  maxzoom?: number;
  bounds?: [number, number, number, number];
  center?: [number, number, number];
  attribution?: string;
}

export const OSM_ATTRIBUTION = "© OpenStreetMap contributors";
const ROAD_WIDTH: Record<string, number> = {
  motorway: 4, trunk: 3.5, primary: 3, secondary: 2.5, tertiary: 2, residential: 1.4, service: 1, path: 0.7,
};

export async function loadTileJson(): Promise<TileJson | null> {
  try {
    const response = await fetch("/api/v1/tiles.json", { headers: { Accept: "application/json" } });
    if (!response.ok) return null;
    const body = (await response.json()) as TileJson;
    return Array.isArray(body.tiles) && body.tiles.length ? body : null;
  } catch {
    return null;
  }
}

/** The style: a plain background, and the service's tiles when it serves them. */
export function baseStyle(tiles: TileJson | null): StyleSpecification {
  const style: StyleSpecification = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f3f1ec" } }],
  };
  if (!tiles) return style;
  // The API serves the console, so tiles come from this page's origin whatever host name the
  // service put in the template (`localhost` may not resolve to the address it listens on).
  const absolute = tiles.tiles.map((url) => {
    const parsed = new URL(url, location.origin);
    return `${location.origin}${decodeURI(parsed.pathname)}${parsed.search}`;
  });
  style.sources.base = {
    type: "vector", tiles: absolute, minzoom: tiles.minzoom ?? 0, maxzoom: tiles.maxzoom ?? 14,
    attribution: tiles.attribution ?? OSM_ATTRIBUTION,
    ...(tiles.bounds ? { bounds: tiles.bounds } : {}),
  };
  const byClass = ["match", ["get", "class"], ...Object.entries(ROAD_WIDTH).flat(), 1] as unknown as ExpressionSpecification;
  const widthBy = (scale: number): ExpressionSpecification => [
    "interpolate", ["exponential", 1.6], ["zoom"],
    10, ["*", scale * 0.4, byClass],
    18, ["*", scale * 6, byClass],
  ];
  style.layers.push(
    { id: "parks", type: "fill", source: "base", "source-layer": "parks", paint: { "fill-color": "#d5e8c8" } },
    { id: "water", type: "fill", source: "base", "source-layer": "water", paint: { "fill-color": "#b8d4ec" } },
    {
      id: "zones", type: "fill", source: "base", "source-layer": "zones",
      paint: { "fill-color": ["case", ["to-boolean", ["get", "active"]], "#3f51b5", "#9e9e9e"], "fill-opacity": 0.05 },
    },
    {
      id: "zones-outline", type: "line", source: "base", "source-layer": "zones",
      paint: { "line-color": "#3f51b5", "line-width": 1.5, "line-dasharray": [3, 2], "line-opacity": 0.6 },
    },
    {
      id: "roads-casing", type: "line", source: "base", "source-layer": "roads",
      filter: ["!=", ["get", "class"], "path"],
      layout: { "line-cap": "round", "line-join": "round" },
      paint: { "line-color": "#c9c3b8", "line-width": widthBy(1.35) },
    },
    {
      id: "roads", type: "line", source: "base", "source-layer": "roads",
      layout: { "line-cap": "round", "line-join": "round" },
      paint: {
        "line-color": ["match", ["get", "class"], ["motorway", "trunk"], "#f6c26b", "primary", "#fbe3a1", "path", "#b8b0a2", "#ffffff"],
        "line-width": widthBy(1),
        "line-dasharray": ["case", ["==", ["get", "class"], "path"], ["literal", [2, 1]], ["literal", [1, 0]]],
      },
    },
  );
  return style;
}

export function createMap(container: HTMLElement, style: StyleSpecification, view: { center: [number, number]; zoom: number }): MapLibreMap {
  const map = new MapLibreMap({
    container, style, center: view.center, zoom: view.zoom,
    attributionControl: false, fadeDuration: 0, maxPitch: 0,
  });
  map.addControl(new AttributionControl({ compact: false, customAttribution: OSM_ATTRIBUTION }), "bottom-right");
  map.addControl(new NavigationControl({ showCompass: false }), "top-left");
  map.dragRotate.disable();
  map.touchZoomRotate.disableRotation();
  return map;
}

// --- images drawn at run time (no sprite) ----------------------------------------------------

const VEHICLE_MARK: Record<string, string> = { foot: "F", bicycle: "B", scooter: "S", car: "C" };

function canvasImage(size: number, draw: (ctx: CanvasRenderingContext2D) => void): ImageData {
  const canvas = document.createElement("canvas");
  canvas.width = canvas.height = size;
  const ctx = canvas.getContext("2d")!;
  draw(ctx);
  return ctx.getImageData(0, 0, size, size);
}

/** A courier icon: a disc in the state's colour with a heading notch and the vehicle's letter. */
export function courierIcon(colour: string, vehicle: string): ImageData {
  const size = 48;
  return canvasImage(size, (ctx) => {
    const c = size / 2;
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.moveTo(c, 1);
    ctx.lineTo(c + 8, 11);
    ctx.lineTo(c - 8, 11);
    ctx.closePath();
    ctx.fill();
    ctx.beginPath();
    ctx.arc(c, c, 15, 0, Math.PI * 2);
    ctx.fill();
    ctx.lineWidth = 3;
    ctx.strokeStyle = "#ffffff";
    ctx.stroke();
    ctx.fillStyle = "#ffffff";
    ctx.font = "bold 16px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(VEHICLE_MARK[vehicle] ?? "?", c, c + 1);
  });
}

export function pinIcon(colour: string, label: string): ImageData {
  const size = 40;
  return canvasImage(size, (ctx) => {
    ctx.fillStyle = colour;
    ctx.beginPath();
    ctx.arc(20, 16, 13, Math.PI, 0);
    ctx.lineTo(20, 39);
    ctx.closePath();
    ctx.fill();
    ctx.strokeStyle = "#fff";
    ctx.lineWidth = 2.5;
    ctx.stroke();
    ctx.fillStyle = "#fff";
    ctx.font = "bold 13px sans-serif";
    ctx.textAlign = "center";
    ctx.textBaseline = "middle";
    ctx.fillText(label, 20, 16);
  });
}

/** Draws images on demand: `count-<n>` (a cluster's count), `courier-<colour>-<vehicle>`,
 * `pin-<colour>-<label>`; colours are written without '#'. */
export function drawImagesOnDemand(map: MapLibreMap): void {
  map.on("styleimagemissing", (event: { id: string }) => {
    const id = event.id;
    if (map.hasImage(id)) return;
    const parts = id.split("-");
    if (parts[0] === "count") {
      const text = parts.slice(1).join("-");
      map.addImage(id, canvasImage(64, (ctx) => {
        ctx.fillStyle = "#ffffff";
        ctx.font = "bold 22px sans-serif";
        ctx.textAlign = "center";
        ctx.textBaseline = "middle";
        ctx.fillText(text, 32, 33);
      }), { pixelRatio: 2 });
    } else if (parts[0] === "courier") {
      map.addImage(id, courierIcon(`#${parts[1]}`, parts[2]), { pixelRatio: 2 });
    } else if (parts[0] === "pin") {
      map.addImage(id, pinIcon(`#${parts[1]}`, parts.slice(2).join("-")), { pixelRatio: 2 });
    }
  });
}

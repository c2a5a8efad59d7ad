import { defineConfig } from "vite";

// Two pages: the dispatcher console (served at /console/) and the buyer's tracking page
// (served at /t/{token}); both load their bundles from /console/assets/.
export default defineConfig({
  base: "/console/",
  build: {
    outDir: "dist",
    emptyOutDir: true,
    chunkSizeWarningLimit: 1500,
    rollupOptions: {
      input: {
        index: new URL("./index.html", import.meta.url).pathname,
        buyer: new URL("./buyer.html", import.meta.url).pathname,
      },
      output: {
        // MapLibre in a chunk of its own, shared by both pages and cached across releases.
        manualChunks: (id: string) => (id.includes("node_modules/maplibre-gl") ? "maplibre" : undefined),
      },
    },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8000",
      "/ws": { target: "ws://127.0.0.1:8000", ws: true },
    },
  },
});

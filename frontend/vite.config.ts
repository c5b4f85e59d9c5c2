/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The API serves frontend/dist at "/"; in development, Vite proxies /api to it.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, chunkSizeWarningLimit: 800 },
  server: { proxy: { "/api": process.env.NEBHX_API ?? "http://127.0.0.1:8000" } },
  test: {
    testTimeout: 20000,
    environment: "jsdom",
    include: ["src/**/*.test.{ts,tsx}"],
    setupFiles: ["src/test/setup.ts"],
    // Its ES build imports react-bootstrap folders ("react-bootstrap/Form"), which Node cannot.
    server: { deps: { inline: ["@rjsf/react-bootstrap"] } },
  },
});

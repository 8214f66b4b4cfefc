// The demo's Uppy page: Uppy's Dashboard uploading through smh-upload/uppy
// to the demo's library (the embedded emulator by default). make bundles
// this with Uppy into site/uppy.js and site/uppy.css (esbuild); the module
// itself, ./smh-upload.js, stays the site's own copy, as an app would load it.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import SMHUpload from "../../../wasm/smh-upload-uppy.js";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

// The demo's token broker hands out short-lived upload-only tokens; the
// module asks again whenever SMH says a token is no longer valid.
async function getAccessToken() {
  const r = await fetch("/api/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  const t = await r.json();
  if (!r.ok) throw Object.assign(new Error(t.message || r.statusText), { code: t.code || `HTTP${r.status}` });
  return t.accessToken;
}

const cfg = await (await fetch("/api/config")).json();
document.querySelector("#mode").textContent = cfg.mode === "emulator" ? "local emulator" : `SMH library ${cfg.libraryId}`;
const uppy = new Uppy({ autoProceed: false })
  .use(Dashboard, { inline: true, target: "#dashboard", showProgressDetails: true, width: "100%", height: 460 })
  .use(SMHUpload, {
    endpoint: cfg.endpoint, libraryId: cfg.libraryId, getAccessToken,
    path: (file) => `uppy/${file.name}`, load: { wasmURL: "./smh.wasm" },
  });
// What each finished file was stored as, with its CRC-64 (the page's test reads it).
uppy.on("upload-success", (file, response) => {
  const li = document.createElement("li");
  li.dataset.name = file.name;
  li.textContent = `${file.name}: stored as ${response.body.path.join("/")}, CRC-64 ${response.body.crc64}`;
  document.querySelector("#stored").append(li);
});
window.uppy = uppy;
document.body.dataset.ready = "true";

// Uppy's Dashboard uploading to the demo server's emulator through
// smh-upload/uppy. window.uppy lets the test drive it; every Uppy event the
// test checks is recorded in window.events.
import Uppy from "@uppy/core";
import Dashboard from "@uppy/dashboard";
import SMHUpload from "smh-upload/uppy";
import "@uppy/core/css/style.min.css";
import "@uppy/dashboard/css/style.min.css";

async function getAccessToken() {
  const r = await fetch("/api/token", { method: "POST" });
  return (await r.json()).accessToken;
}

const cfg = await (await fetch("/api/config")).json();
const uppy = new Uppy({ autoProceed: false })
  .use(Dashboard, { inline: true, target: "#dashboard", showProgressDetails: true })
  .use(SMHUpload, {
    endpoint: cfg.endpoint, libraryId: cfg.libraryId, getAccessToken,
    path: (file) => `uppy/${file.name}`, partSize: 1 << 20, concurrency: 2, limit: 3,
  });
const events = [];
for (const name of ["upload-progress", "upload-success", "upload-error", "upload-pause", "complete"]) {
  uppy.on(name, (file, a) => {
    const e = { name, file: file?.name };
    if (name === "upload-progress") e.bytesUploaded = a.bytesUploaded;
    if (name === "upload-success") Object.assign(e, { path: a.body.path.join("/"), crc64: a.body.crc64, uploadURL: a.uploadURL });
    if (name === "upload-error") Object.assign(e, { code: a.code, errorName: a.name, retryable: a.retryable });
    if (name === "upload-pause") e.paused = a;
    events.push(e);
  });
}
// A later batch: once the Dashboard shows a finished batch its own file
// input is gone, and an app adds files through Uppy's API.
document.querySelector("#more").addEventListener("change", (e) => {
  uppy.addFiles([...e.target.files].map((data) => ({ name: data.name, type: data.type, data, source: "Local" })));
});
Object.assign(window, { uppy, events });
document.body.dataset.ready = "true";

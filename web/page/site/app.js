// The demo page: picks files, uploads each with the browser module, and
// shows progress, events and results. All upload logic is in the module.
import { load } from "./smh-upload.js";

const $ = (sel, root = document) => root.querySelector(sel);
const log = $("#log");

function note(text, kind = "") {
  const li = document.createElement("li");
  li.textContent = `${new Date().toLocaleTimeString()}  ${text}`;
  if (kind) li.className = kind;
  log.prepend(li);
  while (log.children.length > 300) log.lastChild.remove();
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function duration(s) {
  if (!isFinite(s) || s < 0) return "–";
  if (s < 60) return `${Math.ceil(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

async function postJSON(url, body) {
  const r = await fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body ?? {}) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw Object.assign(new Error(data.message || r.statusText), { code: data.code || `HTTP${r.status}` });
  return data;
}

// The token broker hands out short-lived upload-only tokens; the module
// calls this again whenever SMH says the token is no longer valid.
async function getAccessToken() {
  const t = await postJSON("/api/token");
  return t.accessToken;
}

function describe(ev) {
  switch (ev.type) {
    case "renew": return [`renewed upload signatures (${ev.reason === "expired" ? "a part was refused as expired" : "ahead of expiry"})`, "renew"];
    case "retry": return [`retrying ${ev.op}${ev.partNumber ? " part " + ev.partNumber : ""} after ${ev.code || ev.status} (attempt ${ev.attempt})`, "retry"];
    case "token": return ["got a fresh access token from the token broker", "renew"];
    case "resume": return [`resumed: ${ev.partsDone} parts already on the server`, ""];
    case "instant": return ["the library already had these bytes: done without sending them", ""];
    case "state": return [`state: ${ev.state}`, ""];
    default: return [JSON.stringify(ev), ""];
  }
}

function settings() {
  const folder = $("#folder").value.trim().replace(/^\/+|\/+$/g, "");
  return {
    folder,
    partSize: Number($("#partSize").value) * 1024 * 1024,
    concurrency: Number($("#concurrency").value),
    conflict: $("#conflict").value,
  };
}

function start(smh, cfg, file) {
  const row = $("#row").content.firstElementChild.cloneNode(true);
  $("#uploads").prepend(row);
  $("#empty").hidden = true;
  $(".name", row).textContent = file.name;
  $(".size", row).textContent = bytes(file.size);
  const bar = $("progress", row), stats = $(".stats", row), result = $(".result", row);
  const pause = $(".pause", row), resume = $(".resume", row), cancel = $(".cancel", row);
  const s = settings();
  const name = `${file.name}`;
  const started = performance.now();
  let task;
  try {
    task = smh.upload(file, {
      endpoint: cfg.endpoint, libraryId: cfg.libraryId, spaceId: cfg.spaceId,
      path: s.folder ? `${s.folder}/${name}` : name,
      getAccessToken, conflict: s.conflict, partSize: s.partSize, concurrency: s.concurrency,
      resume: true,
      onProgress: (p) => {
        bar.value = p.total ? p.loaded / p.total : 1;
        const pct = p.total ? (100 * p.loaded / p.total).toFixed(1) : "100";
        const left = p.bytesPerSecond > 0 ? (p.total - p.loaded) / p.bytesPerSecond : NaN;
        stats.textContent = `${pct}% · ${bytes(p.bytesPerSecond)}/s · ${duration(left)} left · part ${p.partsDone}/${p.partsTotal}`;
      },
      onEvent: (ev) => { const [text, kind] = describe(ev); note(`${file.name}: ${text}`, kind); },
    });
  } catch (err) {
    fail(err);
    return;
  }
  pause.onclick = () => { task.pause(); pause.hidden = true; resume.hidden = false; stats.textContent += " · paused"; };
  resume.onclick = () => { task.resume(); resume.hidden = true; pause.hidden = false; };
  cancel.onclick = async () => {
    cancel.disabled = pause.disabled = resume.disabled = true;
    try { await task.cancel(); } catch (err) { note(`${file.name}: cancel failed: ${err.code || ""} ${err.message}`, "error"); }
  };
  task.done.then((r) => {
    bar.value = 1;
    result.className = "result ok";
    const path = Array.isArray(r.path) ? r.path.join("/") : r.path;
    result.textContent = `stored as ${path} · ${bytes(Number(r.size))} · CRC-64 ${r.crc64}`;
    const secs = (performance.now() - started) / 1000;
    stats.textContent = `done in ${secs.toFixed(1)} s (${bytes(file.size / Math.max(secs, 0.001))}/s)`;
    row.dataset.state = "done";
    row.dataset.path = path;
    row.dataset.crc64 = r.crc64;
    pause.hidden = resume.hidden = cancel.hidden = true;
  }, fail);

  function fail(err) {
    result.className = "result bad";
    result.textContent = `${err.code || err.name}: ${err.message}`;
    stats.textContent = err.name === "AbortError" || err.code === "Canceled" ? "cancelled" : "failed";
    row.dataset.state = stats.textContent;
    pause.hidden = resume.hidden = cancel.hidden = true;
    note(`${file.name}: ${err.code || err.name}: ${err.message}`, "error");
  }
}

async function main() {
  const cfg = await (await fetch("/api/config")).json();
  $("#mode").textContent = cfg.mode === "emulator" ? "local emulator" : `SMH library ${cfg.libraryId}`;
  const smh = await load({ wasmURL: "./smh.wasm" });
  $("#version").textContent = `module ${smh.version}`;
  document.body.dataset.ready = "true";

  if (cfg.mode === "emulator") {
    $("#emulatorControls").hidden = false;
    const control = (body, text) => postJSON("/api/emulator", body).then(() => note(text), (e) => note(`emulator: ${e.message}`, "error"));
    $("#applyTTL").onclick = () => control({ ttlSeconds: Number($("#ttl").value) }, `signatures now live ${$("#ttl").value} s`);
    $("#expire").onclick = () => control({ expireSignatures: true }, "expired every signature issued so far");
    $("#fail").onclick = () => control({ failParts: 3, failStatus: 503 }, "the next 3 part uploads will fail with 503");
  }

  const input = $("#files"), drop = $("#drop");
  const add = (files) => { for (const f of files) start(smh, cfg, f); };
  input.onchange = () => { add(input.files); input.value = ""; };
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); add(e.dataTransfer.files); });
}

main().catch((err) => {
  note(`could not start: ${err.code || err.name}: ${err.message}`, "error");
  $("#mode").textContent = "error";
});

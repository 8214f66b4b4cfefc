// The demo's queue page: folders and many files through one smh.queue().
// The list renders only the rows in view, so it stays smooth with tens of
// thousands of files; every DOM update waits for the next animation frame.
import { load } from "./smh-upload.js";

const $ = (sel, root = document) => root.querySelector(sel);
const ROW = 28; // px, one row of the list (style.css .vrow)

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
}

function duration(s) {
  if (!(s > 0) || !isFinite(s)) return "–";
  if (s < 60) return `${Math.ceil(s)} s`;
  return `${Math.floor(s / 60)} min ${Math.ceil(s % 60)} s`;
}

async function getAccessToken() {
  const r = await fetch("/api/token", { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" });
  const t = await r.json();
  if (!r.ok) throw new Error(t.message || r.statusText);
  return t.accessToken;
}

// files[i] is what the list shows of the queue's file i.
const files = [];
let progress = null;
let dirty = false;

function render() {
  dirty = false;
  const list = $("#list"), space = $(".vspace", list);
  space.style.height = `${files.length * ROW}px`;
  const first = Math.max(0, Math.floor(list.scrollTop / ROW) - 5);
  const last = Math.min(files.length, Math.ceil((list.scrollTop + list.clientHeight) / ROW) + 5);
  // Reuse the row elements in view; a row's place is its index.
  const rows = [...space.children];
  for (let i = rows.length; i < last - first; i++) {
    const el = document.createElement("div");
    el.className = "vrow";
    el.setAttribute("role", "listitem");
    el.innerHTML = `<span class="path"></span><span class="size muted"></span><span class="state"></span>`;
    space.append(el);
    rows.push(el);
  }
  rows.forEach((el, k) => {
    const f = files[first + k];
    el.hidden = !f;
    if (!f) return;
    el.style.transform = `translateY(${(first + k) * ROW}px)`;
    el.dataset.index = first + k;
    el.dataset.state = f.state;
    el.children[0].textContent = f.path;
    el.children[1].textContent = bytes(f.size);
    el.children[2].textContent = f.state === "failed" ? `failed: ${f.error?.code ?? ""}` : f.state;
    el.children[2].title = f.error?.message ?? (f.crc64 ? `CRC-64 ${f.crc64}` : "");
  });
  if (progress) {
    const p = progress;
    $("#bar").value = p.total ? p.loaded / p.total : 0;
    const skipped = p.skipped ? ` (${p.skipped} stored before)` : "";
    $("#counts").textContent = `${p.done} done${skipped} · ${p.failed} failed · ${p.left} left · ${p.added} files · ${bytes(p.loaded)} of ${bytes(p.total)}`;
    $("#rate").textContent = p.left ? `${bytes(p.bytesPerSecond)}/s · ${duration(p.etaSeconds)} left` : "";
    Object.assign(document.body.dataset, { done: p.done, failed: p.failed, left: p.left, added: p.added, skipped: p.skipped });
    $("#retry").disabled = p.failed === 0;
  }
}

function changed() {
  if (!dirty) {
    dirty = true;
    requestAnimationFrame(render);
  }
}

async function main() {
  const cfg = await (await fetch("/api/config")).json();
  $("#mode").textContent = cfg.mode === "emulator" ? "local emulator" : `SMH library ${cfg.libraryId}`;
  const smh = await load();
  let queue = null;

  // newQueue starts a queue with the settings of the moment; it is kept
  // until it is cancelled, so that later drops join it.
  function newQueue() {
    const target = $("#target").value.trim().replace(/^\/+|\/+$/g, "");
    files.length = 0;
    progress = null;
    const q = smh.queue({
      endpoint: cfg.endpoint, libraryId: cfg.libraryId, spaceId: cfg.spaceId, getAccessToken,
      path: target,
      concurrency: Number($("#concurrency").value),
      files: Number($("#filesAtOnce").value),
      onProgress: (p) => { progress = p; changed(); },
      onFile: (f) => {
        files[f.index] = { path: f.path, size: f.size, state: f.state, error: f.error, crc64: f.result?.crc64 };
        changed();
      },
    });
    for (const b of ["#pause", "#cancel"]) $(b).disabled = false;
    return q;
  }

  function add(items) {
    queue ??= newQueue();
    queue.add(items).catch((err) => {
      $("#counts").textContent = `could not add: ${err.code ?? err.name}: ${err.message}`;
    });
  }

  const input = $("#files"), folder = $("#folder"), drop = $("#drop");
  input.onchange = () => { add(input.files); input.value = ""; };
  folder.onchange = () => { add(folder.files); folder.value = ""; };
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  // The DataTransfer goes to add() inside the event: its entries (and the
  // folders in them) can only be taken while the drop event runs.
  drop.addEventListener("drop", (e) => { e.preventDefault(); drop.classList.remove("over"); add(e.dataTransfer); });

  $("#pause").onclick = () => { queue?.pause(); $("#pause").hidden = true; $("#resume").hidden = false; };
  $("#resume").onclick = () => { queue?.resume(); $("#resume").hidden = true; $("#pause").hidden = false; };
  $("#retry").onclick = () => queue?.retryFailed();
  $("#cancel").onclick = async () => {
    const q = queue;
    queue = null;
    $("#pause").disabled = $("#cancel").disabled = true;
    $("#pause").hidden = false;
    $("#resume").hidden = true;
    await q?.cancel();
    changed();
  };
  $("#list").addEventListener("scroll", changed, { passive: true });
  addEventListener("resize", changed);
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  $("#mode").textContent = "error";
  $("#counts").textContent = `could not start: ${err.code ?? err.name}: ${err.message}`;
});

// The benchmark page: one contestant per page load, picked by the harness (package web/bench) in the query
// string as ?cfg=<JSON>. It prepares the contestant (loads the module or the COS SDK), sets
// window.benchReady to the milliseconds since navigation, and waits for the harness to hand a file to
// #file and call window.bench.run(), which resolves with what the page measured.
//
// Contestants:
//   module  smh-upload (wasm/dist), defaults unless partSize/concurrency are given; verify=false passes
//           disableIntegrityCheck: true; inPage=true passes worker: false
//   xhr     the physical limit: begin and confirm with fetch, parts as plain XMLHttpRequest PUTs of
//           Blob.slice() with SMH's headers, no hashing, no SDK
//   cos     cos-js-sdk-v5 sliceUploadFile against the emulator's COS host with a key pair
//
// Event-loop lag is measured with a 10 ms timer: a tick later than 50 ms is a stall. Long tasks are
// counted too, but they miss work that runs in many short tasks or after an await.

const scriptStart = performance.now(); // the page's own load ends here; the contestant's start-up begins
const cfg = JSON.parse(new URLSearchParams(location.search).get("cfg") ?? "{}");
const status = document.getElementById("status");

// ---- event-loop lag and memory, sampled on every tick ----

const TICK = 10;
const lag = { active: false, ticks: 0, stalls: 0, maxLate: 0, wasmPeak: 0 };
let memory = () => 0; // WebAssembly memory of the module, once loaded
let last = performance.now();
function tick() {
  const now = performance.now();
  const late = now - last - TICK;
  last = now;
  if (lag.active) {
    lag.ticks++;
    if (late > 50) lag.stalls++;
    if (late > lag.maxLate) lag.maxLate = late;
    lag.wasmPeak = Math.max(lag.wasmPeak, memory());
  }
  setTimeout(tick, TICK);
}
setTimeout(tick, TICK);

const longTasks = { count: 0, ms: 0 };
try {
  new PerformanceObserver((list) => {
    if (!lag.active) return;
    for (const e of list.getEntries()) {
      longTasks.count++;
      longTasks.ms += e.duration;
    }
  }).observe({ type: "longtask" });
} catch {
  // no long-task timing: the counts stay 0
}

// ---- contestants ----

let upload; // (file, progress) => Promise<{crc64?, parts?}>

async function prepare() {
  switch (cfg.kind) {
    case "module": {
      const { load } = await import(`${cfg.moduleBase}/smh-upload.js`);
      const smh = await load({ worker: !cfg.inPage });
      memory = () => smh.memoryBytes;
      upload = (file, progress) => uploadModule(smh, file, progress);
      if (cfg.warm) {
        // A small multipart upload first, with the same checks: the measured one then runs on code that
        // the browser has already compiled and optimized.
        const warm = new Blob([new Uint8Array(4 << 20)]);
        await uploadModule(smh, warm, () => {}, { path: `${cfg.path}.warm`, partSize: 1 << 20 });
      }
      return { version: smh.version };
    }
    case "cos": {
      await new Promise((resolve, reject) => {
        const s = document.createElement("script");
        s.src = cfg.cosSDK;
        s.onload = resolve;
        s.onerror = () => reject(new Error(`loading ${cfg.cosSDK} failed`));
        document.head.append(s);
      });
      upload = uploadCOS;
      return { version: globalThis.COS.version };
    }
    case "xhr":
      upload = uploadXHR;
      return { version: "" };
  }
  throw new Error(`unknown contestant kind ${cfg.kind}`);
}

async function uploadModule(smh, file, progress, override = {}) {
  let parts = 0;
  const options = {
    endpoint: cfg.endpoint,
    libraryId: cfg.libraryId,
    path: cfg.path,
    accessToken: cfg.token,
    conflict: "overwrite",
    onProgress: (p) => {
      progress(p.loaded);
      parts = p.partsTotal;
    },
  };
  if (cfg.partSize) options.partSize = cfg.partSize;
  if (cfg.concurrency) options.concurrency = cfg.concurrency;
  if (!cfg.verify) options.disableIntegrityCheck = true;
  Object.assign(options, override);
  const info = await smh.upload(file, options).done;
  return { crc64: info.crc64, size: info.size, parts };
}

async function api(method, path, query) {
  const url = `${cfg.endpoint}/api/v1/file/${cfg.libraryId}/-/${path}?${query}&access_token=${encodeURIComponent(cfg.token)}`;
  const res = await fetch(url, { method });
  const body = await res.json();
  if (!res.ok) throw new Error(`${method} ${query}: HTTP ${res.status} ${body.code}`);
  return body;
}

// The limit: what any uploader must do at least, with nothing checked.
async function uploadXHR(file, progress) {
  const ps = cfg.partSize, n = Math.max(1, Math.ceil(file.size / ps));
  const info = await api("POST", encodeURIComponent(cfg.path), `multipart&conflict_resolution_strategy=overwrite&filesize=${file.size}`);
  const sent = new Array(n + 1).fill(0);
  let total = 0;
  const put = (i) =>
    new Promise((resolve, reject) => {
      const xhr = new XMLHttpRequest();
      xhr.open("PUT", `http://${info.domain}${info.path}?partNumber=${i}&uploadId=${encodeURIComponent(info.uploadId)}`);
      for (const [k, v] of Object.entries(info.headers)) xhr.setRequestHeader(k, v);
      xhr.upload.onprogress = (e) => {
        total += e.loaded - sent[i];
        sent[i] = e.loaded;
        progress(total);
      };
      xhr.onload = () => (xhr.status === 200 ? resolve() : reject(new Error(`part ${i}: HTTP ${xhr.status}`)));
      xhr.onerror = () => reject(new Error(`part ${i}: network error`));
      const part = file.slice((i - 1) * ps, Math.min(i * ps, file.size));
      if (cfg.body === "buffer") part.arrayBuffer().then((b) => xhr.send(b), reject);
      else if (cfg.body === "fetch") {
        xhr.abort();
        part.arrayBuffer().then((b) => fetch(`http://${info.domain}${info.path}?partNumber=${i}&uploadId=${encodeURIComponent(info.uploadId)}`, { method: "PUT", headers: info.headers, body: b }))
          .then((r) => (r.ok ? resolve() : reject(new Error(`part ${i}: HTTP ${r.status}`))), reject);
      } else if (cfg.body === "read" || cfg.body === "readmin" || cfg.body === "pieces") {
        xhr.send(part);
        (cfg.body === "pieces" ? readPieces(part) : readAll(part, cfg.body === "readmin")).catch(reject);
      } else xhr.send(part);
    });
  let next = 1;
  const worker = async () => {
    while (next <= n) await put(next++);
  };
  await Promise.all(Array.from({ length: cfg.concurrency }, worker));
  const done = await api("POST", info.confirmKey, "confirm");
  return { crc64: done.crc64, size: Number(done.size), parts: n };
}

// readAll reads a Blob once through a BYOB reader and a reused 1 MiB buffer, and drops the bytes: what
// reading each part a second time, to hash it, costs the browser before any hashing.
let readBuf = [];
// With fill, each read asks for the whole view ({ min }), so the stream fills it from several chunks
// before the promise settles.
async function readAll(blob, fill) {
  let ab = readBuf.pop() ?? new ArrayBuffer(1 << 20);
  const r = blob.stream().getReader({ mode: "byob" });
  for (let got = 0; got < blob.size; ) {
    const k = Math.min(ab.byteLength, blob.size - got);
    const { value, done } = await r.read(new Uint8Array(ab, 0, k), fill ? { min: k } : undefined);
    if (value) ab = value.buffer;
    if (done) break;
    got += value.byteLength;
  }
  r.cancel();
  readBuf.push(ab);
}

// readPieces reads a Blob once in 4 MiB arrayBuffer() calls, each copied into a reused buffer: the
// other way to read a part, with one promise per piece instead of one per ~80 KiB the stream delivers.
const PIECE = 4 << 20;
let pieceBuf = [];
async function readPieces(blob) {
  const dst = pieceBuf.pop() ?? new Uint8Array(PIECE);
  for (let off = 0; off < blob.size; off += PIECE) {
    dst.set(new Uint8Array(await blob.slice(off, Math.min(off + PIECE, blob.size)).arrayBuffer()));
  }
  pieceBuf.push(dst);
}

function uploadCOS(file, progress) {
  const options = { SecretId: cfg.secretId, SecretKey: cfg.secretKey, Domain: cfg.cosEndpoint, AutoSwitchHost: false };
  if (cfg.partSize) options.ChunkSize = cfg.partSize;
  if (cfg.concurrency) options.ChunkParallelLimit = cfg.concurrency;
  const cos = new globalThis.COS(options);
  return new Promise((resolve, reject) => {
    cos.sliceUploadFile(
      { Bucket: cfg.bucket, Region: cfg.region, Key: cfg.path, Body: file, onProgress: (p) => progress(p.loaded) },
      (err, data) => {
        if (err) {
          reject(new Error(`sliceUploadFile: ${err.code ?? ""} ${err.message ?? JSON.stringify(err)}`));
          return;
        }
        resolve({ crc64: data.headers?.["x-cos-hash-crc64ecma"] ?? "", etag: data.ETag });
      },
    );
  });
}

// ---- the harness's entry points ----

window.bench = {
  async run() {
    const file = document.getElementById("file").files[0];
    if (!file) throw new Error("no file: the harness sets #file first");
    let progressCalls = 0, loaded = 0;
    const wasmStart = memory();
    lag.ticks = lag.stalls = lag.maxLate = 0;
    lag.wasmPeak = wasmStart;
    longTasks.count = longTasks.ms = 0;
    lag.active = true;
    status.textContent = "uploading…";
    const t0 = performance.now();
    let out, error = "";
    try {
      out = await upload(file, (n) => {
        progressCalls++;
        loaded = n;
      });
    } catch (err) {
      error = String(err?.stack ?? err);
    }
    const ms = performance.now() - t0;
    lag.active = false;
    status.textContent = error ? `failed: ${error}` : `done in ${ms.toFixed(0)} ms`;
    return {
      error,
      ms,
      bytes: file.size,
      crc64: String(out?.crc64 ?? ""),
      parts: out?.parts ?? 0,
      progressCalls,
      loaded,
      ticks: lag.ticks,
      stalls: lag.stalls,
      maxLateMs: lag.maxLate,
      longTasks: longTasks.count,
      longTaskMs: longTasks.ms,
      wasmStart,
      wasmPeak: Math.max(lag.wasmPeak, memory()),
      wasmEnd: memory(),
    };
  },
};

prepare().then(
  (info) => {
    window.benchVersion = info.version;
    window.benchStart = scriptStart;
    window.benchReady = performance.now();
    status.textContent = "ready";
  },
  (err) => {
    window.benchError = String(err?.stack ?? err);
    window.benchReady = -1;
    status.textContent = `failed: ${window.benchError}`;
  },
);

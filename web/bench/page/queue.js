// The queue benchmark page (issue #17): one contestant and one scenario per page load, picked by the
// harness (web/bench/queue.go) in ?cfg=<JSON>. It prepares the contestant and the sources, sets
// window.benchReady, and waits for the harness to call window.queueBench.run(), which uploads every
// source and resolves with what the page measured.
//
// Scenarios: "small" and "many" generate cfg.files Blobs of cfg.fileSize bytes in the page (file i holds
// the xorshift32 stream seeded by (i + 1) · 2654435761, which the harness recomputes to check what was
// stored), named f00000.bin, f00001.bin, …; "large" takes the files the harness handed to #files.
//
// Contestants:
//   queue       smh.queue() with its defaults (or cfg.options, a variant's): every file added at once,
//               progress rendered as it comes
//   cos         cos-js-sdk-v5 uploadFiles with its defaults (FileParallelLimit 3, putObject under 1 MiB)
//   single      smh.upload() of one file: the module's own single-file figure
//   sequential  smh.upload() of each file, one after the other
//   idle        nothing for cfg.idleMs: the stall probe's own cost, the floor under the other rows

import * as lag from "./lag.js";

const cfg = JSON.parse(new URLSearchParams(location.search).get("cfg") ?? "{}");
const status = document.getElementById("status");
const bar = document.getElementById("bar");
const counts = document.getElementById("counts");

// fill returns file i's bytes.
function fill(i, size) {
  const b = new Uint8Array(size);
  let x = ((i + 1) * 2654435761) >>> 0 || 1;
  for (let j = 0; j < size; j++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[j] = x & 0xff;
  }
  return b;
}

const name = (i) => `f${String(i).padStart(5, "0")}.bin`;

// render draws the overall bar and counts, as a page showing a queue would on each progress call.
function render(loaded, total, done, failed, left) {
  bar.value = total > 0 ? loaded / total : 0;
  counts.textContent = `${done} done, ${failed} failed, ${left} left`;
}

let smh; // the module, once loaded
let sources; // [{ file: Blob, path: string }]

async function prepare() {
  if (cfg.kind === "cos") {
    await new Promise((resolve, reject) => {
      const s = document.createElement("script");
      s.src = cfg.cosSDK;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`loading ${cfg.cosSDK} failed`));
      document.head.append(s);
    });
  } else if (cfg.kind !== "idle") {
    const { load } = await import(`${cfg.moduleBase}/smh-upload.js`);
    smh = await load({ worker: !cfg.inPage });
    if (cfg.kind === "queue" && typeof smh.queue !== "function") throw new Error(`this build of the module has no queue() ${cfg.inPage ? "in the page" : "in its Worker (smh-bench -queue-inpage runs it in the page)"}`);
  }
  if (cfg.scenario !== "large" && cfg.files > 0) {
    sources = Array.from({ length: cfg.files }, (_, i) => ({ file: new Blob([fill(i, cfg.fileSize)]), path: name(i) }));
  }
  return { version: cfg.kind === "cos" ? globalThis.COS.version : (smh?.version ?? "") };
}

// The module's connection options.
const conn = () => ({ endpoint: cfg.endpoint, libraryId: cfg.libraryId, accessToken: cfg.token, conflict: "overwrite" });

async function runQueue(items, out) {
  const states = [];
  const q = smh.queue({
    ...conn(),
    ...cfg.options, // a variant's, e.g. { files: 32 }
    path: cfg.path,
    onProgress: (p) => {
      out.progressCalls++;
      render(p.loaded, p.total, p.done, p.failed, p.left);
    },
    onFile: (f) => {
      out.fileEvents++;
      states[f.index] = f.state;
    },
  });
  const t0 = performance.now();
  const added = await q.add(items);
  out.addMs = performance.now() - t0;
  out.addLag = lag.mark();
  if (added !== out.files) throw new Error(`add() added ${added} of ${out.files} files`);
  const results = await q.done;
  for (const r of results) {
    if (r.state === "done") out.done++;
    else {
      out.failed++;
      if (out.errors.length < 5) out.errors.push(`${r.path}: ${r.state} ${r.error?.code ?? ""} ${r.error?.message ?? ""}`);
    }
  }
}

function runCOS(items, out) {
  const cos = new globalThis.COS({ SecretId: cfg.secretId, SecretKey: cfg.secretKey, Domain: cfg.cosEndpoint, AutoSwitchHost: false });
  let total = 0;
  const files = items.map(({ file, path }) => {
    total += file.size;
    return { Bucket: cfg.bucket, Region: cfg.region, Key: `${cfg.path}/${path}`, Body: file };
  });
  out.addMs = 0;
  return new Promise((resolve, reject) => {
    cos.uploadFiles(
      {
        files,
        onProgress: (p) => {
          out.progressCalls++;
          render(p.loaded, total, out.done, out.failed, out.files - out.done - out.failed);
        },
        onFileFinish: (err) => {
          out.fileEvents++;
          if (!err) out.done++;
          else {
            out.failed++;
            if (out.errors.length < 5) out.errors.push(`${err.code ?? ""} ${err.message ?? JSON.stringify(err)}`);
          }
        },
      },
      (err) => (err ? reject(new Error(`uploadFiles: ${err.message ?? JSON.stringify(err)}`)) : resolve()),
    );
  });
}

async function runUploads(items, out) {
  let loaded = 0;
  const total = items.reduce((n, it) => n + it.file.size, 0);
  out.addMs = 0;
  for (const { file, path } of items) {
    const before = loaded;
    await smh.upload(file, {
      ...conn(),
      path: `${cfg.path}/${path}`,
      onProgress: (p) => {
        out.progressCalls++;
        loaded = before + p.loaded;
        render(loaded, total, out.done, 0, items.length - out.done);
      },
    }).done;
    out.done++;
    loaded = before + file.size;
  }
}

window.queueBench = {
  async run() {
    let items = sources ?? [];
    if (cfg.scenario === "large") {
      items = Array.from(document.getElementById("files").files, (f) => ({ file: f, path: f.name }));
      if (items.length === 0) throw new Error("no files: the harness sets #files first");
    }
    const out = { error: "", ms: 0, addMs: 0, files: items.length, bytes: 0, done: 0, failed: 0, errors: [], progressCalls: 0, fileEvents: 0 };
    for (const it of items) out.bytes += it.file.size;
    status.textContent = "uploading…";
    lag.start();
    const t0 = performance.now();
    try {
      switch (cfg.kind) {
        case "queue":
          // The module takes File objects as they are; generated sources go in as { file, path }.
          await runQueue(cfg.scenario === "large" ? document.getElementById("files").files : items, out);
          break;
        case "cos":
          await runCOS(items, out);
          break;
        case "single":
        case "sequential":
          await runUploads(items, out);
          break;
        case "idle":
          await new Promise((resolve) => setTimeout(resolve, cfg.idleMs));
          break;
        default:
          throw new Error(`unknown contestant kind ${cfg.kind}`);
      }
    } catch (err) {
      out.error = String(err?.stack ?? err);
    }
    out.ms = performance.now() - t0;
    out.lag = lag.stop();
    out.addLag ??= out.lag;
    status.textContent = out.error ? `failed: ${out.error}` : `done in ${out.ms.toFixed(0)} ms`;
    return out;
  },
};

prepare().then(
  (info) => {
    window.benchVersion = info.version;
    window.benchReady = performance.now();
    status.textContent = "ready";
  },
  (err) => {
    window.benchError = String(err?.stack ?? err);
    window.benchReady = -1;
    status.textContent = `failed: ${window.benchError}`;
  },
);

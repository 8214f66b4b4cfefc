// smh-upload: uploads to Tencent Cloud Smart Media Hosting from the browser.
//
//   import { load } from "./smh-upload.js";
//   const smh = await load({ wasmURL: "./smh.wasm" });
//   const task = smh.upload(file, { endpoint, libraryId, path, accessToken });
//   const result = await task.done;
//
// This file only loads the Go module (smh.wasm, with the wasm_exec.js of the
// Go release that built it) and hands back its API; the API itself, with its
// types, is described in smh-upload.d.ts.
//
// By default the module runs in a dedicated Worker (smh-upload-worker.js):
// reading and hashing file bytes then never competes with the page's main
// thread, which only sees a few messages per second. The API is the same
// either way; load({ worker: false }) runs the module in the page.
//
// Every file is located by a literal new URL("./x", import.meta.url) and the
// Worker is started by a literal new Worker(new URL(...), { type: "module" }):
// Vite and webpack find, copy and fingerprint exactly these forms, and a
// browser resolves them next to this file when it is served unbundled.

// make wasm bundles this file with what it imports (esbuild) into the
// smh-upload.js that pages and bundlers load: one file, whose import starts
// load() at once. The Worker's entry is bundled likewise, with wasm_exec.js.
import { start, compile, checkSlots, ERROR_FIELDS } from "./smh-upload-run.js";
import { checkQueueOptions, frontQueue } from "./smh-upload-folders.js";

let loading;

// assets resolves the module's files: the defaults next to this file, or the
// overrides, which resolve against the default's folder (next to this file
// when unbundled, as before).
function assets({ wasmURL, wasmExecURL } = {}) {
  const wasm = new URL("./smh.wasm", import.meta.url);
  const exec = new URL("./wasm_exec.js", import.meta.url);
  return {
    wasm: (wasmURL == null ? wasm : new URL(wasmURL, wasm)).href,
    exec: (wasmExecURL == null ? exec : new URL(wasmExecURL, exec)).href,
  };
}

/**
 * Loads and starts the module once per page; later calls get the same API.
 * @param {{ wasmURL?: string | URL, wasmExecURL?: string | URL, worker?: boolean }} [options]
 * @returns {Promise<import("./smh-upload").SMHUpload>}
 */
export function load(options = {}) {
  if (!loading) {
    const useWorker = options.worker !== false && typeof Worker === "function" && typeof window === "object";
    const urls = assets(options);
    let started;
    if (useWorker) {
      // The Worker first, so that its script's fetch and its thread's start
      // (which take the page's main thread for a moment) come before
      // smh.wasm's bytes do. A Worker that cannot start (a CSP without
      // worker-src, say) leaves the module in the page, with the same
      // compilation; the executor turns a synchronous throw into a rejection.
      // The Worker's bundle holds wasm_exec.js: it loads another only when
      // told to (wasmExecURL).
      const worker = new Promise((resolve) => resolve(spawnWorker({ ...urls, exec: options.wasmExecURL == null ? null : urls.exec })));
      // Compiling is most of the start-up: start it now, in the page, while
      // the Worker boots (V8 validates the functions on background threads
      // as the bytes arrive).
      const compiled = compile(urls.wasm);
      compiled.catch(() => {}); // reported by whoever runs the module
      started = worker
        .then((w) => startWorker(w, compiled))
        .catch(() => start({ ...urls, module: compiled.catch(() => null) }));
    } else {
      const compiled = compile(urls.wasm);
      compiled.catch(() => {}); // reported by start
      started = start({ ...urls, module: compiled });
    }
    loading = started.catch((err) => {
      loading = undefined; // let a later call try again
      throw err;
    });
  }
  return loading;
}

// RESUME_PREFIX is the prefix of the keys under which the module saves
// resumable tasks (smh.ResumeKeyPrefix). A Worker has no localStorage, so
// the page hands those records to the Worker with every upload and writes
// back what the Worker changes.
const RESUME_PREFIX = "smh-upload:resume:";

function resumeRecords() {
  const out = {};
  try {
    for (let i = 0; i < localStorage.length; i++) {
      const k = localStorage.key(i);
      if (k?.startsWith(RESUME_PREFIX)) out[k] = localStorage.getItem(k);
    }
  } catch {
    // storage disabled: resume is off, as in the page
  }
  return out;
}

// toError rebuilds in the page the Error the Worker's module rejected with.
function toError(f) {
  const err = f.name === "TypeError" ? new TypeError(f.message) : new Error(f.message);
  if (f.name !== "TypeError") err.name = f.name;
  for (const k of ERROR_FIELDS) if (k in f) err[k] = f[k];
  return err;
}

// toResult rebuilds a queue file's result, with its Error.
function toResult(f) {
  return f.error ? { ...f, error: toError(f.error) } : f;
}

const EMPTY_PROGRESS = Object.freeze({ loaded: 0, total: 0, done: 0, failed: 0, left: 0, canceled: 0, added: 0, skipped: 0, bytesPerSecond: 0, etaSeconds: 0 });

// spawnWorker starts smh-upload-worker.js. Its name carries the URLs of
// smh.wasm and wasm_exec.js: the Worker reads them as soon as it runs, where
// a message would wait for the page's main thread to forward it. A module
// Worker must come from the page's origin: when this file lives on another
// (a CDN), the browser refuses the plain start with a SecurityError, and a
// bootstrap from a blob: URL imports the Worker's file from there instead.
function spawnWorker({ wasm, exec }) {
  const name = "smh-upload " + JSON.stringify({ wasm, exec });
  try {
    return new Worker(new URL("./smh-upload-worker.js", import.meta.url), { type: "module", name });
  } catch (err) {
    if (err?.name !== "SecurityError") throw err;
    // Not new URL(…, import.meta.url): bundlers would take that for an asset.
    const src = import.meta.url.replace(/[^/]*$/, "smh-upload-worker.js");
    const boot = URL.createObjectURL(new Blob([`import ${JSON.stringify(src)};`], { type: "text/javascript" }));
    try {
      return new Worker(boot, { type: "module", name });
    } finally {
      URL.revokeObjectURL(boot);
    }
  }
}

// startWorker runs the module in worker, a dedicated Worker started by
// spawnWorker, and hands it compiled, the page's compilation of smh.wasm. A
// browser that cannot post a WebAssembly.Module has the Worker fetch and
// compile it itself.
function startWorker(worker, compiled) {
  const uploads = new Map();
  const pools = new WeakMap(); // slots() objects → their ids
  let nextPool = 0;
  let memory = 0;
  let nextID = 0;
  return new Promise((resolveAPI, rejectAPI) => {
    worker.onerror = (e) => rejectAPI(new Error(`smh-upload: the worker failed: ${e.message ?? e}`));
    worker.onmessage = async (e) => {
      const m = e.data;
      if (m.memory !== undefined) memory = m.memory;
      const u = uploads.get(m.id);
      switch (m.type) {
        case "ready":
          worker.onerror = (ev) => console.error("smh-upload: worker error:", ev.message ?? ev);
          resolveAPI(Object.freeze({ version: m.version, get memoryBytes() { return memory; }, upload, slots, queue }));
          break;
        case "failed":
          rejectAPI(toError(m.err));
          break;
        case "store":
          try {
            if (m.value === null) localStorage.removeItem(m.key);
            else localStorage.setItem(m.key, m.value);
          } catch {
            // as in the page: storage that throws turns resume off
          }
          break;
        case "progress":
          u?.onProgress?.(m.p);
          break;
        case "event":
          if (u && m.ev.confirmKey) u.confirmKey = m.ev.confirmKey;
          u?.onEvent?.(m.ev);
          break;
        case "key":
          if (u) u.confirmKey = m.key;
          break;
        case "token":
          try {
            worker.postMessage({ type: "token", t: m.t, token: await u.getAccessToken() });
          } catch (err) {
            worker.postMessage({ type: "token", t: m.t, error: String(err?.message ?? err) });
          }
          break;
        case "done":
          uploads.delete(m.id);
          u?.resolve(m.v);
          break;
        case "error":
          uploads.delete(m.id);
          u?.reject(toError(m.err));
          break;
        case "canceled":
          u?.canceled.shift()?.(m.err ? toError(m.err) : undefined);
          break;
        case "qprogress":
          if (u) u.progress = m.p;
          u?.onProgress?.(m.p);
          break;
        case "qfiles":
          for (const f of m.fs) u?.onFile?.(toResult(f));
          break;
        case "qdonefiles": {
          // done's results, in turns, before its reply
          const w = u?.waits.get(m.r);
          if (w) (w.files ??= []).push(...m.fs.map(toResult));
          break;
        }
        case "qreply": {
          // add's count, cancel's end, or done's results, by the request's number
          const w = u?.waits.get(m.r);
          u?.waits.delete(m.r);
          if (m.progress) u.progress = m.progress;
          if (m.err) w?.reject(toError(m.err));
          else w?.resolve(m.files !== undefined ? (w.files ?? []) : m.v);
          break;
        }
      }
    };
    compiled.then(
      (module) => {
        try {
          worker.postMessage({ type: "module", module });
        } catch {
          worker.postMessage({ type: "module", module: null });
        }
      },
      () => worker.postMessage({ type: "module", module: null }),
    );
  });

  // slots(n) is the Worker's pool of n part slots, known here by an id:
  // the Worker makes its pool when an upload first names it.
  function slots(n) {
    const s = Object.freeze({ size: checkSlots(n) });
    pools.set(s, ++nextPool);
    return s;
  }

  // queue(options) is the Worker's queue, mirrored by messages: the page
  // walks what add() takes (Files cross as handles: no bytes are copied),
  // and progress crosses at the queue's coalesced rate only.
  function queue(options) {
    checkQueueOptions(options);
    const { onProgress, onFile, getAccessToken, signal, ...data } = options;
    const id = ++nextID;
    const rec = { onProgress, onFile, getAccessToken, waits: new Map(), progress: EMPTY_PROGRESS, gen: 0, done: null, doneGen: -1 };
    let nextRequest = 0;
    uploads.set(id, rec);
    // ask posts a request and resolves with its reply.
    const ask = (type, extra) =>
      new Promise((resolve, reject) => {
        const r = ++nextRequest;
        rec.waits.set(r, { resolve, reject });
        worker.postMessage({ type, id, r, ...extra });
      });
    const cancel = () => ask("qcancel").then(() => undefined);
    if (signal) {
      if (signal.aborted) data.aborted = true;
      else signal.addEventListener("abort", () => cancel().catch(() => {}), { once: true });
    }
    worker.postMessage({ type: "queue", id, options: data, callbacks: { file: !!onFile, token: !!getAccessToken } });
    return frontQueue({
      add(list) {
        rec.gen++;
        return ask("qadd", { items: list });
      },
      pause: () => worker.postMessage({ type: "qpause", id }),
      resume: () => worker.postMessage({ type: "qresume", id }),
      retryFailed() {
        rec.gen++;
        worker.postMessage({ type: "qretry", id });
      },
      cancel,
      get progress() { return rec.progress; },
      get done() {
        if (rec.doneGen !== rec.gen) {
          rec.doneGen = rec.gen;
          rec.done = ask("qdone");
        }
        return rec.done;
      },
    });
  }

  function upload(file, options) {
    if (!(file instanceof Blob)) throw new TypeError("smh-upload: upload: the file must be a File or a Blob");
    if (options === null || typeof options !== "object") throw new TypeError("smh-upload: upload: the options must be an object");
    const { onProgress, onEvent, getAccessToken, signal, ...data } = options;
    for (const [name, f] of Object.entries({ onProgress, onEvent, getAccessToken })) {
      if (f != null && typeof f !== "function") throw new TypeError(`smh-upload: upload options: ${name} must be a function`);
    }
    if (signal != null && !(signal instanceof AbortSignal)) throw new TypeError("smh-upload: upload options: signal must be an AbortSignal");
    if (data.slots != null) {
      if (!pools.has(data.slots)) throw new TypeError("smh-upload: upload options: slots must come from this module's slots()");
      data.slots = { id: pools.get(data.slots), size: data.slots.size };
    }
    const id = ++nextID;
    const rec = { onProgress, onEvent, getAccessToken, confirmKey: "", canceled: [] };
    const done = new Promise((resolve, reject) => Object.assign(rec, { resolve, reject }));
    uploads.set(id, rec);
    const cancel = () =>
      new Promise((resolve, reject) => {
        rec.canceled.push((err) => (err ? reject(err) : resolve()));
        worker.postMessage({ type: "cancel", id });
      });
    if (signal) {
      if (signal.aborted) data.aborted = true;
      else signal.addEventListener("abort", () => cancel().catch(() => {}), { once: true });
    }
    worker.postMessage({ type: "upload", id, file, options: data, records: resumeRecords(),
      callbacks: { progress: !!onProgress, event: !!onEvent, token: !!getAccessToken } });
    return Object.freeze({
      done,
      get confirmKey() { return rec.confirmKey; },
      pause: () => worker.postMessage({ type: "pause", id }),
      resume: () => worker.postMessage({ type: "resume", id }),
      cancel,
    });
  }
}

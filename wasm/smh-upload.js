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
// By default the module runs in a dedicated Worker started from this same
// file (serveWorker below): reading and hashing file bytes then never
// competes with the page's main thread, which only sees a few messages per
// second. The API is the same either way; load({ worker: false }) runs the
// module in the page.

let loading;

/**
 * Loads and starts the module once per page; later calls get the same API.
 * @param {{ wasmURL?: string | URL, wasmExecURL?: string | URL, worker?: boolean }} [options]
 * @returns {Promise<import("./smh-upload").SMHUpload>}
 */
export function load(options = {}) {
  if (!loading) {
    const useWorker = options.worker !== false && typeof Worker === "function" && typeof window === "object";
    let started;
    if (useWorker) {
      // Compiling is most of the start-up: start it now, in the page (the
      // browser compiles off the main thread), while the Worker boots. A
      // Worker that cannot start (a CSP without worker-src blob:, say)
      // leaves the module in the page, with the same compilation; new
      // Promise turns a synchronous throw into that fallback too.
      const compiled = compile(new URL(options.wasmURL ?? "./smh.wasm", import.meta.url).href);
      compiled.catch(() => {}); // reported by whoever runs the module
      started = new Promise((resolve) => resolve(startWorker(options, compiled)))
        .catch(() => start({ ...options, module: compiled.catch(() => null) }));
    } else {
      started = start(options);
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

const ERROR_FIELDS = ["code", "status", "requestId", "retryable", "confirmKey", "op", "partNumber", "attempts"];

// toError rebuilds in the page the Error the Worker's module rejected with.
function toError(f) {
  const err = f.name === "TypeError" ? new TypeError(f.message) : new Error(f.message);
  if (f.name !== "TypeError") err.name = f.name;
  for (const k of ERROR_FIELDS) if (k in f) err[k] = f[k];
  return err;
}

// startWorker runs the module in a dedicated Worker and hands it compiled,
// the page's compilation of smh.wasm. A browser that cannot post a
// WebAssembly.Module has the Worker fetch and compile it itself.
function startWorker({ wasmURL, wasmExecURL } = {}, compiled) {
  const wasm = new URL(wasmURL ?? "./smh.wasm", import.meta.url).href;
  const exec = new URL(wasmExecURL ?? "./wasm_exec.js", import.meta.url).href;
  // A module Worker must come from the page's origin; a bootstrap from a
  // blob: URL lets this file live on any origin (a CDN). The Worker loads
  // nothing but this file, which the page has already fetched.
  const boot = URL.createObjectURL(new Blob([`import { serveWorker } from ${JSON.stringify(import.meta.url)}; serveWorker();`],
    { type: "text/javascript" }));
  const worker = new Worker(boot, { type: "module" });
  URL.revokeObjectURL(boot);
  const uploads = new Map();
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
          resolveAPI(Object.freeze({ version: m.version, get memoryBytes() { return memory; }, upload }));
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
      }
    };
    worker.postMessage({ type: "load", wasmURL: wasm, wasmExecURL: exec });
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

  function upload(file, options) {
    if (!(file instanceof Blob)) throw new TypeError("smh-upload: upload: the file must be a File or a Blob");
    if (options === null || typeof options !== "object") throw new TypeError("smh-upload: upload: the options must be an object");
    const { onProgress, onEvent, getAccessToken, signal, ...data } = options;
    for (const [name, f] of Object.entries({ onProgress, onEvent, getAccessToken })) {
      if (f != null && typeof f !== "function") throw new TypeError(`smh-upload: upload options: ${name} must be a function`);
    }
    if (signal != null && !(signal instanceof AbortSignal)) throw new TypeError("smh-upload: upload options: signal must be an AbortSignal");
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

// start runs the module in this realm. module, if given, is a promise of
// the compiled smh.wasm, or of null to compile it here (the Worker gets it
// from the page).
async function start({ wasmURL, wasmExecURL, module } = {}) {
  const wasm = new URL(wasmURL ?? "./smh.wasm", import.meta.url).href;
  const exec = new URL(wasmExecURL ?? "./wasm_exec.js", import.meta.url).href;
  // Fetch and compile the module while wasm_exec.js loads: neither needs
  // the other until instantiation, and compiling is most of the start-up.
  const compiled = module ? module.then((m) => m ?? compile(wasm)) : compile(wasm);
  compiled.catch(() => {}); // reported below, after the import
  // wasm_exec.js is a classic script that sets globalThis.Go; importing it
  // runs it once. Take the class right away: it must match smh.wasm.
  await import(exec);
  const Go = globalThis.Go;
  if (typeof Go !== "function") {
    throw new Error(`smh-upload: ${exec} did not define Go`);
  }
  const go = new Go();
  const name = `__smhUploadReady_${Math.random().toString(36).slice(2)}`;
  const ready = new Promise((resolve) => {
    globalThis[name] = resolve;
  });
  go.argv = ["smh.wasm", name];
  try {
    const instance = await WebAssembly.instantiate(await compiled, go.importObject);
    const exited = go.run(instance).then(() => {
      throw new Error("smh-upload: the module exited before it was ready");
    });
    const api = await Promise.race([ready, exited]);
    const memory = instance.exports.mem;
    // Bytes of WebAssembly memory in use by the module: what uploads must
    // not grow (parts stay in the browser, not in Go memory).
    Object.defineProperty(api, "memoryBytes", { get: () => memory.buffer.byteLength, enumerable: true });
    return Object.freeze(api);
  } finally {
    delete globalThis[name];
  }
}

async function compile(url) {
  const response = await fetch(url);
  if (!response.ok) {
    throw new Error(`smh-upload: fetching ${url}: HTTP ${response.status}`);
  }
  if (WebAssembly.compileStreaming && response.headers.get("content-type")?.startsWith("application/wasm")) {
    return WebAssembly.compileStreaming(response);
  }
  // A server that does not send application/wasm: compile from the bytes.
  return WebAssembly.compile(await response.arrayBuffer());
}

// serveWorker runs in the Worker that startWorker starts, and nowhere else:
// it serves the page's messages with the module run here. The File or Blob
// arrives structured-cloned (a handle: no bytes are copied), and every byte
// is read, hashed and sent from the Worker. It is exported for the Worker's
// bootstrap and is not part of the API.
export function serveWorker() {
  // The module keeps resumable tasks in localStorage, which a Worker lacks: a
  // map stands in, refreshed from the page with every upload, and every change
  // is written back to the page's localStorage.
  const records = new Map();
  globalThis.localStorage = {
    getItem: (k) => (records.has(k) ? records.get(k) : null),
    setItem: (k, v) => {
      records.set(k, String(v));
      self.postMessage({ type: "store", key: k, value: String(v) });
    },
    removeItem: (k) => {
      records.delete(k);
      self.postMessage({ type: "store", key: k, value: null });
    },
  };

  function errorFields(err) {
    const out = { name: err?.name ?? "Error", message: String(err?.message ?? err) };
    for (const k of ERROR_FIELDS) if (err && typeof err === "object" && k in err) out[k] = err[k];
    return out;
  }

  let smhP;
  let gotModule;
  const module = new Promise((resolve) => (gotModule = resolve));
  const tasks = new Map();
  const tokenWaits = new Map();
  let nextToken = 0;

  self.onmessage = async (e) => {
    const m = e.data;
    if (m.type === "module") {
      gotModule(m.module); // compiled by the page, or null: compile it here
      return;
    }
    if (m.type === "load") {
      smhP = start({ wasmURL: m.wasmURL, wasmExecURL: m.wasmExecURL, module });
      smhP.then(
        (smh) => self.postMessage({ type: "ready", version: smh.version, memory: smh.memoryBytes }),
        (err) => self.postMessage({ type: "failed", err: errorFields(err) }),
      );
      return;
    }
    const smh = await smhP;
    switch (m.type) {
      case "upload": {
        for (const [k, v] of Object.entries(m.records)) records.set(k, v);
        const options = { ...m.options };
        const id = m.id;
        if (m.callbacks.progress) options.onProgress = (p) => self.postMessage({ type: "progress", id, p, memory: smh.memoryBytes });
        options.onEvent = (ev) => {
          if (m.callbacks.event || ev.confirmKey) self.postMessage({ type: m.callbacks.event ? "event" : "key", id, ev, key: ev.confirmKey });
        };
        if (m.callbacks.token) {
          options.getAccessToken = () =>
            new Promise((resolve, reject) => {
              const t = ++nextToken;
              tokenWaits.set(t, { resolve, reject });
              self.postMessage({ type: "token", id, t });
            });
        }
        if (m.options.aborted) {
          const ac = new AbortController();
          ac.abort();
          options.signal = ac.signal;
        }
        delete options.aborted;
        let task;
        try {
          task = smh.upload(m.file, options);
        } catch (err) {
          self.postMessage({ type: "error", id, err: errorFields(err), memory: smh.memoryBytes });
          return;
        }
        tasks.set(id, task);
        task.done.then(
          (v) => self.postMessage({ type: "done", id, v, memory: smh.memoryBytes }),
          (err) => self.postMessage({ type: "error", id, err: errorFields(err), memory: smh.memoryBytes }),
        ).finally(() => tasks.delete(id));
        break;
      }
      case "token": {
        const w = tokenWaits.get(m.t);
        tokenWaits.delete(m.t);
        if (m.error !== undefined) w?.reject(new Error(m.error));
        else w?.resolve(m.token);
        break;
      }
      case "pause":
      case "resume":
        tasks.get(m.id)?.[m.type]();
        break;
      case "cancel": {
        const task = tasks.get(m.id);
        try {
          await task?.cancel();
          self.postMessage({ type: "canceled", id: m.id });
        } catch (err) {
          self.postMessage({ type: "canceled", id: m.id, err: errorFields(err) });
        }
        break;
      }
    }
  };
}

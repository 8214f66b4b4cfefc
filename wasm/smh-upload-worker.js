// smh-upload-worker.js: the entry of the dedicated Worker that smh-upload.js
// starts with new Worker(new URL("./smh-upload-worker.js", import.meta.url),
// { type: "module", name }), which bundlers follow, copy and fingerprint. It
// runs the module off the page's main thread and is not part of the API.
//
// make wasm bundles this file with what it imports and wasm_exec.js
// (esbuild's inject, which runs it first and so defines globalThis.Go) into
// one file: the Worker fetches nothing else before smh.wasm's module arrives
// from the page. The Worker's name carries the URLs of smh.wasm and of
// another wasm_exec.js if the page was given one, so that it can read them
// as soon as it runs: a message from the page would arrive only when the
// page's main thread, busy receiving smh.wasm, got to forwarding it.

import { start, ERROR_FIELDS } from "./smh-upload-run.js";

const files = readName(self.name);

// readName returns the module's files that smh-upload.js put in the Worker's
// name ("smh-upload {json}"), or null when the name does not hold them. exec
// is null for the wasm_exec.js bundled here.
function readName(name) {
  try {
    const { wasm, exec } = JSON.parse(name.replace(/^smh-upload /, ""));
    return typeof wasm === "string" && (exec === null || typeof exec === "string") ? { wasm, exec } : null;
  } catch {
    return null;
  }
}

// serveWorker serves the page's messages with the module run here. The File
// or Blob arrives structured-cloned (a handle: no bytes are copied), and
// every byte is read, hashed and sent from the Worker.
function serveWorker() {
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

  let gotModule;
  const module = new Promise((resolve) => (gotModule = resolve));
  // Go's start needs the compiled module from the page; everything else starts now.
  const smhP = files
    ? start({ wasm: files.wasm, exec: files.exec, module })
    : Promise.reject(new Error("smh-upload: the Worker was started without its files (start it with smh-upload.js)"));
  smhP.then(
    (smh) => self.postMessage({ type: "ready", version: smh.version, memory: smh.memoryBytes }),
    (err) => self.postMessage({ type: "failed", err: errorFields(err) }),
  );
  const tasks = new Map();
  const queues = new Map();
  const flushes = new Map(); // a queue's id → the sender of its pending file events
  // A queue's done results cross in messages of DONE_CHUNK files (see "qdone").
  const DONE_CHUNK = 500;
  // plain makes a queue file's result cloneable: its Error as fields.
  const plain = (f) => (f.error ? { ...f, error: errorFields(f.error) } : f);
  const pools = new Map(); // the page's slots() id → this module's pool
  const tokenWaits = new Map();
  let nextToken = 0;

  // connect gives an upload's or a queue's options what cannot cross as
  // data: getAccessToken asks the page, and a signal the page saw aborted
  // before sending is an aborted one here.
  function connect(m, options) {
    if (m.callbacks.token) {
      options.getAccessToken = () =>
        new Promise((resolve, reject) => {
          const t = ++nextToken;
          tokenWaits.set(t, { resolve, reject });
          self.postMessage({ type: "token", id: m.id, t });
        });
    }
    if (m.options.aborted) {
      const ac = new AbortController();
      ac.abort();
      options.signal = ac.signal;
    }
    delete options.aborted;
  }

  self.onmessage = async (e) => {
    const m = e.data;
    if (m.type === "module") {
      gotModule(m.module); // compiled by the page, or null: compile it here
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
        connect(m, options);
        if (m.options.slots) {
          const { id, size } = m.options.slots;
          if (!pools.has(id)) pools.set(id, smh.slots(size));
          options.slots = pools.get(id);
        }
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
      case "queue": {
        const id = m.id;
        const options = { ...m.options };
        // Always: the page's progress getter reads the last one, which comes at the queue's coalesced rate.
        // File events cross in batches, one message per 50 ms at most: a
        // folder of 10,000 files makes 20,000 of them, and a message apiece
        // costs the page's main thread a task each. Every batch goes before
        // the progress or reply that follows it, so the page sees them in order.
        const files = [];
        let timer = 0;
        const flush = () => {
          clearTimeout(timer);
          timer = 0;
          if (files.length) self.postMessage({ type: "qfiles", id, fs: files.splice(0) });
        };
        flushes.set(id, flush);
        options.onProgress = (p) => {
          flush();
          self.postMessage({ type: "qprogress", id, p, memory: smh.memoryBytes });
        };
        if (m.callbacks.file) {
          options.onFile = (f) => {
            files.push(plain(f));
            timer ||= setTimeout(flush, 50);
          };
        }
        connect(m, options);
        queues.set(id, smh.queue(options));
        break;
      }
      case "qadd":
      case "qcancel":
      case "qdone": {
        const q = queues.get(m.id);
        const reply = (x) => {
          flushes.get(m.id)?.();
          self.postMessage({ type: "qreply", id: m.id, r: m.r, progress: q.progress, memory: smh.memoryBytes, ...x });
        };
        const p = m.type === "qadd" ? q.add(m.items) : m.type === "qcancel" ? q.cancel() : q.done;
        p.then(
          (v) => {
            if (m.type !== "qdone") return reply({ v });
            // done's results cross in messages of DONE_CHUNK files, each a
            // task of its own on the page's main thread: 10,000 in one
            // message took it 125 ms to read.
            for (let i = 0; i < v.length; i += DONE_CHUNK) {
              self.postMessage({ type: "qdonefiles", id: m.id, r: m.r, fs: v.slice(i, i + DONE_CHUNK).map(plain) });
            }
            reply({ files: v.length });
          },
          (err) => reply({ err: errorFields(err) }),
        );
        break;
      }
      case "qpause":
        queues.get(m.id)?.pause();
        break;
      case "qresume":
        queues.get(m.id)?.resume();
        break;
      case "qretry":
        queues.get(m.id)?.retryFailed();
        break;
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

serveWorker();

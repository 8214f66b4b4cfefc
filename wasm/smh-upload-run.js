// smh-upload-run.js: runs the Go module (smh.wasm, with the wasm_exec.js of
// the Go release that built it) in this realm, the page or the module's
// Worker. It is shared by smh-upload.js and smh-upload-worker.js and is not
// part of the API. It takes absolute URLs and locates nothing itself: the
// page resolves the assets (with literal new URL("./x", import.meta.url),
// which bundlers rewrite) and hands them to the Worker, whose own
// import.meta.url a bundler may not keep.

import { checkQueueOptions, frontQueue } from "./smh-upload-folders.js";

// ERROR_FIELDS are the fields of a rejection that cross the Worker boundary.
export const ERROR_FIELDS = ["code", "status", "requestId", "retryable", "confirmKey", "op", "partNumber", "attempts"];

/**
 * start runs the module in this realm. module, if given, is a promise of the
 * compiled smh.wasm, or of null to compile it here (the Worker gets it from
 * the page).
 * @param {{ wasm: string, exec: string | null, module?: Promise<WebAssembly.Module | null> }} options
 */
export async function start({ wasm, exec, module }) {
  // Fetch and compile the module while wasm_exec.js loads: neither needs
  // the other until instantiation, and compiling is most of the start-up.
  const compiled = module ? module.then((m) => m ?? compile(wasm)) : compile(wasm);
  compiled.catch(() => {}); // reported below, after the import
  // Decode the module's data (inflating the deflated part) meanwhile too.
  const data = compiled.then((m) => dataRuns(dataPayload(m)));
  data.catch(() => {}); // reported below
  const Go = await goClass(exec);
  if (typeof Go !== "function") {
    throw new Error(`smh-upload: ${exec ?? "the bundled wasm_exec.js"} did not define Go`);
  }
  const go = new Go();
  const name = `__smhUploadReady_${Math.random().toString(36).slice(2)}`;
  const ready = new Promise((resolve) => {
    globalThis[name] = resolve;
  });
  go.argv = ["smh.wasm", name];
  try {
    const module = await compiled;
    const instance = await WebAssembly.instantiate(module, go.importObject);
    writeData(await data, instance.exports.mem);
    const exited = go.run(instance).then(() => {
      throw new Error("smh-upload: the module exited before it was ready");
    });
    const api = await Promise.race([ready, exited]);
    // A Go callback cannot throw: slots() and queue() check their arguments here.
    const goSlots = api.slots;
    api.slots = (n) => goSlots(checkSlots(n));
    const goQueue = api.queue;
    // The queue's resume records open with the first queue(), not here: an
    // upload() never reads them, and in a fresh profile creating the
    // database cost the start-up 8-19 ms of CPU (README, Performance). The
    // queue hands no file to Go before they are in (frontQueue's ready).
    let records;
    api.queue = (options) => {
      const checked = checkQueueOptions(options);
      records ??= deferredStore(openRecords());
      return frontQueue(goQueue(checked, records.store), records.ready);
    };
    const memory = instance.exports.mem;
    // Bytes of WebAssembly memory in use by the module: what uploads must
    // not grow (parts stay in the browser, not in Go memory).
    Object.defineProperty(api, "memoryBytes", { get: () => memory.buffer.byteLength, enumerable: true });
    return Object.freeze(api);
  } finally {
    delete globalThis[name];
  }
}

// goClasses are the Go classes that wasm_exec.js files defined, by URL.
const goClasses = new Map();

// goClass returns the Go class of the wasm_exec.js at exec, which must match
// smh.wasm, or with no URL the one the Worker's bundle defined as it ran.
// wasm_exec.js is a classic script that sets globalThis.Go: importing it
// runs it once, and a second import of the URL runs nothing, so the class is
// kept by URL (a load() that failed later may be tried again). The URL is an
// asset (bundlers copy it as a file), not a module to bundle.
async function goClass(exec) {
  if (exec == null) return globalThis.Go;
  if (!goClasses.has(exec)) {
    const before = globalThis.Go;
    globalThis.Go = undefined; // the class must be exec's, not an earlier copy's
    try {
      await import(/* webpackIgnore: true */ /* @vite-ignore */ exec);
      goClasses.set(exec, globalThis.Go);
    } finally {
      globalThis.Go ??= before;
    }
  }
  return goClasses.get(exec);
}

// DATA_SECTION is the custom section into which make wasm moves the regular
// part of smh.wasm's data, deflated (wasm/internal/wasmsize.MoveData): Go
// writes about 50,000 segments of a few bytes each, whose data-section
// headers, or the zeros between them, made up 0.8 MB of the file. The rest
// of the data stays in the data section, which instantiation writes.
// DATA_FORMAT is the version of the section's layout.
const DATA_SECTION = "smh.data";
const DATA_FORMAT = 3;

// damaged is the Error for a DATA_SECTION that does not decode.
const damaged = (what) => new Error(`smh-upload: smh.wasm's ${DATA_SECTION} section is damaged (${what})`);

/**
 * dataPayload is the payload of module's DATA_SECTION, or null for a module
 * built without the move (its data section applied at instantiation).
 * @param {WebAssembly.Module} module
 */
export function dataPayload(module) {
  const [section] = WebAssembly.Module.customSections(module, DATA_SECTION);
  return section ? new Uint8Array(section) : null;
}

/**
 * dataRuns decodes the payload of DATA_SECTION into what it writes into
 * memory: the runs' addresses and lengths, and the bytes of all of them, in
 * chunks as they inflated; or null for no payload. The payload is
 * DATA_FORMAT, the number of runs, each run's address and length
 * (ULEB128s), then one raw deflate stream of the runs' bytes, one after the
 * other (wasmsize's packData).
 * @param {Uint8Array | null} src
 * @returns {Promise<{ runs: { addr: number, size: number }[], chunks: Uint8Array[] } | null>}
 */
export async function dataRuns(src) {
  if (!src) return null;
  if (src[0] !== DATA_FORMAT) {
    throw new Error(`smh-upload: smh.wasm's ${DATA_SECTION} section is in format ${src[0]}, not ${DATA_FORMAT}: smh.wasm and smh-upload-run.js come from different builds`);
  }
  let p = 1;
  const uleb = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      // past the end, a read would give undefined, forever
      if (p >= src.length) throw damaged("it ends early");
      const c = src[p++];
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
    }
  };
  const runs = [];
  let total = 0;
  for (let n = uleb(); n > 0; n--) {
    const addr = uleb();
    const size = uleb();
    runs.push({ addr, size });
    total += size;
  }
  const chunks = await inflate(src.subarray(p));
  const got = chunks.reduce((n, c) => n + c.length, 0);
  if (got !== total) throw damaged(`its runs inflate to ${got} bytes, not ${total}`);
  return { runs, chunks };
}

// inflate decompresses raw deflate bytes, natively, into the chunks the
// stream gives. Written straight into the stream: a Blob's stream would pass
// the bytes through the browser process's blob registry, which in a fresh
// profile cost a cold start-up about 100 ms. Read by a reader: in Chromium,
// new Response(readable).arrayBuffer() took about 3 times as long for 1.5 MB
// (medians 38 ms against 13, in 24 chunks).
async function inflate(bytes) {
  try {
    const ds = new DecompressionStream("deflate-raw");
    const writer = ds.writable.getWriter();
    writer.write(bytes).catch(() => {}); // a failure rejects the read below too
    writer.close().catch(() => {});
    const reader = ds.readable.getReader();
    const chunks = [];
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return chunks;
      chunks.push(value);
    }
  } catch (err) {
    throw damaged(`its deflate stream: ${err?.message ?? err}`);
  }
}

/**
 * writeData writes data (dataRuns) into memory, as instantiation writes a
 * data section's segments: before Go's runtime starts, which reads its
 * tables there. The chunks fill the runs in order; a chunk may span runs.
 * @param {{ runs: { addr: number, size: number }[], chunks: Uint8Array[] } | null} data
 * @param {WebAssembly.Memory} memory
 */
export function writeData(data, memory) {
  if (!data) return;
  const mem = new Uint8Array(memory.buffer);
  for (const { addr, size } of data.runs) {
    if (addr + size > mem.length) throw damaged("a run goes past memory");
  }
  let i = 0; // the run being filled
  let done = 0; // its bytes written so far
  for (const chunk of data.chunks) {
    for (let off = 0; off < chunk.length; ) {
      const { addr, size } = data.runs[i];
      const n = Math.min(size - done, chunk.length - off);
      mem.set(chunk.subarray(off, off + n), addr + done);
      off += n;
      done += n;
      if (done === size) {
        i++;
        done = 0;
      }
    }
  }
}

/** compile fetches and compiles smh.wasm, streaming when the server sends application/wasm. */
export async function compile(url) {
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

/** checkSlots returns n, the size of a pool of part slots, or throws a TypeError. */
export function checkSlots(n) {
  if (!Number.isInteger(n) || n < 1) throw new TypeError("smh-upload: slots: the size must be an integer of 1 or more");
  return n;
}

// RECORDS_DB is the IndexedDB database of the queue's resume records: one
// object store of strings by key, as smh.ResumeStore wants.
const RECORDS_DB = "smh-upload";
const RECORDS = "records";

/**
 * openRecords loads the queue's resume records from IndexedDB (there in the
 * page and in a Worker alike) into memory, and resolves to a store with
 * localStorage's getItem/setItem/removeItem and keys(): the Go module reads
 * it synchronously, and each change is written back to IndexedDB behind the
 * call, in batches. Records are hints (the server's part lists stay the
 * truth), so a database that cannot open, or is slow to (another tab
 * upgrading it), resolves to null and queues simply start afresh.
 * @returns {Promise<{getItem(k: string): string | null, setItem(k: string, v: string): void, removeItem(k: string): void, keys(): string[]} | null>}
 */
export function openRecords() {
  if (typeof indexedDB === "undefined") return Promise.resolve(null);
  const opened = new Promise((resolve) => {
    let req;
    try {
      req = indexedDB.open(RECORDS_DB, 1);
    } catch {
      resolve(null); // opaque origins, some private modes
      return;
    }
    req.onupgradeneeded = () => req.result.createObjectStore(RECORDS);
    req.onerror = req.onblocked = () => resolve(null);
    req.onsuccess = () => {
      const db = req.result;
      try {
        const st = db.transaction(RECORDS, "readonly").objectStore(RECORDS);
        const keys = st.getAllKeys();
        const values = st.getAll(); // same transaction: the same order as keys
        values.onsuccess = () => resolve(recordStore(db, keys.result, values.result));
        values.onerror = () => resolve(null);
      } catch {
        resolve(null);
      }
    };
  });
  // A queue's first files must not wait on storage for long: 1 s, then no resume.
  return Promise.race([opened, new Promise((resolve) => setTimeout(resolve, 1000, null))]);
}

/**
 * deferredStore stands for the store that opened (openRecords) will resolve
 * to: Go takes a store when the queue is made, and reads it only once a file
 * starts, which frontQueue holds back until ready. With no database (null)
 * it holds nothing and keeps nothing, as a queue without resume would.
 * @param {Promise<ReturnType<typeof recordStore> | null>} opened
 */
function deferredStore(opened) {
  let st = null;
  return {
    ready: opened.then((s) => {
      st = s;
    }),
    store: {
      getItem: (k) => (st ? st.getItem(k) : null),
      setItem: (k, v) => st?.setItem(k, v),
      removeItem: (k) => st?.removeItem(k),
      keys: () => (st ? st.keys() : []),
    },
  };
}

function recordStore(db, keys, values) {
  const map = new Map();
  keys.forEach((k, i) => {
    if (typeof k === "string" && typeof values[i] === "string") map.set(k, values[i]);
  });
  let pending = new Map(); // key → value, or null to delete
  let flushing = false;
  const flush = () => {
    flushing = false;
    const ops = pending;
    pending = new Map();
    try {
      const st = db.transaction(RECORDS, "readwrite").objectStore(RECORDS);
      for (const [k, v] of ops) {
        if (v === null) st.delete(k);
        else st.put(v, k);
      }
    } catch {
      // closed or full: the records in memory still serve this page
    }
  };
  const write = (k, v) => {
    pending.set(k, v);
    if (!flushing) {
      flushing = true;
      setTimeout(flush, 0); // one transaction for the changes of this turn
    }
  };
  return {
    getItem: (k) => (map.has(k) ? map.get(k) : null),
    setItem: (k, v) => {
      map.set(k, String(v));
      write(k, String(v));
    },
    removeItem: (k) => {
      map.delete(k);
      write(k, null);
    },
    keys: () => [...map.keys()],
  };
}

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
 * @param {{ wasm: string, exec: string, module?: Promise<WebAssembly.Module | null> }} options
 */
export async function start({ wasm, exec, module }) {
  // Fetch and compile the module while wasm_exec.js loads: neither needs
  // the other until instantiation, and compiling is most of the start-up.
  const compiled = module ? module.then((m) => m ?? compile(wasm)) : compile(wasm);
  compiled.catch(() => {}); // reported below, after the import
  // wasm_exec.js is a classic script that sets globalThis.Go; importing it
  // runs it once. Take the class right away: it must match smh.wasm. The
  // URL is an asset (bundlers copy it as a file), not a module to bundle.
  await import(/* webpackIgnore: true */ /* @vite-ignore */ exec);
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
    // A Go callback cannot throw: slots() and queue() check their arguments here.
    const goSlots = api.slots;
    api.slots = (n) => goSlots(checkSlots(n));
    const goQueue = api.queue;
    api.queue = (options) => frontQueue(goQueue(checkQueueOptions(options)));
    const memory = instance.exports.mem;
    // Bytes of WebAssembly memory in use by the module: what uploads must
    // not grow (parts stay in the browser, not in Go memory).
    Object.defineProperty(api, "memoryBytes", { get: () => memory.buffer.byteLength, enumerable: true });
    return Object.freeze(api);
  } finally {
    delete globalThis[name];
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

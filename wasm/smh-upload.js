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

let loading;

/**
 * Loads and starts the module once per page; later calls get the same API.
 * @param {{ wasmURL?: string | URL, wasmExecURL?: string | URL }} [options]
 * @returns {Promise<import("./smh-upload").SMHUpload>}
 */
export function load(options = {}) {
  if (!loading) {
    loading = start(options).catch((err) => {
      loading = undefined; // let a later call try again
      throw err;
    });
  }
  return loading;
}

async function start({ wasmURL, wasmExecURL } = {}) {
  const wasm = new URL(wasmURL ?? "./smh.wasm", import.meta.url).href;
  const exec = new URL(wasmExecURL ?? "./wasm_exec.js", import.meta.url).href;
  // Fetch and compile the module while wasm_exec.js loads: neither needs
  // the other until instantiation, and compiling is most of the start-up.
  const compiled = compile(wasm);
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

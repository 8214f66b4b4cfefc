#!/usr/bin/env node
// Checks smh-upload-run.js's loader of smh.wasm's smh.data section in Node, which has the same
// WebAssembly and DecompressionStream APIs as the browser: the built module's data decodes and lands
// in memory (Go's version string among it), and a damaged or foreign section is refused with a clear
// Error before anything runs. The browser tests run the loader on the way to every upload; this is
// where its refusals are checked.
//
//   node wasm/testdata/data.mjs wasm/dist/smh.wasm
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { dataBlocks, dataPayload, writeData } from "../smh-upload-run.js";

const file = process.argv[2];
if (!file) {
  console.error("usage: node wasm/testdata/data.mjs path/to/smh.wasm");
  process.exit(2);
}
let passed = 0;
async function check(name, f) {
  await f();
  passed++;
  console.log(`ok   ${name}`);
}
const memory = () => new WebAssembly.Memory({ initial: 64 }); // 4 MiB: Go's data ends near 2.2 MB
const uleb = (v) => {
  const out = [];
  do {
    let c = v % 128;
    v = Math.floor(v / 128);
    if (v > 0) c |= 0x80;
    out.push(c);
  } while (v > 0);
  return out;
};
// payload is a section of format 2 with one block at addr: deflated bytes inflating to size, or stored.
const deflated = (addr, bytes, size) => {
  const z = deflateRawSync(Buffer.from(bytes));
  return new Uint8Array([2, ...uleb(addr), ...uleb(z.length * 2 + 1), ...uleb(size), ...z]);
};
const stored = (addr, bytes) => new Uint8Array([2, ...uleb(addr), ...uleb(bytes.length * 2), ...bytes]);
const load = async (payload, mem = memory()) => {
  writeData(await dataBlocks(payload), mem);
  return new Uint8Array(mem.buffer);
};
const refuses = (payload, pattern) => assert.rejects(load(payload), (err) => err instanceof Error && pattern.test(err.message));

const module = await WebAssembly.compile(readFileSync(file));
const payload = dataPayload(module);

await check("the built module's data lands in memory", async () => {
  assert.ok(payload, `${file} has a smh.data section (built by make wasm)`);
  const mem = await load(payload);
  const text = Buffer.from(mem.buffer, 0, 3 << 20).toString("latin1");
  assert.match(text, /go1\.\d+/, "Go's version string is in memory");
  // Decoded here again, with Node's zlib: every block's bytes are at its address.
  let p = 1;
  const read = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const c = payload[p++];
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
    }
  };
  let blocks = 0;
  let inflated = 0;
  while (p < payload.length) {
    const addr = read();
    const h = read();
    const size = h % 2 ? read() : h / 2;
    let bytes = payload.subarray(p, p + Math.floor(h / 2));
    p += bytes.length;
    if (h % 2) {
      bytes = inflateRawSync(bytes);
      inflated++;
    }
    assert.equal(bytes.length, size);
    assert.ok(Buffer.from(mem.buffer, addr, size).equals(bytes), `the block at ${addr} is in memory`);
    blocks++;
  }
  assert.ok(inflated > 0 && inflated < blocks, `some of the ${blocks} blocks are deflated (${inflated})`);
});
await check("blocks go to their addresses", async () => {
  const mem = await load(deflated(1000, [1, 2, 3, 3, 3, 3], 6));
  assert.deepEqual([...mem.subarray(999, 1007)], [0, 1, 2, 3, 3, 3, 3, 0]);
  const m2 = await load(stored(70000, [9, 8]));
  assert.deepEqual([...m2.subarray(70000, 70002)], [9, 8]);
});
await check("a module without the section has no data to write", async () => {
  assert.equal(await dataBlocks(null), null);
  writeData(null, memory()); // nothing to do, no throw
});
await check("another format is refused as another build", () => refuses(new Uint8Array([1, ...payload.subarray(1)]), /format 1, not 2.*different builds/));
await check("a section cut off is refused", () => refuses(payload.subarray(0, payload.length - 10), /damaged \((a block runs past its end|it ends early)\)/));
await check("a header cut off is refused", () => refuses(new Uint8Array([2, 0x80]), /damaged \(it ends early\)/));
await check("broken deflate bytes are refused", () => {
  const broken = payload.slice();
  broken.fill(0xff, broken.length - 40);
  return refuses(broken, /damaged \(a deflated block/);
});
await check("a block that inflates to another length is refused", () => refuses(deflated(0, [1, 2, 3], 4), /damaged \(a block inflates to 3 bytes, not 4\)/));
await check("a block past memory is refused", () => refuses(stored((64 << 16) - 1, [1, 2]), /damaged \(a block runs past memory\)/));
console.log(`${passed} passed, 0 failed`);

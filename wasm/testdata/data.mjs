#!/usr/bin/env node
// Checks smh-upload-run.js's loader of smh.wasm's smh.data section in Node, which has the same
// WebAssembly and DecompressionStream APIs as the browser: the built module's deflated data decodes
// and lands in memory (the rest is in its data section, which instantiation writes), and a damaged or
// foreign section is refused with a clear Error before anything runs. The browser tests run the loader on the way to every upload; this is
// where its refusals are checked.
//
//   node wasm/testdata/data.mjs wasm/dist/smh.wasm
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { dataRuns, dataPayload, writeData } from "../smh-upload-run.js";

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
// payload is a section of format 3: runs, each [addr, bytes], deflated as one stream; size is
// the total that the header says they inflate to (the runs' lengths, unless given).
const payload3 = (runs, size) => {
  const head = [3, ...uleb(runs.length)];
  const sizes = runs.map(([, bytes]) => bytes.length);
  if (size !== undefined) sizes[sizes.length - 1] += size - sizes.reduce((a, b) => a + b, 0);
  runs.forEach(([addr], i) => head.push(...uleb(addr), ...uleb(sizes[i])));
  const z = deflateRawSync(Buffer.concat(runs.map(([, bytes]) => Buffer.from(bytes))));
  return new Uint8Array([...head, ...z]);
};
const load = async (payload, mem = memory()) => {
  writeData(await dataRuns(payload), mem);
  return new Uint8Array(mem.buffer);
};
const refuses = (payload, pattern) => assert.rejects(load(payload), (err) => err instanceof Error && pattern.test(err.message));

const module = await WebAssembly.compile(readFileSync(file));
const payload = dataPayload(module);

await check("the built module's deflated runs land in memory", async () => {
  assert.ok(payload, `${file} has a smh.data section (built by make wasm)`);
  const mem = await load(payload);
  // Decoded here again, with Node's zlib: every run's bytes are at its address.
  let p = 1;
  const read = () => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const c = payload[p++];
      v += (c & 0x7f) * 2 ** shift;
      if (c < 0x80) return v;
    }
  };
  const runs = [];
  for (let n = read(); n > 0; n--) runs.push([read(), read()]);
  const all = inflateRawSync(payload.subarray(p));
  assert.equal(all.length, runs.reduce((sum, [, size]) => sum + size, 0));
  let off = 0;
  for (const [addr, size] of runs) {
    assert.ok(Buffer.from(mem.buffer, addr, size).equals(all.subarray(off, off + size)), `the run at ${addr} is in memory`);
    off += size;
  }
  assert.ok(runs.length > 1, `several runs (${runs.length})`);
});
await check("runs go to their addresses", async () => {
  const mem = await load(payload3([[1000, [1, 2, 3, 3, 3, 3]], [70000, [9, 8]]]));
  assert.deepEqual([...mem.subarray(999, 1007)], [0, 1, 2, 3, 3, 3, 3, 0]);
  assert.deepEqual([...mem.subarray(69999, 70003)], [0, 9, 8, 0]);
});
await check("a module without the section has no data to write", async () => {
  assert.equal(await dataRuns(null), null);
  writeData(null, memory()); // nothing to do, no throw
});
await check("another format is refused as another build", () => refuses(new Uint8Array([2, ...payload.subarray(1)]), /format 2, not 3.*different builds/));
await check("a section cut off is refused", () => refuses(payload.subarray(0, payload.length - 10), /damaged \(its deflate stream/));
await check("a header cut off is refused", () => refuses(new Uint8Array([3, 2, 0x80]), /damaged \(it ends early\)/));
await check("broken deflate bytes are refused", () => {
  const broken = payload.slice();
  broken.fill(0xff, broken.length - 40);
  return refuses(broken, /damaged \(its deflate stream/);
});
await check("runs that inflate to another length are refused", () => refuses(payload3([[0, [1]], [8, [2, 3]]], 4), /damaged \(its runs inflate to 3 bytes, not 4\)/));
await check("a run past memory is refused", () => refuses(payload3([[(64 << 16) - 1, [1, 2]]]), /damaged \(a run goes past memory\)/));
console.log(`${passed} passed, 0 failed`);

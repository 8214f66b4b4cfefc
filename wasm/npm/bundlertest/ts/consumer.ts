// A strict TypeScript consumer of the published types: tsc --noEmit --strict.
import { load, type FileInfo, type LoadOptions, type Progress, type Slots, type SMHError, type UploadTask } from "smh-upload";

export async function send(file: File, getAccessToken: () => Promise<string>): Promise<FileInfo> {
  const options: LoadOptions = { wasmURL: new URL("/assets/smh.wasm", location.href), worker: true };
  const smh = await load(options);
  const slots: Slots = smh.slots(4);
  const task: UploadTask = smh.upload(file, {
    slots,
    endpoint: "https://api.tencentsmh.cn", libraryId: "smhxxxx", path: `videos/${file.name}`,
    getAccessToken, conflict: "overwrite", resume: true, signal: AbortSignal.timeout(60_000),
    onProgress: (p: Progress) => console.log(p.loaded / p.total, p.bytesPerSecond),
    onEvent: (ev) => { if (ev.type === "renew") console.log(ev.reason); },
  });
  setTimeout(() => task.pause(), 1000);
  try {
    const info = await task.done;
    const parts: string[] = info.path;
    const size: number = info.size;
    console.log(parts.join("/"), size, info.crc64.length, smh.version, smh.memoryBytes);
    return info;
  } catch (e) {
    const err = e as SMHError;
    if (err.retryable && err.confirmKey !== "") await task.cancel();
    throw new Error(`${err.code} (${err.status}) in ${err.op}, part ${err.partNumber}`);
  }
}

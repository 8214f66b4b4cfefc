// A strict TypeScript consumer of the queue's published types.
import { load, type QueueFileResult, type QueueOptions, type QueueProgress, type SMHQueue } from "smh-upload";

export async function dropped(event: DragEvent, getAccessToken: () => Promise<string>): Promise<QueueFileResult[]> {
  const smh = await load();
  const options: QueueOptions = {
    endpoint: "https://api.tencentsmh.cn", libraryId: "smhxxxx", path: "inbox", getAccessToken,
    concurrency: 6, files: 8, partSize: 8 << 20, conflict: "rename", resume: true, signal: AbortSignal.timeout(600_000),
    onProgress: (p: QueueProgress) => console.log(p.loaded / p.total, p.done, p.failed, p.left, p.etaSeconds),
    onFile: (f) => { if (f.state === "failed") console.log(f.path, f.error?.code); },
  };
  const queue: SMHQueue = smh.queue(options);
  if (event.dataTransfer) await queue.add(event.dataTransfer);
  const n: number = await queue.add([new File(["x"], "x.txt"), { file: new Blob(["y"]), path: "a/y.txt" }, { path: "empty", directory: true }]);
  console.log(n, queue.progress.added);
  let results = await queue.done;
  if (results.some((r) => r.state === "failed")) {
    queue.retryFailed();
    results = await queue.done;
  }
  queue.pause();
  queue.resume();
  await queue.cancel();
  return results.filter((r) => r.result !== undefined && r.result.crc64 !== "");
}

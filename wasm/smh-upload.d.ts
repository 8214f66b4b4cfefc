// Type declarations for smh-upload.js (the npm package smh-upload).

export interface LoadOptions {
  /**
   * URL of smh.wasm; default the smh.wasm next to smh-upload.js (or, bundled, the copy the bundler
   * emitted). A relative URL resolves against the default's folder: next to smh-upload.js when it is
   * served unbundled; with a bundler, pass an absolute or root-relative URL.
   */
  wasmURL?: string | URL;
  /**
   * URL of the wasm_exec.js of the Go release that built smh.wasm, resolved as wasmURL. The Worker's
   * file holds its own copy and loads this one only when it is given; the page loads it (default next
   * to smh-upload.js) when the module runs there.
   */
  wasmExecURL?: string | URL;
  /**
   * Run the module in a dedicated Worker (smh-upload-worker.js), so reading and hashing file bytes
   * never competes with the page; default true where Workers exist. A Worker that cannot start (a
   * Content-Security-Policy without worker-src, say) leaves the module in the page, with the same API.
   * With a Worker, option checks other than JS types reject `done` instead of throwing.
   */
  worker?: boolean;
}

/** Loads and starts the module once per page; later calls resolve to the same API. */
export function load(options?: LoadOptions): Promise<SMHUpload>;

export interface SMHUpload {
  /** The module version. */
  readonly version: string;
  /** Bytes of WebAssembly memory the module uses now. */
  readonly memoryBytes: number;
  /**
   * Starts uploading file. Returns at once; `task.done` settles with the outcome.
   * Arguments that cannot work reject `done` before any request: a TypeError for a
   * wrong JS type (file not a Blob, options not an object, a callback not a function),
   * an SMHError for a bad value (code EmptyPath, IllegalPath, InvalidPartSize,
   * InvalidConcurrency, InvalidInput).
   */
  upload(file: Blob | File, options: UploadOptions): UploadTask;
  /**
   * A pool of `size` part slots to share between uploads (their `slots` option): they then send
   * `size` parts at a time between them, taking turns, however many files there are. A small
   * file's single PUT takes a slot too. Throws a TypeError unless size is an integer of 1 or more.
   */
  slots(size: number): Slots;
  /**
   * A queue of many files, started at once: multipart files share one pool of `concurrency` part slots,
   * `files` of them at a time, and small files run `smallFiles` at a time beside them; files start in
   * the order added, and a file that fails fails alone. Throws a TypeError for a wrong JS
   * type (options not an object, a callback not a function, signal not an AbortSignal); options that
   * cannot work otherwise reject `add()` and `done` with an SMHError.
   */
  queue(options: QueueOptions): SMHQueue;
}

/** Options of `queue()`: the connection and per-file options of UploadOptions, and the queue's own. */
export interface QueueOptions
  extends Pick<UploadOptions, "endpoint" | "libraryId" | "spaceId" | "accessToken" | "getAccessToken" | "userId"
    | "conflict" | "partSize" | "trafficLimit" | "stallTimeout" | "instantUpload" | "disableIntegrityCheck"> {
  /** Target folder in the library; "" or "/" (the default) for its root. Each file goes to path + "/" + its relative path. */
  path?: string;
  /** Parts in flight across the queue's multipart files (1 MiB and over); default 4. */
  concurrency?: number;
  /** Multipart files under way at once, each with its begin, parts and confirm; default 8. */
  files?: number;
  /**
   * Small files (under 1 MiB: one PUT each) under way at once, beside the multipart ones and taking none
   * of their part slots; default 16. A small file is mostly round trips, so overlapping many is what
   * makes a folder of them fast; their bytes in flight stay under smallFiles MiB.
   */
  smallFiles?: number;
  /**
   * Keep resume records (in IndexedDB) and, when a later page offers the same files again (name, size,
   * lastModified, to the same place), skip those stored (state "skipped", no request) and resume the
   * others from the parts the server holds; default true. Records expire after 7 days; cancel() drops them.
   */
  resume?: boolean;
  /** The queue's totals, coalesced: at most about 10 calls per second, and one with the final totals. */
  onProgress?: (progress: QueueProgress) => void;
  /** Each state change of a file. */
  onFile?: (file: QueueFileResult) => void;
  /** Aborting cancels the queue, as `cancel()`. */
  signal?: AbortSignal;
}

export interface QueueProgress {
  /** Bytes stored or in flight, of every file added. */
  loaded: number;
  total: number;
  /** Files stored, failed (kept for retryFailed), not finished, cancelled, and added in all. */
  done: number;
  failed: number;
  left: number;
  canceled: number;
  added: number;
  /** Of done: files skipped because an earlier page stored them (resume). */
  skipped: number;
  /** 0 when unknown. */
  bytesPerSecond: number;
  /** 0 when unknown. */
  etaSeconds: number;
}

export type QueueFileState = "pending" | "uploading" | "done" | "failed" | "canceled" | "skipped";

export interface QueueFileResult {
  /** Order of adding, from 0. */
  index: number;
  /** The target path in the library. */
  path: string;
  size: number;
  /** "skipped": finished in an earlier page (the resume record). */
  state: QueueFileState;
  /** The stored file, as `upload().done` resolves, when done. */
  result?: FileInfo;
  /** Why, when failed or cancelled (an AbortError). */
  error?: SMHError;
}

/**
 * What `add()` takes. A File or Blob goes to its name (a Blob has none: it fails with EmptyPath);
 * a FileList to each File's webkitRelativePath, else its name; a DataTransfer or
 * DataTransferItemList from a drop is walked, folders and empty folders kept; an iterable may hold
 * Files, `{ file, path }` and `{ path, directory: true }` (a folder, empty or not).
 */
export type QueueItems =
  | Blob
  | File
  | FileList
  | DataTransfer
  | DataTransferItemList
  | Iterable<File | QueueFileItem | QueueFolderItem>;

export interface QueueFileItem {
  file: Blob;
  /** Relative to the queue's path, e.g. "photos/2026/a.jpg". */
  path: string;
}

export interface QueueFolderItem {
  path: string;
  directory: true;
}

export interface SMHQueue {
  /**
   * Adds files (see QueueItems). A drop's entries are taken before add() returns, so call it in the
   * drop handler. Resolves with the number of files added once any folder walk has finished and
   * their folders exist; a file that cannot go (a name SMH refuses, say) is among them, failed.
   * Rejects with an AbortError after cancel.
   */
  add(items: QueueItems): Promise<number>;
  /** Stops the files under way, keeping their parts, and starts no more. */
  pause(): void;
  /** Continues the paused files from the parts the server holds, and starts the rest. */
  resume(): void;
  /** Stops every file for good, deleting the server tasks of those begun. */
  cancel(): Promise<void>;
  /** Queues the failed files again; each resumes from the parts the server kept. */
  retryFailed(): void;
  readonly progress: QueueProgress;
  /**
   * Settles when nothing is pending or uploading and no add() is still walking; each read after more
   * files are added is a new Promise. Never rejects because files failed: resolves to every file's result.
   */
  readonly done: Promise<QueueFileResult[]>;
}

/** A pool of part slots from `slots()`, for the `slots` option of this module's uploads. */
export interface Slots {
  readonly size: number;
}

export type Conflict = "rename" | "overwrite" | "ask";

export interface UploadOptions {
  /** SMH API base URL, e.g. "https://api.tencentsmh.cn". */
  endpoint: string;
  libraryId: string;
  /** "-" (the default) for a single-tenant library. */
  spaceId?: string;
  /** Target path in the library, e.g. "photos/2026/a.jpg". Missing folders are created. */
  path: string;
  /** The access token to start with. */
  accessToken?: string;
  /**
   * Called for a token when there is none yet and again when SMH says the token is
   * invalid (403 InvalidAccessToken); one call serves every request that saw the old token.
   */
  getAccessToken?: () => string | Promise<string>;
  /** user_id, for admin tokens acting as a user. */
  userId?: string;
  /** What to do when the target exists; default "rename". */
  conflict?: Conflict;
  /** Storage upload limit in bytes per second. */
  trafficLimit?: number;
  /** Part size in bytes, 1 MiB to 5 GiB; default 8 MiB, grown so a file needs at most 10,000 parts. */
  partSize?: number;
  /** Parts in flight; default 4. With `slots`, the pool's size counts instead, across its uploads. */
  concurrency?: number;
  /** A pool of part slots shared with other uploads (from `slots()`). */
  slots?: Slots;
  /** Milliseconds a part may send nothing before it is aborted and retried (code "Stalled"); default 60000. */
  stallTimeout?: number;
  /** Create missing parent folders when SMH answers DirectoryNotFound; default true. */
  createParents?: boolean;
  /**
   * Offer SMH the file's hashes first (files of 1 MiB or more): when the library already holds
   * the same bytes the file is created with nothing sent, and onEvent gets { type: "instant" }.
   * Hashing reads the file once more, in 1 MiB steps; default false.
   */
  instantUpload?: boolean;
  /** Skip the CRC-64 check of every part and of the file (for benchmarks); default false. */
  disableIntegrityCheck?: boolean;
  /**
   * Save the task in localStorage so that uploading the same file (name, size,
   * lastModified) to the same target after a reload sends only the missing parts.
   * A finished or cancelled upload removes its record.
   */
  resume?: boolean;
  /** Aborting cancels the upload: it stops, its task is deleted on the server and done rejects with an AbortError. */
  signal?: AbortSignal;
  /** Progress, throttled (about 10 per second) and in order. */
  onProgress?: (progress: Progress) => void;
  /** What the uploader is doing, for logs and UIs. */
  onEvent?: (event: UploadEvent) => void;
}

export interface Progress {
  /** Bytes stored or in flight; never goes backwards. */
  loaded: number;
  total: number;
  /** Average of this run. */
  bytesPerSecond: number;
  partsDone: number;
  partsTotal: number;
}

export type TaskState = "uploading" | "confirming" | "paused" | "canceled" | "done" | "failed";

export interface UploadEvent {
  /**
   * "state": the state changed (see state). "renew": part signatures were renewed, reason
   * "expiring" (ahead of expiration) or "expired" (a part was refused). "retry": an attempt
   * failed and is repeated after delay ms. "token": the access token was (re)fetched.
   * "resume": a task was resumed, partsDone parts were kept.
   * "instant": the library already held the bytes; the file was created without sending them.
   */
  type: "state" | "renew" | "retry" | "token" | "resume" | "instant";
  state: TaskState | "";
  op: string;
  partNumber: number;
  attempt: number;
  /** Milliseconds before the next attempt. */
  delay: number;
  status: number;
  code: string;
  reason: "expiring" | "expired" | "";
  partsDone: number;
  confirmKey: string;
}

export interface UploadTask {
  /** Resolves with the stored file; rejects with an SMHError, or an AbortError after cancel or abort. */
  readonly done: Promise<FileInfo>;
  /** The task's handle on the server, once it has one. */
  readonly confirmKey: string;
  /** Stops sending; uploaded parts stay. */
  pause(): void;
  /** Continues a paused upload: lists the parts the server holds and sends the rest. */
  resume(): void;
  /** Stops the upload and deletes its task and parts on the server (also after a failure). */
  cancel(): Promise<void>;
}

/** The stored file, as SMH's confirm returns it; size is a number. */
export interface FileInfo {
  /** Final path, after any rename, e.g. ["photos", "a (1).jpg"]. */
  path: string[];
  name: string;
  type: string;
  creationTime: string;
  modificationTime: string;
  contentType: string;
  size: number;
  eTag: string;
  /** CRC-64/ECMA-182 of the file as an unsigned decimal string. */
  crc64: string;
  metaData: Record<string, string> | null;
}

/** How every failure rejects. */
export interface SMHError extends Error {
  /** "SMHError", "AbortError" (cancel or abort) or "TypeError" (an argument of the wrong type). */
  name: "SMHError" | "AbortError" | "TypeError";
  /**
   * The SMH or COS code (e.g. "InvalidAccessToken", "NoSuchUpload") or the module's own:
   * "ExpiredSignature", "IntegrityError", "CORSHeadersNotExposed", "NetworkError", "Stalled",
   * "Canceled", "TokenRefreshFailed", "SourceReadError" (the file can no longer be read: deleted
   * or changed on disk; not retried, the parts sent stay until cancel), "EmptyPath",
   * "InvalidPartSize", "InvalidInput", …
   */
  code: string;
  /** HTTP status, 0 when no answer arrived. */
  status: number;
  requestId: string;
  /** A later attempt may succeed. */
  retryable: boolean;
  /** The server task, to resume or cancel; "" when none was begun. */
  confirmKey: string;
  /** Where it failed: "begin", "part", "renew", "confirm", "validate", … */
  op: string;
  partNumber: number;
  attempts: number;
}

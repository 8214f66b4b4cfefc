// smh-upload/uppy: an uploader plugin for @uppy/core that uploads Uppy's
// files to SMH with this package's module, built like Uppy's own uploaders
// (@uppy/tus, @uppy/aws-s3): a BasePlugin of type "uploader" that registers
// an upload function and reports through Uppy's events.
//
//   import Uppy from "@uppy/core";
//   import SMHUpload from "smh-upload/uppy";
//   new Uppy().use(SMHUpload, { endpoint, libraryId, getAccessToken, path: (file) => `inbox/${file.name}` });
//
// Each file is one task of the module (smh.upload), run in its Worker.
// Uppy's pause and resume pause and resume the task; its retry uploads the
// file again, and with resume on (the default here) only the parts the
// server lacks are sent; cancel and removal cancel the task on the server.

import { BasePlugin } from "@uppy/core";
import { load } from "./smh-upload.js";

export default class SMHUpload extends BasePlugin {
  static VERSION = "0.1.0";

  #tasks = new Map(); // Uppy file id → the module's task
  #slots; // the part slots every file of this Uppy shares

  constructor(uppy, opts) {
    super(uppy, { limit: 3, resume: true, ...opts });
    this.id = this.opts.id ?? "SMHUpload";
    this.type = "uploader";
  }

  install() {
    const { capabilities } = this.uppy.getState();
    this.uppy.setState({ capabilities: { ...capabilities, resumableUploads: true } });
    this.uppy.addUploader(this.#upload);
    this.uppy.on("upload-pause", this.#onPause);
    this.uppy.on("pause-all", this.#onPauseAll);
    this.uppy.on("resume-all", this.#onResumeAll);
    this.uppy.on("file-removed", this.#onRemoved);
    this.uppy.on("cancel-all", this.#onCancelAll);
  }

  uninstall() {
    this.uppy.removeUploader(this.#upload);
    this.uppy.off("upload-pause", this.#onPause);
    this.uppy.off("pause-all", this.#onPauseAll);
    this.uppy.off("resume-all", this.#onResumeAll);
    this.uppy.off("file-removed", this.#onRemoved);
    this.uppy.off("cancel-all", this.#onCancelAll);
  }

  #onPause = (file, isPaused) => {
    const task = this.#tasks.get(file?.id);
    if (isPaused) task?.pause();
    else task?.resume();
  };
  #onPauseAll = () => { for (const task of this.#tasks.values()) task.pause(); };
  #onResumeAll = () => { for (const task of this.#tasks.values()) task.resume(); };
  #onRemoved = (file) => { this.#tasks.get(file?.id)?.cancel().catch(() => {}); };
  #onCancelAll = () => { for (const task of this.#tasks.values()) task.cancel().catch(() => {}); };

  // upload runs fileIDs, at most opts.limit files at a time, all of them
  // sending opts.concurrency parts at a time between them (one pool of part
  // slots for the plugin, so more files do not mean more parts in flight).
  #upload = async (fileIDs) => {
    const smh = await load(this.opts.load);
    this.#slots ??= smh.slots(this.opts.concurrency ?? 4);
    const files = this.uppy.getFilesByIds(fileIDs);
    this.uppy.emit("upload-start", files);
    let next = 0;
    const lane = async () => {
      while (next < files.length) await this.#uploadFile(smh, files[next++]);
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.opts.limit, files.length)) }, lane));
  };

  #uploadFile(smh, file) {
    // eslint-disable-next-line no-unused-vars
    const { id, limit, load: _, path, onProgress, ...options } = this.opts;
    const target = typeof path === "function" ? path(file) : `${path ?? ""}${file.name}`;
    const current = () => this.uppy.getFile(file.id);
    let task;
    try {
      task = smh.upload(file.data, {
        ...options,
        slots: this.#slots,
        path: target,
        onProgress: (p) => {
          if (current()) this.uppy.emit("upload-progress", current(), { uploader: this, bytesUploaded: p.loaded, bytesTotal: p.total });
          onProgress?.(p, file);
        },
      });
    } catch (err) {
      this.uppy.emit("upload-error", file, err);
      return Promise.resolve();
    }
    this.#tasks.set(file.id, task);
    if (current()?.isPaused) task.pause();
    return task.done.then(
      (info) => {
        if (current()) this.uppy.emit("upload-success", current(), { status: 200, body: info, uploadURL: info.path.join("/") });
      },
      (err) => {
        // A cancel or a removal rejects with an AbortError: Uppy already knows.
        if (err?.name !== "AbortError" && current()) this.uppy.emit("upload-error", current(), err);
      },
    ).finally(() => this.#tasks.delete(file.id));
  }
}

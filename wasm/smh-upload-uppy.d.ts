// Type declarations for smh-upload/uppy, the uploader plugin for @uppy/core.

import { BasePlugin, type Body, type Meta, type PluginOpts, type Uppy, type UppyFile } from "@uppy/core";
import type { FileInfo, LoadOptions, Progress, UploadOptions } from "./smh-upload.js";

export interface SMHUploadOptions<M extends Meta = Meta, B extends Body = Body>
  extends PluginOpts, Omit<UploadOptions, "path" | "signal" | "onProgress"> {
  /** Target path of a file: a function of the Uppy file, or a prefix for its name; default the name. */
  path?: string | ((file: UppyFile<M, B>) => string);
  /** Files uploading at once; default 3. Their parts share one pool of `concurrency` part slots (default 4). */
  limit?: number;
  /** Options of load(), which the plugin calls once per page. */
  load?: LoadOptions;
  /** Keep tasks resumable, so a retry sends only the parts the server lacks; default true. */
  resume?: boolean;
  /** The module's own progress, besides Uppy's upload-progress. */
  onProgress?: (progress: Progress, file: UppyFile<M, B>) => void;
}

/**
 * Uploads Uppy's files to SMH. Emits upload-progress, upload-success (response.body is the stored
 * FileInfo, with path and crc64; uploadURL the joined path) and upload-error (the SMHError); supports
 * pauseResume, pause-all, resume-all, retry, cancel and removal.
 */
export default class SMHUpload<M extends Meta = Meta, B extends Body = Body> extends BasePlugin<SMHUploadOptions<M, B>, M, B> {
  constructor(uppy: Uppy<M, B>, opts: SMHUploadOptions<M, B>);
}

export type { FileInfo };

// A strict TypeScript consumer of smh-upload/uppy's types, with @uppy/core's own.
import Uppy, { type UppyFile, type Meta, type Body } from "@uppy/core";
import SMHUpload from "smh-upload/uppy";
import type { FileInfo, SMHError } from "smh-upload";

export function dashboardUploader(getAccessToken: () => Promise<string>): Uppy {
  const uppy = new Uppy().use(SMHUpload, {
    endpoint: "https://api.tencentsmh.cn", libraryId: "smhxxxx", getAccessToken,
    path: (file: UppyFile<Meta, Body>) => `inbox/${file.name ?? "unnamed"}`, limit: 3, partSize: 4 << 20,
    onProgress: (p, file) => console.log(file.id, p.loaded / p.total),
  });
  uppy.on("upload-success", (file, response) => {
    const info = response.body as unknown as FileInfo;
    console.log(file?.id, info.path.join("/"), info.crc64);
  });
  uppy.on("upload-error", (file, error) => {
    const err = error as SMHError;
    console.log(file?.id, err.code, err.retryable);
  });
  return uppy;
}

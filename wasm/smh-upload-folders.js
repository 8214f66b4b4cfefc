// smh-upload-folders.js: the page's side of queue(), shared by the module in
// the page and the module in its Worker, and not part of the API. It turns
// what add() takes into a list the module reads: Files and Blobs, FileLists
// and iterables, and a drop's DataTransfer, whose folders are walked here
// (the entries must be taken while the drop event runs; the walk is
// asynchronous). Files keep their path as { file, path }, so that the path
// survives the structured clone into the Worker (which drops
// webkitRelativePath); folders come as { path, directory: true }, empty ones
// too; a file that cannot be read as { path, error }, to fail alone.

/** checkQueueOptions throws a TypeError for options of the wrong JS type, as upload() does. */
export function checkQueueOptions(options) {
  if (options === null || typeof options !== "object") throw new TypeError("smh-upload: queue: the options must be an object");
  for (const name of ["onProgress", "onFile", "getAccessToken"]) {
    const f = options[name];
    if (f != null && typeof f !== "function") throw new TypeError(`smh-upload: queue options: ${name} must be a function`);
  }
  if (options.signal != null && !(options.signal instanceof AbortSignal)) {
    throw new TypeError("smh-upload: queue options: signal must be an AbortSignal");
  }
  return options;
}

const isDataTransfer = (x) => typeof DataTransfer === "function" && x instanceof DataTransfer;
const isItemList = (x) => typeof DataTransferItemList === "function" && x instanceof DataTransferItemList;

/**
 * collect takes items synchronously (a drop's entries are gone once its
 * event ends) and resolves with the list once any folder walk has finished.
 * Wrong types reject with a TypeError.
 */
export function collect(items) {
  try {
    if (isDataTransfer(items)) return walkItems(items.items);
    if (isItemList(items)) return walkItems(items);
    if (items instanceof Blob) return Promise.resolve([fileItem(items)]);
    if (items == null || typeof items[Symbol.iterator] !== "function" || typeof items === "string") {
      throw new TypeError("smh-upload: add: items must be a File, a Blob, a FileList, a DataTransfer or an iterable of them or of { file, path }");
    }
    return Promise.resolve(Array.from(items, (x) => (x instanceof Blob ? fileItem(x) : x)));
  } catch (err) {
    return Promise.reject(err);
  }
}

function fileItem(file, path) {
  return { file, path: path ?? (file.webkitRelativePath || file.name || "") };
}

// walkItems takes every item's entry now, then walks them.
function walkItems(list) {
  const roots = [];
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (item.kind !== "file") continue;
    const entry = item.webkitGetAsEntry?.();
    if (entry) roots.push({ entry });
    else if (typeof item.getAsFileSystemHandle === "function") roots.push({ handle: item.getAsFileSystemHandle(), file: item.getAsFile() });
    else roots.push({ file: item.getAsFile() });
  }
  return (async () => {
    const out = [];
    for (const r of roots) {
      if (r.entry) await walkEntry(r.entry, "", out);
      else if (r.handle) await walkHandle(await r.handle.catch(() => null), "", out, r.file);
      else if (r.file) out.push(fileItem(r.file, r.file.name));
    }
    return out;
  })();
}

/**
 * walkEntry walks a FileSystemEntry (webkitGetAsEntry) into out: files as
 * { file, path }, every folder as { path, directory: true }. A folder's
 * reader gives its children in batches: readEntries is called until it
 * gives none.
 */
export async function walkEntry(entry, prefix, out) {
  const path = prefix + entry.name;
  if (entry.isFile) {
    try {
      out.push({ file: await new Promise((resolve, reject) => entry.file(resolve, reject)), path });
    } catch (err) {
      out.push({ path, error: String(err?.message ?? err) });
    }
    return;
  }
  if (!entry.isDirectory) return;
  out.push({ path, directory: true });
  const reader = entry.createReader();
  for (;;) {
    let batch;
    try {
      batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    } catch (err) {
      out.push({ path, error: `reading the folder: ${err?.message ?? err}` });
      return;
    }
    if (batch.length === 0) return;
    for (const child of batch) await walkEntry(child, path + "/", out);
  }
}

// walkHandle walks a FileSystemHandle (getAsFileSystemHandle) into out; a
// null handle falls back to the item's File.
async function walkHandle(handle, prefix, out, file) {
  if (!handle) {
    if (file) out.push(fileItem(file, file.name));
    return;
  }
  const path = prefix + handle.name;
  if (handle.kind === "file") {
    try {
      out.push({ file: await handle.getFile(), path });
    } catch (err) {
      out.push({ path, error: String(err?.message ?? err) });
    }
    return;
  }
  out.push({ path, directory: true });
  for await (const child of handle.values()) await walkHandle(child, path + "/", out);
}

/**
 * frontQueue wraps a queue whose add takes a collected list (the module's
 * own, or the Worker's through messages) into the API's: add walks first
 * (and waits for ready, if given), and done waits for the adds under way.
 */
export function frontQueue(inner, ready = Promise.resolve()) {
  const walking = new Set();
  const waitDone = () => (walking.size === 0 ? inner.done : Promise.allSettled([...walking]).then(waitDone));
  return Object.freeze({
    add(items) {
      // The files reach Go once they are listed and the queue's resume
      // records are in (ready): a file that starts without them would be
      // sent again.
      const added = Promise.all([collect(items), ready]).then(([list]) => inner.add(list));
      walking.add(added);
      const forget = () => walking.delete(added);
      added.then(forget, forget);
      return added;
    },
    pause: () => inner.pause(),
    resume: () => inner.resume(),
    cancel: () => inner.cancel(),
    retryFailed: () => inner.retryFailed(),
    get progress() { return inner.progress; },
    get done() { return waitDone(); },
  });
}

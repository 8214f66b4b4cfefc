// Package smh uploads files to Tencent Cloud Smart Media Hosting (SMH).
//
// It has two layers, neither of which knows about net/http or syscall/js:
//
//   - Client speaks the SMH upload API: begin (multipart or simple), renew,
//     upload status, confirm, cancel, directories, and access tokens through
//     TokenClient. It sends small JSON requests through a Doer, so a browser
//     build can use fetch and a native build net/http (package smh/nethttp).
//   - Task is the upload engine. It plans parts, sends them with bounded
//     concurrency through a PartPutter, verifies every part's CRC-64/ECMA,
//     keeps the part signatures fresh, retries, reports progress and confirms
//     with the whole-file CRC-64 combined from the part CRCs.
//
// # Lifecycle
//
// A multipart upload is begun (POST …?multipart), which returns a confirm key
// and upload parameters: a storage domain, an object path, an upload id, and
// signed headers valid until an expiration. Parts go straight to the storage
// host (COS) with those headers. Confirm (POST …?confirm) turns the parts into
// the file; cancel (DELETE …?upload) drops the task and its parts.
//
// # Retry, renew, resume, restart
//
// These are four different things and the engine keeps them apart:
//
//   - Retry sends the same part again after a transient failure (network
//     error, stall, 429, 5xx) with capped exponential backoff and full jitter,
//     honouring Retry-After. Each part has a retry budget.
//   - Renew fetches fresh upload parameters for the same task (POST …?renew).
//     It happens ahead of expiration, and when a part is refused because its
//     signature expired; then exactly one renew serves every part in flight
//     and the parts are sent again without spending their retry budget.
//   - Resume continues a task that stopped (pause, crash, reload) from its
//     confirm key: the server's part list (GET …?upload) is the truth, parts
//     whose size and MD5 match the local bytes are kept, the rest are sent.
//   - Restart begins a new task. The engine only restarts simple uploads,
//     whose parameters cannot be renewed.
//
// A failed upload keeps its parts on the server and its *Error carries the
// confirm key, so it can always be resumed or cancelled; only Task.Cancel or
// Client.CancelUpload deletes it.
//
// # Around a Task
//
// ResumableTask saves the confirm key in a ResumeStore (the browser's
// localStorage) under a key made from the file and its target, so a reloaded
// page uploading the same file continues the same task. Job runs a task in
// the background behind Start, Pause, Resume and Cancel that never block,
// which is what an event loop such as a browser's needs. Instant upload
// (Options.InstantUpload) offers SMH the file's hashes first and sends
// nothing when the library already holds the bytes.
package smh

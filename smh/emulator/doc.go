// Package emulator is a stateful local emulator of Tencent Cloud Smart Media Hosting (SMH) and of the COS
// storage host that SMH hands part uploads to. It serves two http.Handlers, as the real service uses two
// hosts: API() for the SMH API (access tokens, begin, renew, status, confirm, cancel, directories) and COS()
// for the part and object PUTs. Start runs both on 127.0.0.1.
//
// The wire formats follow the research note smh-api.md (sections 1, 2, 4, 5, 6 and 8). Where the real service
// is not documented the emulator makes a choice; such choices are marked "guess" in comments.
//
// # Upload lifecycle
//
//	begin (POST …/{path}?multipart)  -> 201 {domain, path, uploadId, headers, confirmKey, expiration}
//	part  (PUT  {domain}{path}?partNumber=N&uploadId=U, with the headers map verbatim) -> 200, ETag, CRC64
//	renew (POST …/{confirmKey}?renew) -> fresh headers and expiration, same uploadId and confirmKey
//	status(GET  …/{confirmKey}?upload) -> the parts stored so far (the resume primitive)
//	confirm (POST …/{confirmKey}?confirm {"crc64":"…"}) -> the file appears at its final path
//	cancel  (DELETE …/{confirmKey}?upload) -> the parts are deleted
//
// A simple upload is the same with PUT …/{path} to begin and one object PUT without uploadId; simple tasks
// cannot be renewed. Instant upload (begin with beginningHash, then fullHash) creates the file without any COS
// traffic when the library already holds the same content.
//
// # State and storage
//
// All state lives in one Emulator behind a mutex, which is never held while a request body is read. With
// Config.Dir empty, part and file bytes are kept in memory; otherwise parts are written to
// Dir/uploads/<uploadId>/<n> and confirmed files to Dir/files/<library>/<space>/<path>. Upload tasks are not
// persisted: a new Emulator on the same Dir sees the confirmed files but not the open tasks.
//
// # Time
//
// Every time decision (token expiry, signature windows, the Date header, <ServerTime>) uses Config.Now plus
// the skew set by SetSkew, so tests drive expiry with a fake clock rather than by sleeping.
//
// # Fault injection
//
// The knobs (ExpireSignatures, FailParts, FailAPI, ResetParts, StallParts, SetLatency, SetSkew, CorruptParts,
// SetExposeHeaders, OnPart, ExpireTokens) are safe to call from any goroutine while requests are in flight.
// Count reports how many requests each operation received, so tests can assert for example exactly one
// renew per expiry.
package emulator

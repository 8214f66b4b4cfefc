// Package emulator is a stateful local emulator of Tencent Cloud Smart Media Hosting (SMH) and of the COS
// storage host that SMH hands part uploads and downloads to. It serves two http.Handlers, as the real
// service uses two hosts: API() for the SMH API and COS() for part and object PUTs and signed GETs. Start
// runs both, on 127.0.0.1 ports chosen at run time by default, over HTTPS with a throwaway self-signed
// certificate when Config.TLS is set (clients default to https: for the COS domain). The command
// smh/cmd/smh-emulator runs the same thing standalone for any SMH client.
//
// The wire formats follow the research note smh-api.md (sections 1, 2, 4, 5, 6 and 8) and, for the calls
// beyond the upload family, the models and docs of Tencent's smh-js-sdk. Where the real service is not
// documented the emulator makes a choice; such choices are marked "guess" in comments. Query flags are
// accepted bare (?multipart) or with a value (?multipart=1); paths may be encoded whole ("%2F") or per
// element, with or without a leading "/".
//
// # Calls
//
//	GET|POST /api/v1/token, POST|DELETE /api/v1/token/{lib}/{token}, DELETE /api/v1/token/{lib}
//	POST …/file/{lib}/{space}/{path}?multipart, PUT …/file/{…}/{path}   begin (multipart, simple)
//	POST …/file/{lib}/{space}/{path}    begin a form upload: {domain, form, confirmKey, expiration}
//	POST ?renew, GET ?upload, POST ?confirm, DELETE ?upload on …/file/{lib}/{space}/{confirmKey}
//	HEAD …/file/{…}/{path}              check file: x-smh-* headers
//	GET  …/file/{…}/{path}?info         file info with cosUrl, a signed COS download URL
//	GET  …/file/{…}/{path}              302 to the same URL
//	DELETE …/file/{…}/{path}            204
//	PUT  …/directory/{…}/{path}         create, with missing parents: 201 (409 when it exists)
//	GET  …/directory/{…}/{path}         list: by-marker=1 (marker, limit) or by-page=1 (page, page_size)
//	GET  …/directory/{…}/{path}?info    file or directory info;  HEAD: directory status
//	DELETE …/directory/{…}/{path}       204, with everything below
//	COS: PUT {path}?partNumber&uploadId, PUT {path}, GET {key}?q-sign-…  (Range: 206, Content-Range)
//	COS: POST / multipart/form-data, the form's fields then file: a form upload, 204 with ETag and CRC-64
//
// With a COS key pair (Config.COSSecretID and COSSecretKey) the COS host also answers the plain COS calls
// a COS SDK makes without SMH, signed with that pair: GET /?uploads (ListMultipartUploads), POST
// /{key}?uploads (InitiateMultipartUpload), GET /{key}?uploadId= (ListParts), PUT
// /{key}?partNumber=&uploadId= (UploadPart), POST /{key}?uploadId= (CompleteMultipartUpload), DELETE
// /{key}?uploadId= (AbortMultipartUpload) and PUT /{key} (PutObject). ObjectInfo and ReadObject inspect
// what they store; OpenMultipartUploads counts the uploads left open.
//
// Access tokens carry grants: begin and renew need an upload grant, confirm an upload or confirm_upload
// grant, directory create create_directory (or an upload grant), deletes delete_file or delete_directory
// (or their _permanent forms); reads need any valid token. admin and space_admin allow everything.
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
// persisted: a new Emulator on the same Dir sees the confirmed files but not the open tasks (nor the
// objects of the plain COS calls, kept in Dir/objects).
//
// With Config.Discard nothing is kept at all: part and object bodies are hashed (CRC-64 and MD5, for the
// answer) and dropped, and confirm checks the part sizes and the CRC-64 combined from the part CRCs. A
// benchmark then measures its client, not the emulator's memory or disk.
//
// # Time
//
// Every time decision (token expiry, upload and download signature windows, the Date header,
// <ServerTime>) uses Config.Now plus the skew set by SetSkew, so tests drive expiry with a fake clock
// rather than by sleeping. The TLS certificate alone uses the wall clock, as clients check it against theirs.
//
// # Fault injection
//
// The knobs (ExpireSignatures, FailParts, FailAPI, ResetParts, StallParts, SetLatency, SetSkew, CorruptParts,
// SetExposeHeaders, OnPart, ExpireTokens) are safe to call from any goroutine while requests are in flight.
// ExpireSignatures expires download URLs as well as part signatures.
// Count and Counts report how many requests each operation received (CORS preflights included, as
// api.preflight and cos.preflight), so tests can assert for example exactly one
// renew per expiry.
package emulator

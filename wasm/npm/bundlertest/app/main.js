// The app every bundler builds: it imports the package by name, as a
// developer's app does, and uploads the files picked in #files to the
// demo server's emulator. Each result lands in #out as an <li> whose data-*
// attributes the test reads.
import { load } from "smh-upload";

async function getAccessToken() {
  const r = await fetch("/api/token", { method: "POST" });
  return (await r.json()).accessToken;
}

async function main() {
  const cfg = await (await fetch("/api/config")).json();
  const smh = await load();
  document.body.dataset.version = smh.version;
  document.querySelector("#files").onchange = (e) => {
    for (const file of e.target.files) {
      const li = document.createElement("li");
      document.querySelector("#out").append(li);
      smh.upload(file, {
        endpoint: cfg.endpoint, libraryId: cfg.libraryId, path: `app/${file.name}`,
        getAccessToken, partSize: 1 << 20, concurrency: 2,
      }).done.then(
        (r) => Object.assign(li.dataset, { state: "done", path: r.path.join("/"), crc64: r.crc64 }),
        (err) => Object.assign(li.dataset, { state: "failed", error: `${err.code || err.name}: ${err.message}` }),
      );
    }
  };
  document.body.dataset.ready = "true";
}

main().catch((err) => {
  document.body.dataset.error = String(err?.stack ?? err);
});

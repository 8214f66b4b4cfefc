// The README's "From npm, in a Vite app": its two lines, against the
// standalone emulator (make emulator EMULATOR_TLS=) on another origin, whose
// ready line the test passes in the query string.
import { load } from "smh-upload";

const { endpoint, libraryId, accessToken } = Object.fromEntries(new URLSearchParams(location.search));
document.querySelector("#files").onchange = async (e) => {
  const file = e.target.files[0];
  const li = document.querySelector("#out").appendChild(document.createElement("li"));
  try {
    const { path, crc64 } = await (await load()).upload(file, { endpoint, libraryId, path: file.name, accessToken }).done;
    Object.assign(li.dataset, { state: "done", path: path.join("/"), crc64 });
  } catch (err) {
    Object.assign(li.dataset, { state: "failed", error: `${err.code || err.name}: ${err.message}` });
  }
};
document.body.dataset.ready = "true";

// Parses an STL, PLY or OBJ file off the main thread for the 3D preview (viewer.js), so a
// large mesh does not freeze the page. Receives { buffer, format }; answers with plain typed
// arrays (transferred, not copied) or { error }. The parsing itself is in mesh-parse.js.
import { parseFailureMessage, parseMeshBuffer, transferables } from "./mesh-parse.js";

self.addEventListener("message", (event) => {
  const { buffer, format } = event.data;
  let result;
  try {
    result = parseMeshBuffer(buffer, format);
  } catch (error) {
    self.postMessage({ error: parseFailureMessage(format, error) });
    return;
  }
  self.postMessage(result, transferables(result));
});

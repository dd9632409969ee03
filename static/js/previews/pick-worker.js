// The design review's worker (review.js): parses the mesh like mesh-worker.js, hands the
// geometry to the page, then stays alive to answer "which surface point is under this ray?"
// from a BVH (bvh.js), so picking on a scan of millions of triangles never blocks the page.
//
// Messages in:
//   { buffer, format, maxTriangles }   once: the downloaded file (transferred)
//   { pick: { origin, direction, id } } a ray in model (file) coordinates
// Messages out:
//   { error }                           the file is unreadable (a sentence for the user)
//   { tooLarge: { triangles } }          more than maxTriangles: nothing is sent or built
//   { mesh }                            the parse result (as mesh-worker.js answers; buffers transferred)
//   { bvhReady: true, ms, triangles }    picking works from now on (ms: the build time here)
//   { bvhReady: false, reason }          nothing to pick ("points": a point cloud has no surface)
//   { id, hit: { point, normal, face, distance } | null, ms }   a pick's answer (ms: time spent here)
// A pick sent before the BVH is ready waits in this worker's queue and is answered after it.
import { TriangleBVH } from "./bvh.js";
import { parseFailureMessage, parseMeshBuffer, transferables } from "./mesh-parse.js";

let bvh = null;

function load({ buffer, format, maxTriangles }) {
  let mesh;
  try {
    mesh = parseMeshBuffer(buffer, format);
  } catch (error) {
    self.postMessage({ error: parseFailureMessage(format, error) });
    return;
  }
  if (maxTriangles && mesh.triangles > maxTriangles) {
    self.postMessage({ tooLarge: { triangles: mesh.triangles, points: mesh.points } });
    return;
  }
  if (mesh.points) {
    self.postMessage({ mesh }, transferables(mesh));
    self.postMessage({ bvhReady: false, reason: "points" });
    return;
  }
  // The page gets the arrays themselves (transferred: drawing starts without a copy on its
  // side); this worker keeps its own copy for picking.
  const positions = mesh.position.slice();
  const index = mesh.index ? mesh.index.slice() : null;
  self.postMessage({ mesh }, transferables(mesh));
  const started = performance.now();
  bvh = new TriangleBVH(positions, index);
  self.postMessage({ bvhReady: true, ms: performance.now() - started, triangles: bvh.triangleCount });
}

function pick({ origin, direction, id }) {
  const started = performance.now();
  const hit = bvh ? bvh.raycast(origin, direction) : null;
  if (hit) {
    // The surface is drawn from both sides (scans are open), so the side the user clicked is
    // the one facing the ray's origin, whatever the file's winding: turn the normal that way.
    const [nx, ny, nz] = hit.normal;
    if (nx * direction[0] + ny * direction[1] + nz * direction[2] > 0) {
      hit.normal = [-nx, -ny, -nz];
    }
  }
  self.postMessage({ id, hit, ms: performance.now() - started });
}

self.addEventListener("message", (event) => {
  if (event.data.pick) {
    pick(event.data.pick);
  } else if (event.data.buffer) {
    load(event.data);
  }
});

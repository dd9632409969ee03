// Parses an STL, PLY or OBJ file into plain typed arrays with three.js's loaders. Imported by
// the workers (mesh-worker.js for the preview dialog and the comparison, pick-worker.js for the
// design review), never by a page: parsing a large mesh on the main thread would freeze it.
import { STLLoader } from "../../vendor/three/examples/jsm/loaders/STLLoader.js";
import { PLYLoader } from "../../vendor/three/examples/jsm/loaders/PLYLoader.js";
import { OBJLoader } from "../../vendor/three/examples/jsm/loaders/OBJLoader.js";
import { BufferGeometry, Float32BufferAttribute } from "../../vendor/three/build/three.module.js";

const FORMAT_NAMES = { stl: "STL", ply: "PLY", obj: "OBJ" };

function concatenate(arrays) {
  const result = new Float32Array(arrays.reduce((sum, array) => sum + array.length, 0));
  let offset = 0;
  for (const array of arrays) {
    result.set(array, offset);
    offset += array.length;
  }
  return result;
}

// An OBJ file becomes a group of meshes (and maybe lines or points): keep its surfaces, as one geometry.
function objGeometry(buffer) {
  const group = new OBJLoader().parse(new TextDecoder().decode(buffer));
  const meshes = [];
  group.traverse((child) => {
    if (child.isMesh && child.geometry.getAttribute("position")) {
      meshes.push(child.geometry.index ? child.geometry.toNonIndexed() : child.geometry);
    }
  });
  const geometry = new BufferGeometry();
  if (!meshes.length) {
    return geometry;
  }
  const attribute = (name) => meshes.map((mesh) => mesh.getAttribute(name));
  geometry.setAttribute("position", new Float32BufferAttribute(concatenate(attribute("position").map((a) => a.array)), 3));
  const normals = attribute("normal");
  if (normals.every(Boolean)) {
    geometry.setAttribute("normal", new Float32BufferAttribute(concatenate(normals.map((a) => a.array)), 3));
  }
  const colors = attribute("color");
  if (colors.every(Boolean)) {
    geometry.setAttribute("color", new Float32BufferAttribute(concatenate(colors.map((a) => a.array)), 3));
  }
  return geometry;
}

// Returns { position, normal, color, index, points, triangles, box: { min, max } }: typed arrays
// (normal, color, index may be null) in the file's own coordinates. Throws on anything unreadable.
export function parseMeshBuffer(buffer, format) {
  let geometry;
  if (format === "stl") {
    geometry = new STLLoader().parse(buffer);
    // STL normals are per facet (and often zero): flat shading computes them on the GPU instead.
    geometry.deleteAttribute("normal");
  } else if (format === "ply") {
    geometry = new PLYLoader().parse(buffer);
  } else if (format === "obj") {
    geometry = objGeometry(buffer);
  } else {
    throw new Error(`unsupported format ${format}`);
  }
  const position = geometry.getAttribute("position");
  if (!position || position.count === 0) {
    throw new Error("no vertices");
  }
  const points = !geometry.index && format === "ply" && position.count % 3 !== 0;
  if (!points && !geometry.index && position.count % 3 !== 0) {
    throw new Error("incomplete triangles");
  }
  if (geometry.index && !geometry.getAttribute("normal")) {
    geometry.computeVertexNormals(); // a connected surface (a scan) looks best smooth
  }
  geometry.computeBoundingBox();
  const { min, max } = geometry.boundingBox;
  if (![min.x, min.y, min.z, max.x, max.y, max.z].every(Number.isFinite)) {
    throw new Error("coordinates are not numbers");
  }
  const normal = geometry.getAttribute("normal");
  const color = geometry.getAttribute("color");
  return {
    position: position.array,
    normal: normal ? normal.array : null,
    color: color ? color.array : null,
    index: geometry.index ? geometry.index.array : null,
    points,
    triangles: points ? position.count : (geometry.index ? geometry.index.count : position.count) / 3,
    box: { min: [min.x, min.y, min.z], max: [max.x, max.y, max.z] },
  };
}

// The sentence shown to the user when parseMeshBuffer throws.
export function parseFailureMessage(format, error) {
  const name = FORMAT_NAMES[format] || "3D";
  return `This file could not be shown in 3D: it does not look like a valid ${name} file (${error.message}).`;
}

// The buffers of a parse result, to transfer (not copy) them in postMessage.
export function transferables(result) {
  return [
    ...new Set([result.position, result.normal, result.color, result.index].filter(Boolean).map((array) => array.buffer)),
  ];
}

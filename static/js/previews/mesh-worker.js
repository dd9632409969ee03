// Parses an STL, PLY or OBJ file off the main thread for the 3D preview (viewer.js), so a
// large mesh does not freeze the page. Receives { buffer, format }; answers with plain typed
// arrays (transferred, not copied) or { error }.
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

function parse(buffer, format) {
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

self.addEventListener("message", (event) => {
  const { buffer, format } = event.data;
  let result;
  try {
    result = parse(buffer, format);
  } catch (error) {
    const name = FORMAT_NAMES[format] || "3D";
    self.postMessage({ error: `This file could not be shown in 3D: it does not look like a valid ${name} file (${error.message}).` });
    return;
  }
  const buffers = new Set(
    [result.position, result.normal, result.color, result.index].filter(Boolean).map((array) => array.buffer)
  );
  self.postMessage(result, [...buffers]);
});

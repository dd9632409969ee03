// A bounding volume hierarchy over the triangles of a mesh, so that a ray (a click on the
// design review's model) finds the surface point under the pointer in well under a
// millisecond, even on a scan of millions of triangles. Used by pick-worker.js; it has no
// dependencies, so it also runs on a page or in a test.
//
// Layout: everything in flat typed arrays (no object per node or triangle, which would cost
// hundreds of MB and long garbage-collection pauses on a large scan).
//   nodeBounds  Float32Array, 6 per node: min x, y, z, max x, y, z
//   nodeData    Uint32Array, 2 per node: a leaf holds (first, count) into `faces`; an inner
//               node holds (left child, 0), its right child is left + 1 (children are
//               allocated in pairs).
//   faces       Uint32Array: the triangle numbers, reordered so each leaf's are contiguous.
// The vertex data is not copied: triangles are read through `faces` from the positions (and
// the index), which the caller must keep unchanged.
//
// Built iteratively (an explicit stack, no recursion that a deep tree could overflow) by a
// binned surface area heuristic along the longest axis of the triangles' centres: 16 bins,
// the split that minimises area × count on both sides, leaves of up to 8 triangles.

const LEAF_SIZE = 8;
const BINS = 16;
// Rays parallel to an axis: 1 / 0 would give Infinity and then 0 × Infinity = NaN in the slab
// test. A tiny component instead gives a huge, finite inverse.
const TINY = 1e-30;
// Barycentric tolerance: a ray through the shared edge of two triangles must hit one of them,
// not slip between both through rounding.
const EDGE = 1e-7;

export class TriangleBVH {
  // positions: Float32Array of x, y, z per vertex. index: null for a non-indexed mesh (three
  // vertices per triangle), else an integer array of three vertex numbers per triangle.
  constructor(positions, index = null, { leafSize = LEAF_SIZE } = {}) {
    this.positions = positions;
    this.index = index;
    this.triangleCount = Math.floor((index ? index.length : positions.length / 3) / 3);
    this.leafSize = Math.max(1, leafSize);
    this._build();
  }

  // The vertex numbers of triangle `face` into out[0..2].
  _vertices(face, out) {
    const base = face * 3;
    if (this.index) {
      out[0] = this.index[base];
      out[1] = this.index[base + 1];
      out[2] = this.index[base + 2];
    } else {
      out[0] = base;
      out[1] = base + 1;
      out[2] = base + 2;
    }
  }

  _build() {
    const count = this.triangleCount;
    const positions = this.positions;
    const faces = new Uint32Array(count);
    // Per triangle, for the build only: its centre and its box.
    const centres = new Float32Array(count * 3);
    const boxes = new Float32Array(count * 6);
    const corner = [0, 0, 0];
    for (let face = 0; face < count; face += 1) {
      faces[face] = face;
      this._vertices(face, corner);
      const a = corner[0] * 3;
      const b = corner[1] * 3;
      const c = corner[2] * 3;
      for (let axis = 0; axis < 3; axis += 1) {
        const p = positions[a + axis];
        const q = positions[b + axis];
        const r = positions[c + axis];
        const low = p < q ? (p < r ? p : r) : q < r ? q : r;
        const high = p > q ? (p > r ? p : r) : q > r ? q : r;
        boxes[face * 6 + axis] = low;
        boxes[face * 6 + 3 + axis] = high;
        centres[face * 3 + axis] = (low + high) * 0.5;
      }
    }

    // Roughly 2 × count / (leafSize / 2) nodes for a balanced tree; grown if the splits are uneven.
    let capacity = Math.max(4, Math.ceil((count / this.leafSize) * 4) + 2);
    let nodeBounds = new Float32Array(capacity * 6);
    let nodeData = new Uint32Array(capacity * 2);
    let nodeCount = 1;
    let maxDepth = 1;

    const binCount = new Int32Array(BINS);
    const binBounds = new Float64Array(BINS * 6);
    const rightArea = new Float64Array(BINS);
    const rightCount = new Int32Array(BINS);

    // Work items: node, first, end (exclusive), depth.
    const stack = [0, 0, count, 1];
    while (stack.length) {
      const depth = stack.pop();
      const end = stack.pop();
      const first = stack.pop();
      const node = stack.pop();
      if (depth > maxDepth) {
        maxDepth = depth;
      }

      // The node's box (from the triangles' boxes) and the box of their centres.
      let minX = Infinity, minY = Infinity, minZ = Infinity, maxX = -Infinity, maxY = -Infinity, maxZ = -Infinity;
      let cMinX = Infinity, cMinY = Infinity, cMinZ = Infinity, cMaxX = -Infinity, cMaxY = -Infinity, cMaxZ = -Infinity;
      for (let i = first; i < end; i += 1) {
        const face = faces[i];
        const o = face * 6;
        if (boxes[o] < minX) minX = boxes[o];
        if (boxes[o + 1] < minY) minY = boxes[o + 1];
        if (boxes[o + 2] < minZ) minZ = boxes[o + 2];
        if (boxes[o + 3] > maxX) maxX = boxes[o + 3];
        if (boxes[o + 4] > maxY) maxY = boxes[o + 4];
        if (boxes[o + 5] > maxZ) maxZ = boxes[o + 5];
        const k = face * 3;
        const x = centres[k];
        const y = centres[k + 1];
        const z = centres[k + 2];
        if (x < cMinX) cMinX = x;
        if (y < cMinY) cMinY = y;
        if (z < cMinZ) cMinZ = z;
        if (x > cMaxX) cMaxX = x;
        if (y > cMaxY) cMaxY = y;
        if (z > cMaxZ) cMaxZ = z;
      }
      const b = node * 6;
      nodeBounds[b] = minX;
      nodeBounds[b + 1] = minY;
      nodeBounds[b + 2] = minZ;
      nodeBounds[b + 3] = maxX;
      nodeBounds[b + 4] = maxY;
      nodeBounds[b + 5] = maxZ;

      const size = end - first;
      if (size <= this.leafSize) {
        nodeData[node * 2] = first;
        nodeData[node * 2 + 1] = size;
        continue;
      }

      const extents = [cMaxX - cMinX, cMaxY - cMinY, cMaxZ - cMinZ];
      const lows = [cMinX, cMinY, cMinZ];
      const axis = extents[0] >= extents[1] ? (extents[0] >= extents[2] ? 0 : 2) : extents[1] >= extents[2] ? 1 : 2;
      const extent = extents[axis];
      const low = lows[axis];
      let middle = -1;
      if (extent > 0) {
        const scale = BINS / extent;
        binCount.fill(0);
        for (let bin = 0; bin < BINS; bin += 1) {
          binBounds[bin * 6] = binBounds[bin * 6 + 1] = binBounds[bin * 6 + 2] = Infinity;
          binBounds[bin * 6 + 3] = binBounds[bin * 6 + 4] = binBounds[bin * 6 + 5] = -Infinity;
        }
        for (let i = first; i < end; i += 1) {
          const face = faces[i];
          let bin = ((centres[face * 3 + axis] - low) * scale) | 0;
          if (bin >= BINS) bin = BINS - 1;
          binCount[bin] += 1;
          const o = face * 6;
          const s = bin * 6;
          if (boxes[o] < binBounds[s]) binBounds[s] = boxes[o];
          if (boxes[o + 1] < binBounds[s + 1]) binBounds[s + 1] = boxes[o + 1];
          if (boxes[o + 2] < binBounds[s + 2]) binBounds[s + 2] = boxes[o + 2];
          if (boxes[o + 3] > binBounds[s + 3]) binBounds[s + 3] = boxes[o + 3];
          if (boxes[o + 4] > binBounds[s + 4]) binBounds[s + 4] = boxes[o + 4];
          if (boxes[o + 5] > binBounds[s + 5]) binBounds[s + 5] = boxes[o + 5];
        }
        // Sweep from the right: area and count of bins bin..BINS-1.
        let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
        let n = 0;
        for (let bin = BINS - 1; bin > 0; bin -= 1) {
          const s = bin * 6;
          if (binCount[bin]) {
            n += binCount[bin];
            x0 = Math.min(x0, binBounds[s]);
            y0 = Math.min(y0, binBounds[s + 1]);
            z0 = Math.min(z0, binBounds[s + 2]);
            x1 = Math.max(x1, binBounds[s + 3]);
            y1 = Math.max(y1, binBounds[s + 4]);
            z1 = Math.max(z1, binBounds[s + 5]);
          }
          rightCount[bin] = n;
          rightArea[bin] = n ? halfArea(x1 - x0, y1 - y0, z1 - z0) : 0;
        }
        // Sweep from the left, keeping the cheapest split "bins < bin | bins >= bin".
        x0 = y0 = z0 = Infinity;
        x1 = y1 = z1 = -Infinity;
        n = 0;
        let bestCost = Infinity;
        let bestBin = -1;
        for (let bin = 1; bin < BINS; bin += 1) {
          const s = (bin - 1) * 6;
          if (binCount[bin - 1]) {
            n += binCount[bin - 1];
            x0 = Math.min(x0, binBounds[s]);
            y0 = Math.min(y0, binBounds[s + 1]);
            z0 = Math.min(z0, binBounds[s + 2]);
            x1 = Math.max(x1, binBounds[s + 3]);
            y1 = Math.max(y1, binBounds[s + 4]);
            z1 = Math.max(z1, binBounds[s + 5]);
          }
          if (n === 0 || rightCount[bin] === 0) {
            continue;
          }
          const cost = n * halfArea(x1 - x0, y1 - y0, z1 - z0) + rightCount[bin] * rightArea[bin];
          if (cost < bestCost) {
            bestCost = cost;
            bestBin = bin;
          }
        }
        if (bestBin > 0) {
          // Partition faces[first, end) in place: left of the split first.
          let i = first;
          let j = end - 1;
          while (i <= j) {
            let bin = ((centres[faces[i] * 3 + axis] - low) * scale) | 0;
            if (bin >= BINS) bin = BINS - 1;
            if (bin < bestBin) {
              i += 1;
            } else {
              const swap = faces[i];
              faces[i] = faces[j];
              faces[j] = swap;
              j -= 1;
            }
          }
          middle = i;
        }
      }
      if (middle <= first || middle >= end) {
        // All centres in one place (or in one bin after rounding): any split is as good as
        // another, halve the list so the tree still ends in small leaves.
        middle = (first + end) >>> 1;
      }

      if (nodeCount + 2 > capacity) {
        capacity *= 2;
        const bounds = new Float32Array(capacity * 6);
        bounds.set(nodeBounds);
        nodeBounds = bounds;
        const data = new Uint32Array(capacity * 2);
        data.set(nodeData);
        nodeData = data;
      }
      const left = nodeCount;
      nodeCount += 2;
      nodeData[node * 2] = left;
      nodeData[node * 2 + 1] = 0;
      stack.push(left + 1, middle, end, depth + 1);
      stack.push(left, first, middle, depth + 1);
    }

    this.faces = faces;
    this.nodeCount = nodeCount;
    this.nodeBounds = nodeBounds.slice(0, nodeCount * 6);
    this.nodeData = nodeData.slice(0, nodeCount * 2);
    this.depth = maxDepth;
    // Traversal pushes at most one node per level plus the sibling: depth + 2 is enough.
    this._stack = new Uint32Array(maxDepth * 2 + 4);
    this._stackDistance = new Float64Array(maxDepth * 2 + 4);
  }

  // The distance along the ray at which it enters node's box, or Infinity if it misses it
  // (or enters beyond `far`).
  _enter(node, ox, oy, oz, ix, iy, iz, far) {
    const b = node * 6;
    const bounds = this.nodeBounds;
    let t0 = (bounds[b] - ox) * ix;
    let t1 = (bounds[b + 3] - ox) * ix;
    let near = t0 < t1 ? t0 : t1;
    let exit = t0 < t1 ? t1 : t0;
    t0 = (bounds[b + 1] - oy) * iy;
    t1 = (bounds[b + 4] - oy) * iy;
    near = Math.max(near, t0 < t1 ? t0 : t1);
    exit = Math.min(exit, t0 < t1 ? t1 : t0);
    t0 = (bounds[b + 2] - oz) * iz;
    t1 = (bounds[b + 5] - oz) * iz;
    near = Math.max(near, t0 < t1 ? t0 : t1);
    exit = Math.min(exit, t0 < t1 ? t1 : t0);
    if (exit < 0 || near > exit || near > far) {
      return Infinity;
    }
    return near < 0 ? 0 : near;
  }

  // The closest triangle hit by the ray origin + t × direction, t in (0, far]. Triangles count
  // from both sides (scans are open surfaces). Returns { point: [x, y, z], normal: [x, y, z]
  // (the unit geometric normal by the triangle's winding, a × b order), face (the triangle's
  // number in the mesh), distance (along the unit direction) } or null.
  raycast(origin, direction, far = Infinity) {
    if (!this.triangleCount) {
      return null;
    }
    const ox = origin[0];
    const oy = origin[1];
    const oz = origin[2];
    const length = Math.hypot(direction[0], direction[1], direction[2]);
    if (!(length > 0)) {
      return null;
    }
    const dx = direction[0] / length;
    const dy = direction[1] / length;
    const dz = direction[2] / length;
    const ix = 1 / (dx === 0 ? TINY : dx);
    const iy = 1 / (dy === 0 ? TINY : dy);
    const iz = 1 / (dz === 0 ? TINY : dz);
    const positions = this.positions;
    const index = this.index;
    const faces = this.faces;
    const nodeData = this.nodeData;
    const stack = this._stack;
    const stackDistance = this._stackDistance;

    let best = far;
    let bestFace = -1;
    let bestSlot = -1;

    const rootEnter = this._enter(0, ox, oy, oz, ix, iy, iz, best);
    if (rootEnter === Infinity) {
      return null;
    }
    let top = 0;
    stack[top] = 0;
    stackDistance[top] = rootEnter;
    top += 1;
    while (top > 0) {
      top -= 1;
      const node = stack[top];
      if (stackDistance[top] > best) {
        continue; // a closer hit was found since this node was pushed
      }
      const count = nodeData[node * 2 + 1];
      if (count) {
        const first = nodeData[node * 2];
        for (let slot = first; slot < first + count; slot += 1) {
          const base = faces[slot] * 3;
          const a = (index ? index[base] : base) * 3;
          const b = (index ? index[base + 1] : base + 1) * 3;
          const c = (index ? index[base + 2] : base + 2) * 3;
          const ax = positions[a];
          const ay = positions[a + 1];
          const az = positions[a + 2];
          // Möller–Trumbore: solve origin + t·d = a + u·e1 + v·e2.
          const e1x = positions[b] - ax;
          const e1y = positions[b + 1] - ay;
          const e1z = positions[b + 2] - az;
          const e2x = positions[c] - ax;
          const e2y = positions[c + 1] - ay;
          const e2z = positions[c + 2] - az;
          const px = dy * e2z - dz * e2y;
          const py = dz * e2x - dx * e2z;
          const pz = dx * e2y - dy * e2x;
          const det = e1x * px + e1y * py + e1z * pz;
          if (det === 0 || !Number.isFinite(det)) {
            continue; // the ray runs in the triangle's plane, or the triangle is degenerate
          }
          const inverse = 1 / det;
          const sx = ox - ax;
          const sy = oy - ay;
          const sz = oz - az;
          const u = (sx * px + sy * py + sz * pz) * inverse;
          if (u < -EDGE || u > 1 + EDGE) {
            continue;
          }
          const qx = sy * e1z - sz * e1y;
          const qy = sz * e1x - sx * e1z;
          const qz = sx * e1y - sy * e1x;
          const v = (dx * qx + dy * qy + dz * qz) * inverse;
          if (v < -EDGE || u + v > 1 + EDGE) {
            continue;
          }
          const t = (e2x * qx + e2y * qy + e2z * qz) * inverse;
          if (t > 0 && t < best) {
            best = t;
            bestFace = faces[slot];
            bestSlot = slot;
          }
        }
        continue;
      }
      // Visit the nearer child first: its hit usually lets the farther one be skipped.
      const left = nodeData[node * 2];
      const right = left + 1;
      const leftEnter = this._enter(left, ox, oy, oz, ix, iy, iz, best);
      const rightEnter = this._enter(right, ox, oy, oz, ix, iy, iz, best);
      const nearFirst = leftEnter <= rightEnter;
      const nearNode = nearFirst ? left : right;
      const farNode = nearFirst ? right : left;
      const nearEnter = nearFirst ? leftEnter : rightEnter;
      const farEnter = nearFirst ? rightEnter : leftEnter;
      if (farEnter !== Infinity) {
        stack[top] = farNode;
        stackDistance[top] = farEnter;
        top += 1;
      }
      if (nearEnter !== Infinity) {
        stack[top] = nearNode;
        stackDistance[top] = nearEnter;
        top += 1;
      }
    }
    if (bestSlot < 0) {
      return null;
    }
    return {
      point: [ox + dx * best, oy + dy * best, oz + dz * best],
      normal: this.faceNormal(bestFace),
      face: bestFace,
      distance: best,
    };
  }

  // The unit normal of triangle `face` by its winding ((b - a) × (c - a)); [0, 0, 0] if degenerate.
  faceNormal(face) {
    const corner = [0, 0, 0];
    this._vertices(face, corner);
    const p = this.positions;
    const a = corner[0] * 3;
    const b = corner[1] * 3;
    const c = corner[2] * 3;
    const e1x = p[b] - p[a];
    const e1y = p[b + 1] - p[a + 1];
    const e1z = p[b + 2] - p[a + 2];
    const e2x = p[c] - p[a];
    const e2y = p[c + 1] - p[a + 1];
    const e2z = p[c + 2] - p[a + 2];
    const nx = e1y * e2z - e1z * e2y;
    const ny = e1z * e2x - e1x * e2z;
    const nz = e1x * e2y - e1y * e2x;
    const length = Math.hypot(nx, ny, nz);
    return length > 0 ? [nx / length, ny / length, nz / length] : [0, 0, 0];
  }
}

// Half the surface area of a box: the surface area heuristic only compares costs, so the
// factor 2 is dropped.
function halfArea(x, y, z) {
  return x * y + y * z + z * x;
}

export function buildBVH(positions, index = null, options = {}) {
  return new TriangleBVH(positions, index, options);
}

// The 3D viewer of the preview dialog (preview.js imports this module on the first click),
// the design review (review.js) and the comparison (compare.js): parses a mesh in a worker
// and draws it with three.js, with orbit/zoom/pan, reset view and wireframe. Dental CAD files
// are in millimetres; the viewer keeps the file's units.
//
// Model and scene coordinates: everything drawn from a file sits in one group (`model`) that
// is moved so that the centre of the part (or the centre the page asks for) is at the scene's
// origin, where the camera orbits. Pages never see scene coordinates: the methods below take
// and return the file's own (model) coordinates, which is what the server stores.
import {
  BufferAttribute,
  BufferGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  Group,
  HemisphereLight,
  Line,
  LineBasicMaterial,
  Mesh,
  MeshStandardMaterial,
  PerspectiveCamera,
  Points,
  PointsMaterial,
  Scene,
  Vector3,
  WebGLRenderer,
} from "../../vendor/three/build/three.module.js";
import { OrbitControls } from "../../vendor/three/examples/jsm/controls/OrbitControls.js";

const BACKGROUND = 0xf1f3f5; // Bootstrap's gray-100: the tests look for pixels that differ from it
const SURFACE = 0xe6dfd1; // a neutral stone-model colour that shows shape well
const SEGMENT = 0x9c2a7a; // measurement lines: stands out against the stone colour and the background
const FIELD_OF_VIEW = 35;

export function parseMesh(buffer, format, run) {
  return new Promise((resolve, reject) => {
    const worker = new Worker(new URL("./mesh-worker.js", import.meta.url), { type: "module" });
    run.worker = worker;
    const finish = () => {
      worker.terminate();
      run.worker = null;
    };
    worker.addEventListener("message", (event) => {
      finish();
      if (event.data.error) {
        const error = new Error(event.data.error);
        error.userMessage = event.data.error;
        reject(error);
      } else {
        resolve(event.data);
      }
    });
    worker.addEventListener("error", (event) => {
      finish();
      reject(new Error(`preview worker failed: ${event.message || "could not start"}`));
    });
    worker.postMessage({ buffer, format }, [buffer]);
  });
}

function buildGeometry(mesh) {
  const geometry = new BufferGeometry();
  geometry.setAttribute("position", new BufferAttribute(mesh.position, 3));
  if (mesh.normal) {
    geometry.setAttribute("normal", new BufferAttribute(mesh.normal, 3));
  }
  if (mesh.color) {
    geometry.setAttribute("color", new BufferAttribute(mesh.color, 3));
  }
  if (mesh.index) {
    geometry.setIndex(new BufferAttribute(mesh.index, 1));
  }
  return geometry;
}

// A mesh (or point cloud) from a parse result. colour: a CSS colour for the surface instead
// of the stone colour (the comparison); opacity < 1 draws it see-through.
function buildObject(mesh, { colour = null, opacity = 1 } = {}) {
  const geometry = buildGeometry(mesh);
  const useVertexColours = Boolean(mesh.color) && !colour;
  const surface = colour ? new Color(colour) : new Color(SURFACE);
  const material = mesh.points
    ? new PointsMaterial({ color: surface, size: 2, sizeAttenuation: false, vertexColors: useVertexColours })
    : new MeshStandardMaterial({
        color: useVertexColours ? 0xffffff : surface,
        vertexColors: useVertexColours,
        roughness: 0.6,
        metalness: 0,
        side: DoubleSide, // scans are open surfaces, seen from both sides
        flatShading: !mesh.normal,
      });
  setOpacity(material, opacity);
  const object = mesh.points ? new Points(geometry, material) : new Mesh(geometry, material);
  return { object, geometry, material };
}

function setOpacity(material, opacity) {
  const seeThrough = opacity < 1;
  if (material.transparent !== seeThrough) {
    material.needsUpdate = true; // switches the shader program
  }
  material.transparent = seeThrough;
  material.opacity = opacity;
  // A see-through surface must not hide what is behind it from the depth test.
  material.depthWrite = !seeThrough;
}

// stage: the element the canvas fills (its size is watched). mesh: a parse result.
// options (all optional; the preview dialog passes none):
//   testid, className  the canvas's data-testid and class (default "preview-canvas")
//   center             [x, y, z] model point the camera orbits and the scene is centred on
//                      (default: the centre of the mesh's box); the comparison passes the
//                      centre of both files' boxes so both sit in the same place
//   frame              { min, max }: the box "Reset view" fits in the picture (default: the mesh's)
//   colour, opacity    the surface's colour and opacity (see buildObject)
export function createViewer(stage, mesh, options = {}) {
  const canvas = document.createElement("canvas");
  canvas.className = options.className || "preview-canvas";
  canvas.dataset.testid = options.testid || "preview-canvas";
  stage.append(canvas);

  // preserveDrawingBuffer: the picture stays readable after drawing (screenshots, the browser test).
  const renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const scene = new Scene();
  scene.background = new Color(BACKGROUND);

  const frame = options.frame || mesh.box;
  const frameMin = new Vector3(...frame.min);
  const frameMax = new Vector3(...frame.max);
  const center = options.center
    ? new Vector3(...options.center)
    : new Vector3().addVectors(new Vector3(...mesh.box.min), new Vector3(...mesh.box.max)).multiplyScalar(0.5);
  const model = new Group();
  model.position.copy(center).negate(); // orbit around the middle of the part
  scene.add(model);

  const parts = []; // { object, geometry, material } of every mesh and line added, for dispose()
  const first = buildObject(mesh, options);
  parts.push(first);
  model.add(first.object);
  const size = new Vector3().subVectors(new Vector3(...mesh.box.max), new Vector3(...mesh.box.min));

  // The radius of the sphere around `center` holding the whole frame box.
  const radius = Math.max(
    new Vector3().subVectors(frameMax, center).length(),
    new Vector3().subVectors(frameMin, center).length(),
    0.001
  );
  const camera = new PerspectiveCamera(FIELD_OF_VIEW, 1, radius / 100, radius * 100);
  camera.up.set(0, 0, 1); // dental CAD files have Z along the tooth axis
  scene.add(new HemisphereLight(0xffffff, 0x7a7a7a, 1.6));
  const headlight = new DirectionalLight(0xffffff, 1.8); // follows the camera: whatever faces you is lit
  headlight.position.set(0.4, 0.6, 1);
  camera.add(headlight);
  scene.add(camera);

  // Created after camera.up is set: OrbitControls fixes its up axis when it is constructed.
  const controls = new OrbitControls(camera, canvas);
  controls.screenSpacePanning = true;
  controls.minDistance = radius / 20;
  controls.maxDistance = radius * 20;

  const renderHooks = new Set();
  let pendingFrame = 0;
  const render = () => {
    if (pendingFrame) {
      cancelAnimationFrame(pendingFrame);
      pendingFrame = 0;
    }
    renderer.render(scene, camera);
    for (const hook of renderHooks) {
      hook();
    }
  };
  // Several changes in one task (a line added, a marker moved) cost one frame.
  const requestRender = () => {
    if (!pendingFrame) {
      pendingFrame = requestAnimationFrame(() => {
        pendingFrame = 0;
        render();
      });
    }
  };
  controls.addEventListener("change", render);

  let flight = null; // the running fly-to animation
  function stopFlight() {
    if (flight) {
      cancelAnimationFrame(flight.frame);
      flight.done();
      flight = null;
    }
  }
  controls.addEventListener("start", stopFlight); // the user takes over

  function reset() {
    stopFlight();
    // Fit the part in the narrower of the two angles of view: on a tall, narrow stage (a
    // phone) the horizontal one is smaller than the vertical FIELD_OF_VIEW.
    const halfVertical = ((FIELD_OF_VIEW / 2) * Math.PI) / 180;
    const halfHorizontal = Math.atan(Math.tan(halfVertical) * camera.aspect);
    const distance = (radius / Math.sin(Math.min(halfVertical, halfHorizontal))) * 0.9;
    camera.position.set(0, -distance * 0.8, distance * 0.6); // from the front, a little above
    controls.target.set(0, 0, 0);
    controls.update();
    render();
  }

  function resize() {
    const width = Math.max(stage.clientWidth, 1);
    const height = Math.max(stage.clientHeight, 1);
    renderer.setSize(width, height, false);
    camera.aspect = width / height;
    camera.updateProjectionMatrix();
    render();
  }

  const toScene = (point) => new Vector3(point[0], point[1], point[2]).sub(center);
  const toModel = (vector) => [vector.x + center.x, vector.y + center.y, vector.z + center.z];

  // The camera in model coordinates: { position, target, up } (what a pin stores).
  function getView() {
    return { position: toModel(camera.position), target: toModel(controls.target), up: camera.up.toArray() };
  }

  // Moves the camera at once. `up` is not applied: the orbit keeps Z up (see above).
  function setView(view) {
    stopFlight();
    camera.position.copy(toScene(view.position));
    controls.target.copy(toScene(view.target));
    if (!controls.update()) {
      render(); // update() renders only when the camera moved
    }
  }

  // Moves the camera to `view` (model coordinates) in `ms` milliseconds, easing in and out.
  // Resolves when it arrives or is interrupted (the user orbits, another flight starts).
  function flyTo(view, ms = 400) {
    stopFlight();
    const fromPosition = camera.position.clone();
    const fromTarget = controls.target.clone();
    const toPosition = toScene(view.position);
    const toTarget = toScene(view.target);
    if (ms <= 0 || window.matchMedia("(prefers-reduced-motion: reduce)").matches) {
      setView(view);
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const started = performance.now();
      flight = { frame: 0, done: resolve };
      const step = (now) => {
        const progress = Math.min(1, (now - started) / ms);
        const eased = progress < 0.5 ? 2 * progress * progress : 1 - (-2 * progress + 2) ** 2 / 2;
        camera.position.lerpVectors(fromPosition, toPosition, eased);
        controls.target.lerpVectors(fromTarget, toTarget, eased);
        controls.update(); // dispatches "change" when the camera moved: renders
        if (progress < 1) {
          flight.frame = requestAnimationFrame(step);
        } else {
          flight = null;
          resolve();
        }
      };
      flight.frame = requestAnimationFrame(step);
    });
  }

  // Where a model point appears on the canvas: x, y in CSS pixels from the canvas's top left
  // corner; inView false when it is behind the camera or outside the picture.
  function project(point) {
    camera.updateMatrixWorld();
    const ndc = toScene(point).project(camera);
    const width = canvas.clientWidth;
    const height = canvas.clientHeight;
    return {
      x: ((ndc.x + 1) / 2) * width,
      y: ((1 - ndc.y) / 2) * height,
      inView: ndc.z > -1 && ndc.z < 1 && Math.abs(ndc.x) <= 1 && Math.abs(ndc.y) <= 1,
    };
  }

  // The ray under a pointer (client coordinates), in model coordinates: { origin, direction }
  // with a unit direction.
  function rayAt(clientX, clientY) {
    camera.updateMatrixWorld();
    const rect = canvas.getBoundingClientRect();
    const x = ((clientX - rect.left) / rect.width) * 2 - 1;
    const y = 1 - ((clientY - rect.top) / rect.height) * 2;
    const direction = new Vector3(x, y, 0.5).unproject(camera).sub(camera.position).normalize();
    return { origin: toModel(camera.position), direction: direction.toArray() };
  }

  // Whether the side of the surface a normal points to faces the camera.
  function faces(point, normal) {
    const eye = toModel(camera.position);
    return normal[0] * (eye[0] - point[0]) + normal[1] * (eye[1] - point[1]) + normal[2] * (eye[2] - point[2]) > 0;
  }

  // A straight line between two model points, drawn over the surface (a measurement).
  // Returns { remove() }.
  function addSegment(from, to, colour = SEGMENT) {
    const geometry = new BufferGeometry();
    geometry.setAttribute("position", new BufferAttribute(new Float32Array([...from, ...to]), 3));
    // depthTest off: the whole line shows even where it runs inside the part.
    const material = new LineBasicMaterial({ color: colour, depthTest: false, transparent: true });
    const object = new Line(geometry, material);
    object.renderOrder = 10;
    const part = { object, geometry, material };
    parts.push(part);
    model.add(object);
    requestRender();
    return {
      remove() {
        model.remove(object);
        geometry.dispose();
        material.dispose();
        parts.splice(parts.indexOf(part), 1);
        requestRender();
      },
    };
  }

  // Another mesh in the same scene and coordinates (the comparison's overlay).
  function addMesh(other, meshOptions = {}) {
    const part = buildObject(other, meshOptions);
    parts.push(part);
    model.add(part.object);
    requestRender();
    return part;
  }

  const observer = new ResizeObserver(resize);
  observer.observe(stage);
  resize();
  reset();

  return {
    size: [size.x, size.y, size.z],
    reset,
    setWireframe(on) {
      for (const { object, material } of parts) {
        if (object.isMesh) {
          material.wireframe = on;
        }
      }
      render();
    },
    dispose() {
      stopFlight();
      cancelAnimationFrame(pendingFrame);
      renderHooks.clear();
      observer.disconnect();
      controls.dispose();
      for (const { geometry, material } of parts) {
        geometry.dispose();
        material.dispose();
      }
      renderer.dispose();
      renderer.forceContextLoss();
      canvas.remove();
    },
    // For the review and comparison pages.
    canvas,
    camera,
    controls,
    object: first.object,
    material: first.material,
    center: center.toArray(),
    radius,
    render,
    requestRender,
    // Calls hook() after every frame (markers follow the model); returns a function removing it.
    onRender(hook) {
      renderHooks.add(hook);
      return () => renderHooks.delete(hook);
    },
    getView,
    setView,
    flyTo,
    project,
    rayAt,
    faces,
    addSegment,
    addMesh,
    setOpacity(material, opacity) {
      setOpacity(material, opacity);
      requestRender();
    },
  };
}

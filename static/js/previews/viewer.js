// The 3D viewer of the preview dialog (preview.js imports this module on the first click):
// parses a mesh in a worker and draws it with three.js, with orbit/zoom/pan, reset view and
// wireframe. Dental CAD files are in millimetres; the viewer keeps the file's units.
import {
  BufferAttribute,
  BufferGeometry,
  Color,
  DirectionalLight,
  DoubleSide,
  HemisphereLight,
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

export function createViewer(stage, mesh) {
  const canvas = document.createElement("canvas");
  canvas.className = "preview-canvas";
  canvas.dataset.testid = "preview-canvas";
  stage.append(canvas);

  // preserveDrawingBuffer: the picture stays readable after drawing (screenshots, the browser test).
  const renderer = new WebGLRenderer({ canvas, antialias: true, preserveDrawingBuffer: true });
  renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
  const scene = new Scene();
  scene.background = new Color(BACKGROUND);

  const geometry = buildGeometry(mesh);
  const material = mesh.points
    ? new PointsMaterial({ color: SURFACE, size: 2, sizeAttenuation: false, vertexColors: Boolean(mesh.color) })
    : new MeshStandardMaterial({
        color: mesh.color ? 0xffffff : SURFACE,
        vertexColors: Boolean(mesh.color),
        roughness: 0.6,
        metalness: 0,
        side: DoubleSide, // scans are open surfaces, seen from both sides
        flatShading: !mesh.normal,
      });
  const object = mesh.points ? new Points(geometry, material) : new Mesh(geometry, material);
  const min = new Vector3(...mesh.box.min);
  const max = new Vector3(...mesh.box.max);
  const size = new Vector3().subVectors(max, min);
  const center = new Vector3().addVectors(min, max).multiplyScalar(0.5);
  object.position.copy(center).negate(); // orbit around the middle of the part
  scene.add(object);

  const radius = Math.max(size.length() / 2, 0.001);
  const camera = new PerspectiveCamera(FIELD_OF_VIEW, 1, radius / 100, radius * 100);
  camera.up.set(0, 0, 1); // dental CAD files have Z along the tooth axis
  scene.add(new HemisphereLight(0xffffff, 0x7a7a7a, 1.6));
  const headlight = new DirectionalLight(0xffffff, 1.8); // follows the camera: whatever faces you is lit
  headlight.position.set(0.4, 0.6, 1);
  camera.add(headlight);
  scene.add(camera);

  const controls = new OrbitControls(camera, canvas);
  controls.screenSpacePanning = true;
  controls.minDistance = radius / 20;
  controls.maxDistance = radius * 20;

  const render = () => renderer.render(scene, camera);
  controls.addEventListener("change", render);

  function reset() {
    const distance = (radius / Math.sin(((FIELD_OF_VIEW / 2) * Math.PI) / 180)) * 0.9;
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

  const observer = new ResizeObserver(resize);
  observer.observe(stage);
  resize();
  reset();

  return {
    size: [size.x, size.y, size.z],
    reset,
    setWireframe(on) {
      if (!mesh.points) {
        material.wireframe = on;
        render();
      }
    },
    dispose() {
      observer.disconnect();
      controls.dispose();
      geometry.dispose();
      material.dispose();
      renderer.dispose();
      renderer.forceContextLoss();
      canvas.remove();
    },
  };
}

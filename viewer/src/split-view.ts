import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { CloudLayer } from './cloud-layer.ts';
import { OctreeLayer } from './octree-layer.ts';

// Colours in the app are display colours: no sRGB <-> linear conversion anywhere.
THREE.ColorManagement.enabled = false;

export const BACKGROUND = 0xf3f4f6;

/** One side of the split: its scene with a point layer, an octree layer and the faint [-1, 1]^3 box. */
export class Side {
  readonly scene = new THREE.Scene();
  readonly cloud = new CloudLayer();
  readonly octree = new OctreeLayer();
  /** Holds everything in data coordinates; rotated when the data's up axis is z. */
  readonly content = new THREE.Group();
  private readonly frame: THREE.LineSegments;

  constructor() {
    this.scene.background = new THREE.Color(BACKGROUND);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8f99, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.2);
    sun.position.set(2, 4, 3);
    this.scene.add(sun);
    this.frame = new THREE.LineSegments(
      new THREE.EdgesGeometry(new THREE.BoxGeometry(2, 2, 2)),
      new THREE.LineBasicMaterial({ color: 0xb8bec8 }),
    );
    this.content.add(this.frame, this.cloud.object, this.octree.object);
    this.scene.add(this.content);
  }

  /** Show the data with `axis` pointing up on screen (z-up data such as ModelNet is turned -90° about x). */
  setUp(axis: 'y' | 'z'): void {
    this.content.rotation.set(axis === 'z' ? -Math.PI / 2 : 0, 0, 0);
  }

  dispose(): void {
    this.cloud.dispose();
    this.octree.dispose();
    this.frame.geometry.dispose();
    (this.frame.material as THREE.Material).dispose();
  }
}

/**
 * Two scenes drawn side by side in one canvas with one shared camera, so both views always move together;
 * OrbitControls on the canvas drive that camera from either half. Renders on demand.
 */
export class SplitView {
  readonly renderer: THREE.WebGLRenderer;
  readonly camera = new THREE.PerspectiveCamera(35, 1, 0.01, 100);
  readonly controls: OrbitControls;
  readonly left = new Side();
  readonly right = new Side();
  /** Called after every frame (tests wait on it; the app updates the URL on camera moves). */
  onRender: (() => void) | null = null;
  private pending = false;
  private readonly resizeObserver: ResizeObserver;

  constructor(private readonly container: HTMLElement) {
    this.renderer = new THREE.WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.outputColorSpace = THREE.LinearSRGBColorSpace;
    this.renderer.setPixelRatio(Math.min(window.devicePixelRatio || 1, 2));
    container.appendChild(this.renderer.domElement);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = false;
    this.controls.addEventListener('change', () => this.requestRender());
    this.resizeObserver = new ResizeObserver(() => this.resize());
    this.resizeObserver.observe(container);
    this.resize();
    this.resetCamera();
  }

  /** Frame the unit sphere in each half, seen from the front-right and a little above. */
  resetCamera(): void {
    const vfov = THREE.MathUtils.degToRad(this.camera.fov);
    const hfov = 2 * Math.atan(Math.tan(vfov / 2) * this.camera.aspect);
    const dist = 1.4 / Math.sin(Math.min(vfov, hfov) / 2);
    this.camera.position.set(0.55, 0.42, 0.72).normalize().multiplyScalar(dist);
    this.controls.target.set(0, 0, 0);
    this.controls.update();
    this.requestRender();
  }

  setCameraPosition(p: readonly [number, number, number]): void {
    this.camera.position.set(p[0], p[1], p[2]);
    this.controls.target.set(0, 0, 0);
    this.controls.update();
    this.requestRender();
  }

  private resize(): void {
    const w = Math.max(1, this.container.clientWidth);
    const h = Math.max(1, this.container.clientHeight);
    this.renderer.setSize(w, h, true);
    this.camera.aspect = w / 2 / h;
    this.camera.updateProjectionMatrix();
    this.renderNow();
  }

  requestRender(): void {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(() => {
      this.pending = false;
      this.renderNow();
    });
  }

  renderNow(): void {
    const size = this.renderer.getSize(new THREE.Vector2());
    const half = Math.floor(size.x / 2);
    this.renderer.setScissorTest(true);
    for (const [side, x, w] of [[this.left, 0, half], [this.right, half, size.x - half]] as const) {
      this.renderer.setViewport(x, 0, w, size.y);
      this.renderer.setScissor(x, 0, w, size.y);
      this.renderer.render(side.scene, this.camera);
    }
    this.renderer.setScissorTest(false);
    this.onRender?.();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.controls.dispose();
    this.left.dispose();
    this.right.dispose();
    this.renderer.dispose();
  }
}

import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { CloudLayer } from './cloud-layer.ts';
import { MeshLayer } from './mesh-layer.ts';
import { OctreeLayer } from './octree-layer.ts';

// Colours in the app are display colours: no sRGB <-> linear conversion anywhere.
THREE.ColorManagement.enabled = false;

export const BACKGROUND = 0xf3f4f6;

/** Standard views: the camera direction (in display coordinates, y up) for each button. */
export const STANDARD_VIEWS = {
  front: [0, 0, 1],
  back: [0, 0, -1],
  top: [0, 1, 0.0001],
  side: [1, 0, 0],
} as const;
export type StandardView = keyof typeof STANDARD_VIEWS;

/**
 * One view of the split: its scene with a point layer, a shaded mesh layer, an octree layer, the faint
 * [-1, 1]^3 box and x/y/z axes (red, green, blue; in data coordinates, so z points up for z-up data).
 */
export class Side {
  readonly scene = new THREE.Scene();
  readonly cloud = new CloudLayer();
  readonly mesh = new MeshLayer();
  readonly octree = new OctreeLayer();
  readonly axes = new THREE.AxesHelper(1.15);
  /** Marks the picked point (drawn over everything, so it shows through the cloud). */
  readonly marker = new THREE.Mesh(
    new THREE.SphereGeometry(1, 16, 12),
    new THREE.MeshBasicMaterial({ color: 0xff1f8f, depthTest: false, transparent: true, opacity: 0.9 }),
  );
  /** Holds everything in data coordinates; rotated when the data's up axis is z. */
  readonly content = new THREE.Group();
  private readonly frame: THREE.LineSegments;

  constructor() {
    this.scene.background = new THREE.Color(BACKGROUND);
    this.scene.add(new THREE.HemisphereLight(0xffffff, 0x8a8f99, 2.2));
    const sun = new THREE.DirectionalLight(0xffffff, 1.2);
    sun.position.set(2, 4, 3);
    this.scene.add(sun);
    this.frame = new THREE.LineSegments(new THREE.EdgesGeometry(new THREE.BoxGeometry(2, 2, 2)), new THREE.LineBasicMaterial({ color: 0xb8bec8 }));
    this.marker.visible = false;
    this.marker.renderOrder = 10;
    this.content.add(this.frame, this.axes, this.mesh.object, this.cloud.object, this.octree.object, this.marker);
    this.scene.add(this.content);
  }

  /** Put the pick marker at a point (data coordinates) with a radius, or hide it (null). */
  mark(at: readonly [number, number, number] | null, radius: number): void {
    this.marker.visible = at !== null;
    if (at) {
      this.marker.position.set(at[0], at[1], at[2]);
      this.marker.scale.setScalar(radius);
    }
  }

  /** Show the data with `axis` pointing up on screen (z-up data such as ModelNet is turned -90° about x). */
  setUp(axis: 'y' | 'z'): void {
    this.content.rotation.set(axis === 'z' ? -Math.PI / 2 : 0, 0, 0);
  }

  dispose(): void {
    this.cloud.dispose();
    this.mesh.dispose();
    this.octree.dispose();
    this.axes.dispose();
    this.marker.geometry.dispose();
    (this.marker.material as THREE.Material).dispose();
    this.frame.geometry.dispose();
    (this.frame.material as THREE.Material).dispose();
  }
}

/**
 * Two or three scenes drawn side by side in one canvas with one shared camera, so all views always move
 * together; OrbitControls on the canvas drive that camera from any of them. Renders on demand.
 */
export class SplitView {
  readonly renderer: THREE.WebGLRenderer;
  readonly camera = new THREE.PerspectiveCamera(35, 1, 0.01, 100);
  readonly controls: OrbitControls;
  readonly sides: readonly Side[] = [new Side(), new Side(), new Side()];
  /** How many of `sides` are drawn (2 or 3). */
  private shown = 2;
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

  get left(): Side {
    return this.sides[0]!;
  }

  get right(): Side {
    return this.sides[1]!;
  }

  get count(): number {
    return this.shown;
  }

  /** Draw the first `n` views (2 or 3). */
  setCount(n: 2 | 3): void {
    if (n === this.shown) return;
    this.shown = n;
    this.resize();
  }

  /** The view under a canvas x offset (CSS pixels), its index and its viewport in CSS pixels. */
  viewAt(x: number): { index: number; left: number; width: number } {
    const w = Math.max(1, this.container.clientWidth);
    const width = w / this.shown;
    const index = Math.min(this.shown - 1, Math.max(0, Math.floor(x / width)));
    return { index, left: index * width, width };
  }

  private distance(): number {
    const vfov = THREE.MathUtils.degToRad(this.camera.fov);
    const hfov = 2 * Math.atan(Math.tan(vfov / 2) * this.camera.aspect);
    return 1.4 / Math.sin(Math.min(vfov, hfov) / 2);
  }

  /** Frame the unit sphere in each view, seen from the front-right and a little above. */
  resetCamera(): void {
    this.camera.position.set(0.55, 0.42, 0.72).normalize().multiplyScalar(this.distance());
    this.controls.target.set(0, 0, 0);
    this.controls.update();
    this.requestRender();
  }

  /** Look at the origin along a standard direction, framing the unit sphere. */
  standardView(v: StandardView): void {
    const [x, y, z] = STANDARD_VIEWS[v];
    this.camera.position.set(x, y, z).normalize().multiplyScalar(this.distance());
    this.camera.up.set(0, 1, 0);
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
    this.camera.aspect = w / this.shown / h;
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
    this.renderer.setScissorTest(true);
    for (let i = 0; i < this.shown; i++) {
      const x = Math.floor((i * size.x) / this.shown);
      const w = Math.floor(((i + 1) * size.x) / this.shown) - x;
      this.renderer.setViewport(x, 0, w, size.y);
      this.renderer.setScissor(x, 0, w, size.y);
      this.renderer.render(this.sides[i]!.scene, this.camera);
    }
    this.renderer.setScissorTest(false);
    this.onRender?.();
  }

  dispose(): void {
    this.resizeObserver.disconnect();
    this.controls.dispose();
    for (const s of this.sides) s.dispose();
    this.renderer.dispose();
  }
}

import * as THREE from 'three';

/** Round sprites for points: a disc used as alpha map (so colours stay the vertex colours); alphaTest cuts the corners. */
function discTexture(): THREE.Texture {
  const c = document.createElement('canvas');
  c.width = c.height = 64;
  const g = c.getContext('2d')!;
  g.fillStyle = '#fff';
  g.beginPath();
  g.arc(32, 32, 30, 0, Math.PI * 2);
  g.fill();
  const t = new THREE.CanvasTexture(c);
  t.colorSpace = THREE.NoColorSpace;
  return t;
}

/** One point cloud as THREE.Points with per-point colours. */
export class CloudLayer {
  readonly object: THREE.Points;
  private readonly material: THREE.PointsMaterial;
  private readonly texture: THREE.Texture;

  constructor() {
    this.texture = discTexture();
    this.material = new THREE.PointsMaterial({ size: 0.03, vertexColors: true, alphaMap: this.texture, alphaTest: 0.5, sizeAttenuation: true });
    this.object = new THREE.Points(new THREE.BufferGeometry(), this.material);
  }

  set(points: Float32Array, colors: Float32Array): void {
    const old = this.object.geometry;
    const g = new THREE.BufferGeometry();
    g.setAttribute('position', new THREE.BufferAttribute(points, 3));
    g.setAttribute('color', new THREE.BufferAttribute(colors, 3));
    g.computeBoundingSphere();
    this.object.geometry = g;
    old.dispose();
  }

  setColors(colors: Float32Array): void {
    this.object.geometry.setAttribute('color', new THREE.BufferAttribute(colors, 3));
  }

  /** World-space point size; `scale` is the user's multiplier. Denser clouds get smaller points. */
  setSize(pointCount: number, scale: number): void {
    this.material.size = scale * Math.min(0.08, Math.max(0.01, 2.4 / Math.sqrt(Math.max(1, pointCount))));
  }

  /** The current world-space point size (picking uses it as the ray's tolerance). */
  get size(): number {
    return this.material.size;
  }

  set visible(v: boolean) {
    this.object.visible = v;
  }

  dispose(): void {
    this.object.geometry.dispose();
    this.material.dispose();
    this.texture.dispose();
  }
}

import * as THREE from 'three';
import type { BoxMode } from './state.ts';

/** The 12 edges of the unit cube centred at the origin, as 24 line-segment endpoints. */
function cubeEdges(): Float32Array {
  const out: number[] = [];
  const c = [-0.5, 0.5];
  for (const a of [0, 1, 2]) {
    const [b, d] = [(a + 1) % 3, (a + 2) % 3];
    for (const u of c) {
      for (const v of c) {
        const p = [0, 0, 0],
          q = [0, 0, 0];
        p[a] = -0.5;
        q[a] = 0.5;
        p[b] = q[b] = u;
        p[d] = q[d] = v;
        out.push(...p, ...q);
      }
    }
  }
  return new Float32Array(out);
}

const WIRE_VERTEX = /* glsl */ `
attribute vec3 offset;
attribute vec3 icolor;
uniform float size;
varying vec3 vColor;
void main() {
  vColor = icolor;
  gl_Position = projectionMatrix * modelViewMatrix * vec4(position * size + offset, 1.0);
}`;
const WIRE_FRAGMENT = /* glsl */ `
varying vec3 vColor;
uniform float opacity;
void main() { gl_FragColor = vec4(vColor, opacity); }`;

/**
 * The non-empty octree cells of one depth as instanced boxes: solid (InstancedMesh, shaded) or wireframe
 * (instanced line segments: the cube's 12 edges, offset per cell in the vertex shader).
 */
export class OctreeLayer {
  readonly object = new THREE.Group();
  private solid: THREE.InstancedMesh | null = null;
  private wire: THREE.LineSegments | null = null;
  private readonly boxGeometry = new THREE.BoxGeometry(1, 1, 1);
  private readonly solidMaterial = new THREE.MeshLambertMaterial({ color: 0xffffff, transparent: true, opacity: 0.85 });
  private readonly wireMaterial = new THREE.ShaderMaterial({
    vertexShader: WIRE_VERTEX,
    fragmentShader: WIRE_FRAGMENT,
    uniforms: { size: { value: 1 }, opacity: { value: 0.9 } },
    transparent: true,
  });

  /** `cells`: integer cell coordinates (3 per cell) at `depth`; `colors`: RGB per cell. */
  set(mode: BoxMode, cells: Int32Array, depth: number, colors: Float32Array): void {
    this.clear();
    const n = cells.length / 3;
    if (mode === 'off' || n === 0) return;
    const size = 2 / (1 << depth);
    const centre = (c: number): number => -1 + (c + 0.5) * size;
    if (mode === 'solid') {
      const mesh = new THREE.InstancedMesh(this.boxGeometry, this.solidMaterial, n);
      const m = new THREE.Matrix4();
      const s = size * 0.9;
      const col = new THREE.Color();
      for (let i = 0; i < n; i++) {
        m.makeScale(s, s, s).setPosition(centre(cells[3 * i]!), centre(cells[3 * i + 1]!), centre(cells[3 * i + 2]!));
        mesh.setMatrixAt(i, m);
        mesh.setColorAt(i, col.setRGB(colors[3 * i]!, colors[3 * i + 1]!, colors[3 * i + 2]!));
      }
      mesh.instanceMatrix.needsUpdate = true;
      if (mesh.instanceColor) mesh.instanceColor.needsUpdate = true;
      mesh.computeBoundingSphere();
      this.solid = mesh;
      this.object.add(mesh);
    } else {
      const g = new THREE.InstancedBufferGeometry();
      g.setAttribute('position', new THREE.BufferAttribute(cubeEdges(), 3));
      const offsets = new Float32Array(3 * n);
      for (let i = 0; i < 3 * n; i++) offsets[i] = centre(cells[i]!);
      g.setAttribute('offset', new THREE.InstancedBufferAttribute(offsets, 3));
      g.setAttribute('icolor', new THREE.InstancedBufferAttribute(colors.slice(0, 3 * n), 3));
      g.instanceCount = n;
      this.wireMaterial.uniforms.size!.value = size;
      const lines = new THREE.LineSegments(g, this.wireMaterial);
      lines.frustumCulled = false;
      this.wire = lines;
      this.object.add(lines);
    }
  }

  clear(): void {
    if (this.solid) {
      this.object.remove(this.solid);
      this.solid.dispose();
      this.solid = null;
    }
    if (this.wire) {
      this.object.remove(this.wire);
      this.wire.geometry.dispose();
      this.wire = null;
    }
  }

  dispose(): void {
    this.clear();
    this.boxGeometry.dispose();
    this.solidMaterial.dispose();
    this.wireMaterial.dispose();
  }
}

import * as THREE from 'three';

/**
 * A mesh file's triangles, shaded (vertex normals from the faces, the scene's hemisphere + sun lights), drawn
 * under the sampled points. Pushed back a little in depth so points lying on the surface stay visible.
 */
export class MeshLayer {
  readonly object: THREE.Mesh;
  private readonly material = new THREE.MeshStandardMaterial({
    color: 0xc4c9d2,
    roughness: 0.75,
    metalness: 0,
    side: THREE.DoubleSide,
    polygonOffset: true,
    polygonOffsetFactor: 1,
    polygonOffsetUnits: 1,
  });

  constructor() {
    this.object = new THREE.Mesh(new THREE.BufferGeometry(), this.material);
    this.object.visible = false;
  }

  /** `vertices` already in the view's frame; null clears the layer. */
  set(vertices: Float32Array | null, faces: Uint32Array | null): void {
    const old = this.object.geometry;
    const g = new THREE.BufferGeometry();
    if (vertices && faces) {
      g.setAttribute('position', new THREE.BufferAttribute(vertices, 3));
      g.setIndex(new THREE.BufferAttribute(faces, 1));
      g.computeVertexNormals();
      g.computeBoundingSphere();
    }
    this.object.geometry = g;
    old.dispose();
    this.object.visible = !!(vertices && faces);
  }

  get triangles(): number {
    const i = this.object.geometry.getIndex();
    return i ? i.count / 3 : 0;
  }

  set visible(v: boolean) {
    this.object.visible = v && this.triangles > 0;
  }

  get visible(): boolean {
    return this.object.visible;
  }

  dispose(): void {
    this.object.geometry.dispose();
    this.material.dispose();
  }
}

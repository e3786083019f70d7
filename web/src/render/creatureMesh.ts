/** three.js mesh of a creature: node spheres and muscle cylinders (reference §7.10). */
import {
  Color,
  CylinderGeometry,
  Group,
  Mesh,
  MeshStandardMaterial,
  Quaternion,
  SphereGeometry,
  Vector3,
} from 'three';
import type { Hsl, Vec3 } from '../types';
import { type Body, heatColor, muscleColors, muscleRadius, nodeLook } from './body';

// Shared by every creature mesh; never disposed.
const SPHERE = new SphereGeometry(1, 20, 14);
const CYLINDER = new CylinderGeometry(1, 1, 1, 10, 1);
const UP = new Vector3(0, 1, 0);
const tmpA = new Vector3();
const tmpB = new Vector3();
const tmpDir = new Vector3();
const tmpQ = new Quaternion();

function toColor(c: Hsl): Color {
  return new Color().setHSL(c.h, c.s, c.l);
}

export class CreatureMesh {
  readonly group = new Group();
  private readonly nodes: Mesh<SphereGeometry, MeshStandardMaterial>[] = [];
  private readonly muscles: Mesh<CylinderGeometry, MeshStandardMaterial>[] = [];
  private readonly baseColors: Color[];
  private readonly radii: number[];

  constructor(readonly body: Body) {
    body.sizes.forEach((size, i) => {
      const look = nodeLook(body.frictions[i] ?? 0.5);
      const mat = new MeshStandardMaterial({
        color: toColor(look.color),
        roughness: look.roughness,
        metalness: look.metalness,
      });
      const mesh = new Mesh(SPHERE, mat);
      mesh.scale.setScalar(size / 2);
      this.nodes.push(mesh);
      this.group.add(mesh);
    });
    const colors = muscleColors(body);
    this.baseColors = colors.map(toColor);
    this.radii = body.muscles.map((_, j) => muscleRadius(body, j));
    body.muscles.forEach((_, j) => {
      const mat = new MeshStandardMaterial({
        color: this.baseColors[j].clone(),
        emissive: this.baseColors[j].clone(),
        emissiveIntensity: 0.15,
        roughness: 0.5,
        metalness: 0.1,
      });
      const mesh = new Mesh(CYLINDER, mat);
      this.muscles.push(mesh);
      this.group.add(mesh);
    });
  }

  /** Move nodes to `pose` (one [x,y,z] per node) and stretch the muscles between them. */
  setPose(pose: Vec3[], scale = 1, offset: Vec3 = [0, 0, 0]): void {
    this.nodes.forEach((mesh, i) => {
      const p = pose[i];
      if (!p) return;
      mesh.position.set((p[0] - offset[0]) * scale, (p[1] - offset[1]) * scale, (p[2] - offset[2]) * scale);
      mesh.scale.setScalar((this.body.sizes[i] / 2) * scale);
    });
    this.body.muscles.forEach(([a, b], j) => {
      const mesh = this.muscles[j];
      const na = this.nodes[a];
      const nb = this.nodes[b];
      if (!na || !nb) {
        mesh.visible = false;
        return;
      }
      tmpA.copy(na.position);
      tmpB.copy(nb.position);
      tmpDir.subVectors(tmpB, tmpA);
      const len = tmpDir.length();
      mesh.visible = len > 1e-6;
      if (!mesh.visible) return;
      mesh.position.addVectors(tmpA, tmpB).multiplyScalar(0.5);
      tmpQ.setFromUnitVectors(UP, tmpDir.divideScalar(len));
      mesh.quaternion.copy(tmpQ);
      const r = this.radii[j] * scale;
      mesh.scale.set(r, len, r);
    });
  }

  /** Recolour muscles by neural output (null restores the frequency colours). */
  setActivations(acts: number[] | null): void {
    this.muscles.forEach((mesh, j) => {
      const a = acts ? acts[j] : undefined;
      const heat = a === undefined ? null : heatColor(a);
      const mat = mesh.material;
      if (heat) {
        mat.color.setHSL(heat.h, heat.s, heat.l);
        mat.emissive.copy(mat.color);
        mat.emissiveIntensity = 0.3 + 0.4 * Math.abs(a!);
      } else {
        mat.color.copy(this.baseColors[j]);
        mat.emissive.copy(this.baseColors[j]);
        mat.emissiveIntensity = 0.15;
      }
    });
  }

  dispose(): void {
    for (const m of [...this.nodes, ...this.muscles]) m.material.dispose();
    this.group.clear();
  }
}

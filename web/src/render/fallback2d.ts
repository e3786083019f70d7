/** Canvas2D drawing of a creature through a perspective camera, for browsers without WebGL. */
import type { Vec3 } from '../types';
import { type Body, hslToCss, muscleColors, muscleRadius, nodeLook } from './body';

export interface Camera2D {
  eye: Vec3;
  target: Vec3;
  fovDeg: number;
}

type V = [number, number, number];
const sub = (a: V, b: V): V => [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
const dot = (a: V, b: V): number => a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
const cross = (a: V, b: V): V => [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
const norm = (a: V): V => {
  const l = Math.hypot(a[0], a[1], a[2]) || 1;
  return [a[0] / l, a[1] / l, a[2] / l];
};

/** Returns a projector: world point -> [screen x, screen y, depth, pixels per world unit]. */
export function projector(cam: Camera2D, width: number, height: number) {
  const fwd = norm(sub(cam.target, cam.eye));
  const right = norm(cross(fwd, [0, 1, 0]));
  const up = cross(right, fwd);
  const f = height / 2 / Math.tan(((cam.fovDeg / 2) * Math.PI) / 180);
  return (p: Vec3): [number, number, number, number] => {
    const d = sub(p, cam.eye);
    const z = Math.max(dot(d, fwd), 0.05);
    return [width / 2 + (dot(d, right) / z) * f, height / 2 - (dot(d, up) / z) * f, z, f / z];
  };
}

export function drawGround(ctx: CanvasRenderingContext2D, cam: Camera2D, w: number, h: number, half = 15): void {
  const proj = projector(cam, w, h);
  ctx.strokeStyle = 'rgba(120, 130, 160, 0.25)';
  ctx.lineWidth = 1;
  for (let i = -half; i <= half; i += 1) {
    for (const [a, b] of [
      [[i, 0, -half], [i, 0, half]],
      [[-half, 0, i], [half, 0, i]],
    ] as [Vec3, Vec3][]) {
      const pa = proj(a);
      const pb = proj(b);
      ctx.beginPath();
      ctx.moveTo(pa[0], pa[1]);
      ctx.lineTo(pb[0], pb[1]);
      ctx.stroke();
    }
  }
}

export function drawBody2D(
  ctx: CanvasRenderingContext2D,
  cam: Camera2D,
  w: number,
  h: number,
  body: Body,
  pose: Vec3[],
  muscleOverride: (string | null)[] | null = null,
  scale = 1,
): void {
  const proj = projector(cam, w, h);
  const pts = pose.map(proj);
  const colors = muscleColors(body);
  body.muscles.forEach(([a, b], j) => {
    const pa = pts[a];
    const pb = pts[b];
    if (!pa || !pb) return;
    ctx.strokeStyle = muscleOverride?.[j] ?? hslToCss(colors[j]);
    ctx.lineWidth = Math.max(1, muscleRadius(body, j) * 2 * scale * ((pa[3] + pb[3]) / 2));
    ctx.lineCap = 'round';
    ctx.beginPath();
    ctx.moveTo(pa[0], pa[1]);
    ctx.lineTo(pb[0], pb[1]);
    ctx.stroke();
  });
  const order = pts.map((_, i) => i).sort((i, j) => pts[j][2] - pts[i][2]);
  for (const i of order) {
    const p = pts[i];
    const look = nodeLook(body.frictions[i] ?? 0.5);
    const r = Math.max(1.5, ((body.sizes[i] ?? 0.5) / 2) * scale * p[3]);
    const grad = ctx.createRadialGradient(p[0] - r / 3, p[1] - r / 3, r / 6, p[0], p[1], r);
    grad.addColorStop(0, hslToCss({ ...look.color, l: Math.min(0.85, look.color.l + 0.25) }));
    grad.addColorStop(1, hslToCss(look.color));
    ctx.fillStyle = grad;
    ctx.beginPath();
    ctx.arc(p[0], p[1], r, 0, Math.PI * 2);
    ctx.fill();
  }
}

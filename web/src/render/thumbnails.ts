/**
 * Card thumbnails from ONE shared offscreen WebGLRenderer. Requests are batched: up to ATLAS_COLS x ATLAS_ROWS
 * creatures are rendered into tiles of one canvas (viewport + scissor per tile), then each tile is copied into
 * its card's own 2D canvas, so the GPU->canvas copy (the expensive part) happens once per batch, not per card.
 * Falls back to a Canvas2D projection without WebGL.
 */
import { AmbientLight, DirectionalLight, PerspectiveCamera, Scene, WebGLRenderer } from 'three';
import type { Vec3 } from '../types';
import type { Body } from './body';
import { CreatureMesh } from './creatureMesh';
import { type Camera2D, drawBody2D } from './fallback2d';
import { markWebglBroken, webglAvailable } from './webgl';

export const THUMB_SIZE = 160;
const ATLAS_COLS = 8;
const ATLAS_ROWS = 4;
const BG = '#1e1e2a';
const CAM: Camera2D = { eye: [3, 2.5, 3], target: [0, 0.3, 0], fovDeg: 45 };

interface Job {
  canvas: HTMLCanvasElement;
  body: Body;
  pose: Vec3[];
}

let renderer: WebGLRenderer | null = null;
let scene: Scene | null = null;
let camera: PerspectiveCamera | null = null;
const queue: Job[] = [];
const pending = new WeakMap<HTMLCanvasElement, Job>();
let scheduled = false;

function ensureRenderer(): WebGLRenderer | null {
  if (renderer) return renderer;
  if (!webglAvailable()) return null;
  try {
    const canvas = document.createElement('canvas');
    canvas.width = THUMB_SIZE * ATLAS_COLS;
    canvas.height = THUMB_SIZE * ATLAS_ROWS;
    renderer = new WebGLRenderer({ canvas, antialias: true, alpha: false });
    renderer.setPixelRatio(1);
    renderer.setSize(THUMB_SIZE * ATLAS_COLS, THUMB_SIZE * ATLAS_ROWS, false);
    renderer.autoClear = false; // tiles are cleared once per batch, with the card colour
    renderer.setClearColor(BG);
    renderer.setScissorTest(true);
    canvas.addEventListener('webglcontextlost', () => {
      markWebglBroken();
      renderer = null;
    });
  } catch (err) {
    console.warn('WebGL thumbnails unavailable, using 2D fallback', err);
    markWebglBroken();
    renderer = null;
    return null;
  }
  scene = new Scene();
  scene.add(new AmbientLight(0xffffff, 0.7 * Math.PI));
  const sun = new DirectionalLight(0xffffff, 0.6 * Math.PI);
  sun.position.set(5, 10, 5);
  scene.add(sun);
  camera = new PerspectiveCamera(45, 1, 0.1, 100);
  camera.position.set(...CAM.eye);
  camera.lookAt(...CAM.target);
  return renderer;
}

/** Centre (unweighted mean, then bounding-box centre) and scale giving the largest bbox side 2. */
export function frameOf(body: Body, pose: Vec3[]): { centre: Vec3; scale: number } {
  const n = pose.length || 1;
  const mean = [0, 1, 2].map((k) => pose.reduce((s, p) => s + p[k], 0) / n);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  pose.forEach((p, i) => {
    const r = (body.sizes[i] ?? 0.5) / 2;
    for (let k = 0; k < 3; k++) {
      lo[k] = Math.min(lo[k], p[k] - mean[k] - r);
      hi[k] = Math.max(hi[k], p[k] - mean[k] + r);
    }
  });
  const side = Math.max(hi[0] - lo[0], hi[1] - lo[1], hi[2] - lo[2]);
  const scale = Number.isFinite(side) && side > 1e-6 ? 2 / side : 1;
  const centre: Vec3 = [0, 1, 2].map((k) => mean[k] + (lo[k] + hi[k]) / 2) as Vec3;
  return { centre, scale };
}

function finite(pose: Vec3[]): boolean {
  return pose.every((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]) && Number.isFinite(p[2]));
}

function hasPose(job: Job): boolean {
  return job.pose.length > 0 && finite(job.pose);
}

function clearCanvas(canvas: HTMLCanvasElement): CanvasRenderingContext2D | null {
  const ctx = canvas.getContext('2d');
  if (!ctx) return null;
  ctx.fillStyle = BG;
  ctx.fillRect(0, 0, canvas.width, canvas.height);
  return ctx;
}

function draw2D(job: Job): void {
  const ctx = clearCanvas(job.canvas);
  if (!ctx || !hasPose(job)) return;
  const { centre, scale } = frameOf(job.body, job.pose);
  const framed = job.pose.map((p): Vec3 => [
    (p[0] - centre[0]) * scale,
    (p[1] - centre[1]) * scale + 0.3,
    (p[2] - centre[2]) * scale,
  ]);
  drawBody2D(ctx, CAM, job.canvas.width, job.canvas.height, job.body, framed, null, scale);
}

/** Render up to one atlas of jobs with WebGL; false when WebGL is not usable (caller falls back). */
function drawBatch(jobs: Job[]): boolean {
  const r = ensureRenderer();
  if (!r || !scene || !camera) return false;
  const atlasH = THUMB_SIZE * ATLAS_ROWS;
  const meshes: CreatureMesh[] = [];
  r.setScissor(0, 0, THUMB_SIZE * ATLAS_COLS, atlasH);
  r.setViewport(0, 0, THUMB_SIZE * ATLAS_COLS, atlasH);
  r.clear();
  jobs.forEach((job, i) => {
    if (!hasPose(job)) return;
    const col = i % ATLAS_COLS;
    const row = Math.floor(i / ATLAS_COLS);
    const { centre, scale } = frameOf(job.body, job.pose);
    const mesh = new CreatureMesh(job.body);
    mesh.setPose(job.pose, 1, centre);
    mesh.group.scale.setScalar(scale);
    mesh.group.position.y = 0.3;
    scene!.add(mesh.group);
    // WebGL tiles count rows from the bottom
    const y = atlasH - (row + 1) * THUMB_SIZE;
    r.setViewport(col * THUMB_SIZE, y, THUMB_SIZE, THUMB_SIZE);
    r.setScissor(col * THUMB_SIZE, y, THUMB_SIZE, THUMB_SIZE);
    r.render(scene!, camera!);
    scene!.remove(mesh.group);
    meshes.push(mesh);
  });
  jobs.forEach((job, i) => {
    const ctx = clearCanvas(job.canvas);
    if (!ctx || !hasPose(job)) return;
    const col = i % ATLAS_COLS;
    const row = Math.floor(i / ATLAS_COLS);
    ctx.drawImage(r.domElement, col * THUMB_SIZE, row * THUMB_SIZE, THUMB_SIZE, THUMB_SIZE, 0, 0, job.canvas.width, job.canvas.height);
  });
  for (const m of meshes) m.dispose();
  return true;
}

function drawJobs(jobs: Job[]): void {
  if (!jobs.length) return;
  let ok = false;
  try {
    ok = drawBatch(jobs);
  } catch (err) {
    console.error('thumbnail batch failed', err);
  }
  if (!ok) for (const job of jobs) draw2D(job);
}

function pump(): void {
  scheduled = false;
  const start = performance.now();
  while (queue.length && performance.now() - start < 12) {
    const batch: Job[] = [];
    while (queue.length && batch.length < ATLAS_COLS * ATLAS_ROWS) {
      const job = queue.shift()!;
      if (pending.get(job.canvas) !== job) continue; // superseded by a later request
      pending.delete(job.canvas);
      if (job.canvas.isConnected) batch.push(job);
    }
    drawJobs(batch);
  }
  if (queue.length) schedule();
}

function schedule(): void {
  if (scheduled) return;
  scheduled = true;
  requestAnimationFrame(pump);
}

/** Draw `body` in `pose` into `canvas` soon (batched per animation frame; later requests win). */
export function requestThumbnail(canvas: HTMLCanvasElement, body: Body, pose: Vec3[]): void {
  const job = { canvas, body, pose };
  pending.set(canvas, job);
  queue.push(job);
  schedule();
}

/** Draw immediately (for a single mini-card already in the document). */
export function drawThumbnail(canvas: HTMLCanvasElement, body: Body, pose: Vec3[]): void {
  drawJobs([{ canvas, body, pose }]);
}

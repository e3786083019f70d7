/** Whether this browser can give three.js a WebGL2 context (checked once). */

let cached: boolean | null = null;
let lost = false;

export function webglAvailable(): boolean {
  if (lost) return false;
  if (cached === null) {
    try {
      const canvas = document.createElement('canvas');
      const gl = canvas.getContext('webgl2');
      cached = !!gl;
      gl?.getExtension('WEBGL_lose_context')?.loseContext();
    } catch {
      cached = false;
    }
  }
  return cached;
}

/** Give up on WebGL for the rest of the session (a renderer failed or lost its context). */
export function markWebglBroken(): void {
  lost = true;
}

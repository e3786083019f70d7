/** The one typed client of the evolab REST API; failed calls raise ApiError and (unless quiet) toast. */
import { toast } from './toast';
import type {
  CreateRunBody,
  CreatureDetail,
  Defaults,
  DeepPartial,
  EvolutionConfig,
  GenerationDetail,
  GenerationStatsPage,
  Health,
  ImportResult,
  Job,
  JobsState,
  Lineage,
  LineageMode,
  Preset,
  PresetPage,
  Replay,
  RunDetail,
  RunPage,
  Stopping,
} from './types';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly detail: string,
  ) {
    super(detail);
  }
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  /** Do not toast the error; the caller shows it. */
  quiet?: boolean;
  signal?: AbortSignal;
}

/** One line from FastAPI's error body: a string detail, or the first validation error. */
function describeError(status: number, body: unknown): string {
  if (body && typeof body === 'object' && 'detail' in body) {
    const detail = (body as { detail: unknown }).detail;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail) && detail.length > 0) {
      const first = detail[0] as { loc?: unknown[]; msg?: string };
      const where = (first.loc ?? []).filter((p) => p !== 'body').join('.');
      return where ? `${where}: ${first.msg ?? 'invalid'}` : (first.msg ?? 'invalid request');
    }
  }
  return `HTTP ${status}`;
}

async function request<T>(path: string, opts: RequestOptions = {}): Promise<T> {
  const init: RequestInit = { method: opts.method ?? 'GET', signal: opts.signal };
  if (opts.body !== undefined) {
    init.headers = { 'Content-Type': 'application/json' };
    init.body = JSON.stringify(opts.body);
  }
  let res: Response;
  try {
    res = await fetch(`/api${path}`, init);
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    const e = new ApiError(0, 'cannot reach the evolab server');
    if (!opts.quiet) toast(e.detail);
    throw e;
  }
  if (!res.ok) {
    let body: unknown = null;
    try {
      body = await res.json();
    } catch {
      /* not JSON */
    }
    const e = new ApiError(res.status, describeError(res.status, body));
    if (!opts.quiet) toast(e.detail);
    throw e;
  }
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** How far an upload is: bytes sent of the total, then (sent === total) the server checking and importing. */
export type UploadProgress = (sent: number, total: number) => void;

/**
 * POST a file as the request body (not a form: the server streams it to disk as it arrives). XMLHttpRequest
 * rather than fetch, because only it reports upload progress in every browser. Errors toast unless quiet.
 */
function upload<T>(
  path: string,
  file: Blob,
  contentType: string,
  onProgress?: UploadProgress,
  quiet = false,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const fail = (e: ApiError): void => {
      if (!quiet) toast(e.detail);
      reject(e);
    };
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/api${path}`);
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.responseType = 'json';
    xhr.upload.addEventListener('progress', (ev) => {
      if (ev.lengthComputable) onProgress?.(ev.loaded, ev.total);
    });
    xhr.addEventListener('load', () => {
      if (xhr.status >= 200 && xhr.status < 300) resolve(xhr.response as T);
      else fail(new ApiError(xhr.status, describeError(xhr.status, xhr.response)));
    });
    // a server refusing a large body may close the connection before the browser has sent it all
    xhr.addEventListener('error', () =>
      fail(new ApiError(0, 'the upload was cut off: is the server running, and the file within its size limit?')),
    );
    xhr.send(file);
  });
}

const enc = encodeURIComponent;

/** Items asked for per request of a collection: the largest page every list endpoint serves. */
const PAGE = 1000;

/** Every item of a paged collection (`{data, count}`), a page at a time, in the server's order. */
async function everything<P extends { data: unknown[]; count: number }>(
  path: string,
  query = new URLSearchParams(),
): Promise<P['data']> {
  const items: P['data'] = [];
  for (;;) {
    query.set('limit', String(PAGE));
    query.set('offset', String(items.length));
    const page = await request<P>(`${path}?${query}`);
    items.push(...page.data);
    // an empty page ends it too: the collection may have shrunk since the first page
    if (page.data.length === 0 || items.length >= page.count) return items;
  }
}

export const api = {
  health: () => request<Health>('/health', { quiet: true }),
  defaults: () => request<Defaults>('/defaults'),
  presets: () => everything<PresetPage>('/presets'),
  savePreset: (name: string, config: DeepPartial<EvolutionConfig>, quiet = false) =>
    request<Preset>(`/presets/${enc(name)}`, { method: 'PUT', body: { config }, quiet }),
  deletePreset: (name: string) => request<void>(`/presets/${enc(name)}`, { method: 'DELETE' }),
  runs: () => everything<RunPage>('/runs'),
  createRun: (body: CreateRunBody, quiet = false) =>
    request<RunDetail>('/runs', { method: 'POST', body, quiet }),
  run: (id: string, quiet = false) => request<RunDetail>(`/runs/${enc(id)}`, { quiet }),
  renameRun: (id: string, name: string) => request<RunDetail>(`/runs/${enc(id)}`, { method: 'PATCH', body: { name } }),
  deleteRun: (id: string) => request<void>(`/runs/${enc(id)}`, { method: 'DELETE' }),
  advance: (id: string, generations: number) =>
    request<Job>(`/runs/${enc(id)}/advance`, { method: 'POST', body: { generations } }),
  stop: (id: string) => request<Stopping>(`/runs/${enc(id)}/stop`, { method: 'POST' }),
  fork: (id: string, generation: number, name?: string) =>
    request<RunDetail>(`/runs/${enc(id)}/fork`, { method: 'POST', body: name ? { generation, name } : { generation } }),
  generations: (id: string, start?: number, stop?: number) => {
    const q = new URLSearchParams();
    if (start !== undefined) q.set('start', String(start));
    if (stop !== undefined) q.set('stop', String(stop));
    return everything<GenerationStatsPage>(`/runs/${enc(id)}/generations`, q);
  },
  generation: (id: string, g: number, signal?: AbortSignal) =>
    request<GenerationDetail>(`/runs/${enc(id)}/generations/${g}`, { signal }),
  creature: (id: string, cid: string) => request<CreatureDetail>(`/runs/${enc(id)}/creatures/${enc(cid)}`),
  replay: (id: string, g: number, cid: string, signal?: AbortSignal) =>
    request<Replay>(`/runs/${enc(id)}/generations/${g}/creatures/${enc(cid)}/replay`, { signal }),
  lineage: (id: string, cid: string, mode: LineageMode, limit = 100) =>
    request<Lineage>(`/runs/${enc(id)}/creatures/${enc(cid)}/lineage?mode=${mode}&limit=${limit}`),
  jobs: () => request<JobsState>('/jobs', { quiet: true }),
  /** Where a run's export document downloads from (the server names the file). */
  exportUrl: (id: string) => `/api/runs/${enc(id)}/export`,
  /** Import an evolab export or an original-app dump, plain or gzip'd (detected by the server). */
  importFile: (file: File, onProgress?: UploadProgress, quiet = false) =>
    upload<ImportResult>(
      '/import',
      file,
      /\.gz$/i.test(file.name) ? 'application/gzip' : 'application/json',
      onProgress,
      quiet,
    ),
};

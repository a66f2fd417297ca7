// Worker loop: polls the input node for new packages (after_id), hands each to `handler`, and
// posts what it returns to the output node with parent_ids [input id], so the client that posted
// the input finds the result with searchByMaster(layer, <input id>).
import {
  type FileRef,
  fieldsToObject,
  type Id,
  type KeyportClient,
  KeyportError,
  type PackageInfo,
  type RemoteFile,
  sleep,
} from './client.js';

/** A file the handler wants attached to its result: already uploaded, or bytes to upload. */
export type ResultFile =
  | FileRef
  | { name: string; content: Uint8Array | string; type?: string; isExecutable?: boolean };

export interface HandlerResult {
  label?: string;
  fields?: Record<string, unknown>;
  files?: ResultFile[];
  /** extra parents after the input package (which is always first) */
  parent_ids?: Id[];
}

export interface InputPackage extends PackageInfo {
  /** `fields` as an object: {name: value} */
  values: Record<string, unknown>;
}

export interface HandlerContext {
  client: KeyportClient;
  layer: number;
  inputNode: string;
  outputNode: string;
  signal: AbortSignal;
  /** files of the input package, with signed download URLs */
  files(): Promise<RemoteFile[]>;
  /** bytes of one input file (sha256 checked) */
  read(file: RemoteFile): Promise<Buffer>;
}

export interface WorkerOptions {
  client: KeyportClient;
  /** default: the client's `input` */
  inputNode?: Id;
  /** default: the client's `output` */
  outputNode?: Id;
  /**
   * One layer, or 'all' (default): every layer the worker can see, polled in turn. A worker run by
   * a project manager thus serves every key holder's personal layer; results go into the layer of
   * their input.
   */
  layer?: Id | 'all';
  /** null/undefined = nothing to post for this input */
  handler?: (
    pkg: InputPackage,
    ctx: HandlerContext,
  ) => Promise<HandlerResult | null | undefined> | HandlerResult | null | undefined;
  /** alias of `handler` (the issue's name) */
  handle?: WorkerOptions['handler'];
  /** pause when there is nothing new (default 1000 ms) */
  pollMs?: number;
  /** start after this input package id in every layer (default 0: everything not yet answered) */
  afterId?: number;
  /** skip inputs that already have a result in the output node (default true): restarts are safe */
  skipDone?: boolean;
  /** packages fetched per poll (default 100, the server's maximum) */
  batchSize?: number;
  signal?: AbortSignal;
  /** a handler or network error; the default logs to stderr and goes on. Throw to stop the worker. */
  onError?: (error: unknown, pkg: PackageInfo | null) => void | Promise<void>;
  /** called after each result is posted */
  onResult?: (input: PackageInfo, result: PackageInfo) => void | Promise<void>;
}

export interface WorkerStats {
  processed: number;
  skipped: number;
  failed: number;
  lastId: number;
}

const isRef = (f: ResultFile): f is FileRef => 'content_hash' in f;

/** An onError that threw: the worker stops with that error. */
class Stop {
  constructor(readonly error: unknown) {}
}

/** Runs until `signal` aborts (then resolves with stats) or until a 401 / an onError that throws. */
export async function runWorker(opts: WorkerOptions): Promise<WorkerStats> {
  const { client } = opts;
  const handler = opts.handler ?? opts.handle;
  if (!handler) throw new Error('runWorker: `handler` is required');
  const inputNode = String(opts.inputNode ?? client.input ?? '');
  const outputNode = String(opts.outputNode ?? client.output ?? '');
  if (!inputNode || !outputNode) throw new Error('runWorker: inputNode and outputNode are required');
  const signal = opts.signal ?? new AbortController().signal;
  const pollMs = opts.pollMs ?? 1000;
  const batch = Math.min(100, opts.batchSize ?? 100);
  const skipDone = opts.skipDone ?? true;
  const onError =
    opts.onError ??
    ((e: unknown, pkg: PackageInfo | null) => {
      console.error(
        `[keyport worker] ${pkg ? `package ${pkg.id}: ` : ''}${e instanceof Error ? e.message : String(e)}`,
      );
    });
  const stats: WorkerStats = { processed: 0, skipped: 0, failed: 0, lastId: opts.afterId ?? 0 };

  const fatal = (e: unknown) => e instanceof KeyportError && e.status === 401;
  const fixedLayer = opts.layer === undefined || opts.layer === 'all' ? undefined : Number(opts.layer);
  /** per layer: the last input package id handled */
  const cursors = new Map<number, number>();

  const alreadyDone = async (pkg: PackageInfo): Promise<boolean> => {
    for (let page = 1; ; page++) {
      const r = await client.searchPackages(
        outputNode,
        pkg.data_layer_id,
        { master_id: pkg.master_id },
        page,
        100,
        signal,
      );
      if (r.items.some((x) => x.parent_ids[0] === pkg.id)) return true;
      if (r.items.length < 100) return false;
    }
  };

  const handle = async (pkg: PackageInfo, layer: number) => {
    if (skipDone && (await alreadyDone(pkg))) {
      stats.skipped++;
      return;
    }
    const ctx: HandlerContext = {
      client,
      layer,
      inputNode,
      outputNode,
      signal,
      files: () => client.getFilesList(pkg.id, inputNode),
      read: (file) => client.downloadBytes(file, signal),
    };
    const result = await handler({ ...pkg, values: fieldsToObject(pkg.fields) }, ctx);
    if (!result) return;
    const files: FileRef[] = [];
    for (const f of result.files ?? []) {
      files.push(
        isRef(f)
          ? f
          : await client.uploadBytes(f.content, {
              name: f.name,
              layer, // objects are held per data layer: the one the result goes to
              ...(f.type ? { type: f.type } : {}),
              ...(f.isExecutable ? { isExecutable: true } : {}),
            }),
      );
    }
    const posted = await client.createPackage(
      layer,
      {
        ...(result.label !== undefined ? { label: result.label } : {}),
        fields: result.fields ?? {},
        files,
        parent_ids: [pkg.id, ...(result.parent_ids ?? []).filter((id) => Number(id) !== pkg.id)],
      },
      outputNode,
    );
    stats.processed++;
    await opts.onResult?.(pkg, posted);
  };

  while (!signal.aborted) {
    let full = false;
    try {
      const layers = fixedLayer !== undefined ? [fixedLayer] : (await client.listDataLayers()).map((l) => l.id);
      for (const layer of layers) {
        if (signal.aborted) break;
        const after = cursors.get(layer) ?? opts.afterId ?? 0;
        const page = await client.searchPackages(inputNode, layer, { after_id: after }, 1, batch, signal);
        if (page.items.length === batch) full = true;
        for (const pkg of page.items) {
          if (signal.aborted) break;
          try {
            await handle(pkg, layer);
          } catch (e) {
            if (signal.aborted) break;
            if (fatal(e)) throw e;
            stats.failed++;
            try {
              await onError(e, pkg);
            } catch (stop) {
              throw new Stop(stop);
            }
          }
          cursors.set(layer, pkg.id);
          stats.lastId = Math.max(stats.lastId, pkg.id);
        }
      }
    } catch (e) {
      if (e instanceof Stop) throw e.error;
      if (signal.aborted) break;
      if (fatal(e)) throw e;
      await onError(e, null);
    }
    if (!full) {
      try {
        await sleep(pollMs, signal);
      } catch {
        break;
      }
    }
  }
  return stats;
}

/** The issue's name: worker({client, inputNode, outputNode, handle}). */
export const worker = runWorker;

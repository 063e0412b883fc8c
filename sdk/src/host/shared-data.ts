/**
 * Process-wide state shared between VMs, as in Envoy: the shared key-value store (with
 * compare-and-swap) and shared queues. Both are scoped by VM id, so every VM (one per simulated
 * worker) of a filter sees the same data; pass one instance to several hosts to share across them.
 */
import { WasmResult, type WasmResultCode } from './abi.js';
import { encodeUtf8 } from './memory.js';

export interface SharedDataEntry {
  value: Uint8Array;
  cas: number;
}

export class SharedData {
  private readonly data = new Map<string, Map<string, SharedDataEntry>>();
  private casCounter = 0;

  constructor(readonly defaultVmId = '') {}

  private nextCas(): number {
    this.casCounter = (this.casCounter + 1) >>> 0;
    if (this.casCounter === 0) this.casCounter = 1;
    return this.casCounter;
  }

  get(key: string, vmId = this.defaultVmId): SharedDataEntry | undefined {
    const e = this.data.get(vmId)?.get(key);
    return e ? { value: e.value.slice(), cas: e.cas } : undefined;
  }

  getString(key: string, vmId = this.defaultVmId): string | undefined {
    const e = this.data.get(vmId)?.get(key);
    return e ? Buffer.from(e.value).toString('utf8') : undefined;
  }

  /** Set `key`; a non-zero `cas` must match the stored one (Envoy's semantics). */
  set(key: string, value: Uint8Array | string, cas = 0, vmId = this.defaultVmId): WasmResultCode {
    let map = this.data.get(vmId);
    if (!map) {
      map = new Map();
      this.data.set(vmId, map);
    }
    const bytes = typeof value === 'string' ? encodeUtf8(value) : value.slice();
    const existing = map.get(key);
    if (existing && cas !== 0 && cas !== existing.cas) return WasmResult.CasMismatch;
    map.set(key, { value: bytes, cas: this.nextCas() });
    return WasmResult.Ok;
  }

  delete(key: string, vmId = this.defaultVmId): boolean {
    return this.data.get(vmId)?.delete(key) ?? false;
  }

  keys(vmId = this.defaultVmId): string[] {
    return [...(this.data.get(vmId)?.keys() ?? [])];
  }

  /** All entries of a VM id as strings (handy in assertions). */
  toJSON(vmId = this.defaultVmId): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [k, v] of this.data.get(vmId) ?? []) out[k] = Buffer.from(v.value).toString('utf8');
    return out;
  }

  clear(): void {
    this.data.clear();
  }
}

interface Queue {
  vmId: string;
  name: string;
  items: Uint8Array[];
  /** Delivers `proxy_on_queue_ready` on the VM/root context that registered the queue last. */
  notify: ((token: number) => void) | undefined;
}

export class SharedQueues {
  private readonly byKey = new Map<string, number>();
  private readonly queues = new Map<number, Queue>();
  private tokenCounter = 0;

  private static key(vmId: string, name: string): string {
    return `${vmId}\u0000${name}`;
  }

  /** Register (or re-register) a queue; the last registrant gets the ready notifications. */
  register(vmId: string, name: string, notify: (token: number) => void): number {
    const key = SharedQueues.key(vmId, name);
    let token = this.byKey.get(key);
    if (token === undefined) {
      this.tokenCounter = (this.tokenCounter + 1) >>> 0 || 1;
      token = this.tokenCounter;
      this.byKey.set(key, token);
      this.queues.set(token, { vmId, name, items: [], notify });
    } else {
      this.queues.get(token)!.notify = notify;
    }
    return token;
  }

  /** The token of an existing queue, or 0. */
  resolve(vmId: string, name: string): number {
    return this.byKey.get(SharedQueues.key(vmId, name)) ?? 0;
  }

  enqueue(token: number, value: Uint8Array | string): WasmResultCode {
    const q = this.queues.get(token);
    if (!q) return WasmResult.NotFound;
    q.items.push(typeof value === 'string' ? encodeUtf8(value) : value.slice());
    q.notify?.(token);
    return WasmResult.Ok;
  }

  dequeue(token: number): { result: WasmResultCode; value?: Uint8Array } {
    const q = this.queues.get(token);
    if (!q) return { result: WasmResult.NotFound };
    const value = q.items.shift();
    if (value === undefined) return { result: WasmResult.Empty };
    return { result: WasmResult.Ok, value };
  }

  /** Items currently queued (for assertions). */
  peek(vmId: string, name: string): Uint8Array[] {
    const token = this.resolve(vmId, name);
    return token ? [...(this.queues.get(token)?.items ?? [])] : [];
  }

  /** Forget notification targets of a VM that is going away. */
  detach(notify: (token: number) => void): void {
    for (const q of this.queues.values()) if (q.notify === notify) q.notify = undefined;
  }
}

/**
 * A small reader for the parts of a WebAssembly binary the host checks before instantiating, as
 * Envoy does: the ABI version marker export, and the signatures of imports and exported
 * functions (JS engines do not expose them).
 */
import { ABI_VERSION_EXPORTS, type AbiVersion, type Signature, type ValType } from './abi.js';

export interface ImportInfo {
  module: string;
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  /** Function signature, when the type could be read. */
  signature?: Signature;
  /** Limits of an imported memory or table. */
  limits?: { initial: number; maximum?: number };
}

export interface ExportInfo {
  name: string;
  kind: 'function' | 'table' | 'memory' | 'global' | 'tag';
  signature?: Signature;
}

export interface ModuleInfo {
  /** The first `proxy_abi_version_*` function export (Envoy takes the first in export order). */
  abi: AbiVersion | undefined;
  imports: ImportInfo[];
  exports: Map<string, ExportInfo>;
}

export class WasmBinaryError extends Error {}

class Reader {
  pos = 0;
  constructor(
    readonly b: Uint8Array,
    readonly end = b.length,
  ) {}

  byte(): number {
    if (this.pos >= this.end) throw new WasmBinaryError('unexpected end');
    return this.b[this.pos++]!;
  }

  u32(): number {
    let result = 0;
    let shift = 0;
    for (let i = 0; i < 5; i++) {
      const byte = this.byte();
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
    throw new WasmBinaryError('bad varint');
  }

  /** Skip an unsigned LEB128 of any length (e.g. u64 limits). */
  skipLeb(): void {
    for (let i = 0; i < 10; i++) if ((this.byte() & 0x80) === 0) return;
    throw new WasmBinaryError('bad varint');
  }

  name(): string {
    const n = this.u32();
    if (this.pos + n > this.end) throw new WasmBinaryError('name overruns section');
    const s = Buffer.from(this.b.buffer, this.b.byteOffset + this.pos, n).toString('utf8');
    this.pos += n;
    return s;
  }

  limits(): { initial: number; maximum?: number } {
    const flags = this.byte();
    if (flags & 0x04) {
      // 64-bit limits: not used by Proxy-Wasm modules; skip.
      this.skipLeb();
      if (flags & 0x01) this.skipLeb();
      return { initial: 0 };
    }
    const initial = this.u32();
    if (flags & 0x01) return { initial, maximum: this.u32() };
    return { initial };
  }
}

const VALTYPES: Record<number, ValType> = { 0x7f: 'i32', 0x7e: 'i64', 0x7d: 'f32', 0x7c: 'f64' };
const KINDS = ['function', 'table', 'memory', 'global', 'tag'] as const;

export function checkWasmHeader(bytes: Uint8Array): boolean {
  return (
    bytes.length >= 8 &&
    bytes[0] === 0x00 &&
    bytes[1] === 0x61 &&
    bytes[2] === 0x73 &&
    bytes[3] === 0x6d &&
    bytes[4] === 0x01 &&
    bytes[5] === 0x00 &&
    bytes[6] === 0x00 &&
    bytes[7] === 0x00
  );
}

/** Read ABI marker, imports and exports. Throws WasmBinaryError for a malformed binary. */
export function readModuleInfo(bytes: Uint8Array): ModuleInfo {
  if (!checkWasmHeader(bytes)) throw new WasmBinaryError('bad header');
  const r = new Reader(bytes);
  r.pos = 8;
  const types: Array<Signature | undefined> = [];
  const imports: ImportInfo[] = [];
  const funcTypes: Array<Signature | undefined> = [];
  const importedFuncTypes: Array<Signature | undefined> = [];
  const exportsRaw: Array<{ name: string; kind: (typeof KINDS)[number]; index: number }> = [];
  let abi: AbiVersion | undefined;

  while (r.pos < bytes.length) {
    const id = r.byte();
    const size = r.u32();
    const start = r.pos;
    const end = start + size;
    if (end > bytes.length) throw new WasmBinaryError('section overruns module');
    const s = new Reader(bytes, end);
    s.pos = start;
    if (id === 1) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const form = s.byte();
        if (form !== 0x60) {
          // GC/rec types: stop reading types, signatures stay unknown.
          types.length = 0;
          break;
        }
        const pc = s.u32();
        const params: ValType[] = [];
        let known = true;
        for (let j = 0; j < pc; j++) {
          const t = VALTYPES[s.byte()];
          if (t) params.push(t);
          else known = false;
        }
        const rc = s.u32();
        const results: ValType[] = [];
        for (let j = 0; j < rc; j++) {
          const t = VALTYPES[s.byte()];
          if (t) results.push(t);
          else known = false;
        }
        types.push(known ? { params, results } : undefined);
      }
    } else if (id === 2) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const module = s.name();
        const name = s.name();
        const kind = s.byte();
        if (kind === 0x00) {
          const sig = types[s.u32()];
          imports.push({ module, name, kind: 'function', ...(sig ? { signature: sig } : {}) });
          importedFuncTypes.push(sig);
        } else if (kind === 0x01) {
          s.byte();
          imports.push({ module, name, kind: 'table', limits: s.limits() });
        } else if (kind === 0x02) {
          imports.push({ module, name, kind: 'memory', limits: s.limits() });
        } else if (kind === 0x03) {
          s.byte();
          s.byte();
          imports.push({ module, name, kind: 'global' });
        } else if (kind === 0x04) {
          s.byte();
          s.u32();
          imports.push({ module, name, kind: 'tag' });
        } else {
          throw new WasmBinaryError(`unknown import kind ${kind}`);
        }
      }
    } else if (id === 3) {
      const n = s.u32();
      for (let i = 0; i < n; i++) funcTypes.push(types[s.u32()]);
    } else if (id === 7) {
      const n = s.u32();
      for (let i = 0; i < n; i++) {
        const name = s.name();
        const kindByte = s.byte();
        const index = s.u32();
        const kind = KINDS[kindByte];
        if (!kind) throw new WasmBinaryError(`unknown export kind ${kindByte}`);
        exportsRaw.push({ name, kind, index });
        if (abi === undefined && kind === 'function') {
          const m = ABI_VERSION_EXPORTS.find(([exportName]) => exportName === name);
          if (m) abi = m[1];
        }
      }
    }
    r.pos = end;
  }

  const exports = new Map<string, ExportInfo>();
  for (const e of exportsRaw) {
    let signature: Signature | undefined;
    if (e.kind === 'function') {
      signature =
        e.index < importedFuncTypes.length
          ? importedFuncTypes[e.index]
          : funcTypes[e.index - importedFuncTypes.length];
    }
    exports.set(e.name, { name: e.name, kind: e.kind, ...(signature ? { signature } : {}) });
  }
  return { abi, imports, exports };
}

// The TX collection of a transaction: string keys to string values, listed in insertion order
// (what `TX:/regex/` and a whole-TX target walk, as the Map it replaces did: a value set again
// keeps its place, a key deleted and set again goes last).
import { HASH } from "util/hash";
import { append, emptied, reserved } from "./bytes";

/** The hash TxVars files `key` under (a constant key's is computed once, at load). */
export function txHash(key: string): u32 {
  return HASH<string>(key);
}

/**
 * An open-addressing table of entry index + 1 over entries kept in insertion order, each with
 * its key's hash: one lookup answers "present?" and the value together, and a caller with the
 * hash at hand does not hash the key again (most lookups are of the ruleset's constant keys).
 */
export class TxVars {
  // Room for the bundled ruleset's keys (~30 at PL1) from the start: no regrowth per request.
  private keys: string[] = reserved<string>(32);
  private values: string[] = reserved<string>(32);
  private hashes: u32[] = reserved<u32>(32);
  private live: bool[] = reserved<bool>(32);
  private slots: Int32Array = new Int32Array(64);
  private deleted: i32 = 0;

  /** Removes every variable (for another transaction), keeping the room. */
  clear(): void {
    emptied(this.keys);
    emptied(this.values);
    emptied(this.hashes);
    emptied(this.live);
    this.slots.fill(0);
    this.deleted = 0;
  }

  /** Becomes a copy of `src` (same entries, order and table): `src` stays as it is. */
  copyFrom(src: TxVars): void {
    copyArray(this.keys, src.keys);
    copyArray(this.values, src.values);
    copyArray(this.hashes, src.hashes);
    copyArray(this.live, src.live);
    if (this.slots.length != src.slots.length) this.slots = new Int32Array(src.slots.length);
    this.slots.set(src.slots);
    this.deleted = src.deleted;
  }

  /** The entry holding `key` (its hash `h`), or -1. */
  find(key: string, h: u32): i32 {
    const slots = this.slots, mask = slots.length - 1;
    let at = <i32>h & mask;
    while (true) {
      const e = unchecked(slots[at]);
      if (e == 0) return -1;
      const i = e - 1;
      if (unchecked(this.hashes[i]) == h && unchecked(this.live[i])) {
        // The same string first (a rule's constant key finds the entry it set), else the units.
        const k = unchecked(this.keys[i]);
        if (changetype<usize>(k) == changetype<usize>(key) || k == key) return i;
      }
      at = (at + 1) & mask;
    }
  }

  /** The value of entry `i` (from find). */
  @inline valueAt(i: i32): string { return unchecked(this.values[i]); }

  /** The value of `key`, or null when it is not set. */
  get(key: string): string | null { return this.getHashed(key, txHash(key)); }

  getHashed(key: string, h: u32): string | null {
    const i = this.find(key, h);
    return i < 0 ? null : unchecked(this.values[i]);
  }

  setHashed(key: string, h: u32, value: string): void {
    const i = this.find(key, h);
    if (i >= 0) { unchecked(this.values[i] = value); return; }
    // At most half full, dead entries included (a rebuild drops them).
    if ((this.keys.length + 1) * 2 > this.slots.length) this.rebuild();
    const id = this.keys.length;
    append(this.keys, key);
    append(this.values, value);
    append(this.hashes, h);
    append(this.live, true);
    this.place(id, h);
  }

  deleteHashed(key: string, h: u32): void {
    const i = this.find(key, h);
    if (i < 0) return;
    // The entry stays (its slot keeps probe chains whole) until the next rebuild.
    unchecked(this.live[i] = false);
    unchecked(this.values[i] = "");
    this.deleted++;
  }

  /** Entries ever added since the last rebuild (live or not): iterate with isLive / keyAt / valueAt. */
  get entries(): i32 { return this.keys.length; }
  @inline isLive(i: i32): bool { return unchecked(this.live[i]); }
  @inline keyAt(i: i32): string { return unchecked(this.keys[i]); }

  private place(id: i32, h: u32): void {
    const slots = this.slots, mask = slots.length - 1;
    let at = <i32>h & mask;
    while (unchecked(slots[at]) != 0) at = (at + 1) & mask;
    unchecked(slots[at] = id + 1);
  }

  /** Drops deleted entries (keeping the order of the others) and sizes the table for one more. */
  private rebuild(): void {
    if (this.deleted > 0) {
      let n = 0;
      const keys = this.keys, values = this.values, hashes = this.hashes, live = this.live;
      for (let i = 0, m = keys.length; i < m; i++) {
        if (!unchecked(live[i])) continue;
        unchecked(keys[n] = keys[i]);
        unchecked(values[n] = values[i]);
        unchecked(hashes[n] = hashes[i]);
        unchecked(live[n] = true);
        n++;
      }
      keys.length = n;
      values.length = n;
      hashes.length = n;
      live.length = n;
      this.deleted = 0;
    }
    let size = this.slots.length;
    while ((this.keys.length + 1) * 2 > size) size <<= 1;
    this.slots = new Int32Array(size);
    for (let i = 0, m = this.keys.length; i < m; i++) this.place(i, unchecked(this.hashes[i]));
  }
}

/**
 * What phase 1's leading request-independent rules (PhasePlan.presetRules) leave behind when they
 * start from an empty TX: the TX variables and the last match. The same in every transaction, so
 * the first one computes it and the others copy it instead of running those rules.
 */
export class TxPreset {
  constructor(
    readonly tx: TxVars,
    readonly matchedVar: string,
    readonly matchedVarName: string,
    /** The last match on one value, not yet made a MATCHED_VARS collection (Transaction.pendingName). */
    readonly pendingName: string | null,
    readonly pendingValue: string,
  ) {}
}

/** `ASC_RUNTIME` under `--runtime minimal` (see sdk collect.ts). */
const RUNTIME_MINIMAL = 1;

/**
 * `dst` becomes a copy of `src`'s entries, copied as bytes: the WAF's runtime (minimal) keeps no
 * write barrier for references stored in an array, so a plain copy is a valid store. Under
 * another runtime references are stored one by one, so its collector sees each.
 */
function copyArray<T>(dst: T[], src: T[]): void {
  const n = src.length;
  dst.length = n;
  if (isReference<T>() && ASC_RUNTIME != RUNTIME_MINIMAL) {
    for (let i = 0; i < n; i++) unchecked(dst[i] = unchecked(src[i]));
    return;
  }
  memory.copy(dst.dataStart, src.dataStart, <usize>n << alignof<T>());
}

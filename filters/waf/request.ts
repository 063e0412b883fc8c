// What a transaction knows about its request and response, in byte strings, and the parsers that
// fill it: query strings and urlencoded bodies, cookies, JSON (flattened into `json.a.b` names)
// and multipart/form-data. Parsers never fail the request by themselves: they record a body
// error (REQBODY_ERROR) that rules decide on.
import { ByteBuilder, append, emptied, hasUnit, hexValue, isSpace, lastUnitIndex, reserved, unitIndex, unitsEqual } from "./bytes";
import { urlDecode } from "./transforms";

/** An ordered multimap (collections keep duplicates: parameter pollution stays visible). */
export class Pairs {
  // Shared empty arrays until the first add (most of a request's collections stay empty).
  names: string[] = NO_STRINGS;
  values: string[] = NO_STRINGS;
  private lower: string[] | null = null;
  /** Ids of names and values in the engine's per-phase value table, valid while `idEpoch` is current (see engine.ts). */
  nameIds: i32[] | null = null;
  valueIds: i32[] | null = null;
  /** Indexes of the first occurrence of each distinct name / value (engine.ts, same epoch as the ids). */
  firstNames: i32[] | null = null;
  firstValues: i32[] | null = null;
  idEpoch: i32 = 0;
  /**
   * Index of the lowercased names (firstNamed): per hash slot its first entry, per entry the next
   * one in its slot, in entry order. Made on the first lookup by name, dropped with `lower`.
   */
  private slotFirst: Int32Array | null = null;
  private nextInSlot: Int32Array | null = null;
  /** The lowered names and name index of the request before a reset, reused by the next one's (their entries rewritten). */
  private spareLower: string[] | null = null;
  private spareFirst: Int32Array | null = null;
  private spareNext: Int32Array | null = null;
  add(name: string, value: string): void {
    // Room for a few entries at once (an empty array regrows on its first push).
    if (this.names === NO_STRINGS) { this.names = reserved<string>(PAIRS_ROOM); this.values = reserved<string>(PAIRS_ROOM); }
    append(this.names, name);
    append(this.values, value);
    this.dropDerived();
  }
  /** Room for `n` entries before the first add, from a caller that knows the count (no regrowth). */
  reserve(n: i32): void {
    if (this.names === NO_STRINGS && n > 0) { this.names = reserved<string>(n); this.values = reserved<string>(n); }
  }
  /**
   * Readies names and values for a parser to append to directly (`append` to both, in step):
   * what add drops per pair is dropped once here, as nothing reads it while the parser runs.
   */
  beginAppending(): void {
    if (this.names === NO_STRINGS) { this.names = []; this.values = []; }
    this.dropDerived();
  }
  /**
   * Empties the collection for another request. Its arrays keep their room, unless they held more
   * than PAIRS_KEPT entries (a large body's are let go, not kept by a pool).
   */
  reset(): Pairs {
    if (this.names.length > PAIRS_KEPT) {
      this.names = NO_STRINGS;
      this.values = NO_STRINGS;
    } else if (this.names !== NO_STRINGS) {
      emptied(this.names);
      emptied(this.values);
      if (this.lower !== null) this.spareLower = this.lower;
      if (this.slotFirst !== null) { this.spareFirst = this.slotFirst; this.spareNext = this.nextInSlot; }
    }
    this.dropDerived();
    this.idEpoch = 0;
    return this;
  }
  /** What is made from the entries (lowered names, the name index, value-table ids): stale once an entry is added. */
  @inline private dropDerived(): void {
    this.lower = null;
    this.slotFirst = null;
    this.nameIds = null;
    this.valueIds = null;
    this.firstNames = null;
    this.firstValues = null;
  }
  get length(): i32 { return this.names.length; }
  /**
   * Lowercased names (selectors compare keys case-insensitively). Names repeat as the same
   * string (every value of a JSON array shares a few names), so each is lowered once per run of
   * LOWER_RECENT distinct names, and one with nothing to lower is its own result (no copy).
   */
  lowerNames(): string[] {
    let l = this.lower;
    if (l === null) {
      const names = this.names, n = names.length;
      // Every entry is written below.
      const spare = this.spareLower;
      if (spare !== null) {
        this.spareLower = null;
        spare.length = n;
        l = spare;
      } else {
        l = new Array<string>(n);
      }
      const seen = lowerSeen, lowered = lowerDone;
      for (let k = 0; k < LOWER_RECENT; k++) unchecked(seen[k] = 0);
      let next = 0;
      for (let i = 0; i < n; i++) {
        const name = unchecked(names[i]);
        const at = changetype<usize>(name);
        let low: string | null = null;
        for (let k = 0; k < LOWER_RECENT; k++) {
          if (unchecked(seen[k]) == at) { low = unchecked(lowered[k]); break; }
        }
        // A null test by address: `=== null` on a string is a call to String.__eq.
        if (changetype<usize>(low) == 0) {
          low = lowerName(name);
          unchecked(seen[next] = at);
          unchecked(lowered[next] = low);
          next = (next + 1) & (LOWER_RECENT - 1);
        }
        // Through the data pointer (an Array's indexed store is a call; the runtime's write barrier is a no-op).
        store<usize>(l.dataStart + (<usize>i << alignof<usize>()), changetype<usize>(low));
      }
      // The recent names are not kept past this call.
      for (let k = 0; k < LOWER_RECENT; k++) unchecked(lowered[k] = "");
      this.lower = l;
    }
    return l;
  }

  /**
   * The first entry whose lowercased name is `lowerKey` (itself lowercase), or -1; `nextNamed`
   * gives the following ones, in entry order. A selector with a plain key (`REQUEST_HEADERS:Host`)
   * reads its entries this way instead of comparing every name.
   */
  firstNamed(lowerKey: string): i32 {
    let first = this.slotFirst;
    if (first === null) first = this.indexNames();
    const i = unchecked(first[<i32>(nameHash(lowerKey) & <u32>(first.length - 1))]);
    return i < 0 || unchecked(this.lower![i]) == lowerKey ? i : this.nextNamed(i, lowerKey);
  }

  /** The entry after `i` whose lowercased name is `lowerKey`, or -1 (after `firstNamed`). */
  nextNamed(i: i32, lowerKey: string): i32 {
    const next = this.nextInSlot!, lower = this.lower!;
    i = unchecked(next[i]);
    while (i >= 0 && unchecked(lower[i]) != lowerKey) i = unchecked(next[i]);
    return i;
  }

  private indexNames(): Int32Array {
    const lower = this.lowerNames(), n = lower.length;
    let size = 8;
    while (size < n) size <<= 1;
    // The previous request's index when it fits (the slot count is the mask; next is written for every entry).
    let first = this.spareFirst, next = this.spareNext;
    this.spareFirst = this.spareNext = null;
    if (first === null || first.length != size) first = new Int32Array(size);
    if (next === null || next.length < n) next = new Int32Array(max(n, 1));
    first.fill(-1);
    // Backwards, each entry put before the ones already in its slot: every chain in entry order.
    for (let i = n - 1; i >= 0; i--) {
      const s = <i32>(nameHash(unchecked(lower[i])) & <u32>(size - 1));
      unchecked(next[i] = first[s]);
      unchecked(first[s] = i);
    }
    this.nextInSlot = next;
    this.slotFirst = first;
    return first;
  }
}

/** A name's hash for Pairs' name index (a few units: names are short, collisions only cost a compare). */
function nameHash(s: string): u32 {
  const n = s.length;
  if (n == 0) return 0;
  const p = changetype<usize>(s);
  const a = <u32>load<u16>(p), b = <u32>load<u16>(p + (<usize>(n - 1) << 1)), c = <u32>load<u16>(p + (<usize>(n >> 1) << 1));
  return ((<u32>n * 0x9e3779b1) ^ (a * 0x85ebca6b) ^ (b * 0xc2b2ae35) ^ (c * 0x27d4eb2f)) >> 7;
}

/** The names and values of every empty Pairs (replaced on the first add, never written). */
const NO_STRINGS: string[] = [];
/** The room of a Pairs' arrays at its first add (a GET's collections hold a few entries each). */
const PAIRS_ROOM = 8;
/** The most entries a reset Pairs keeps the arrays of (Pairs.reset). */
const PAIRS_KEPT = 64;

/** How many recent distinct names lowerNames remembers (a power of two). */
const LOWER_RECENT = 8;
const lowerSeen = new StaticArray<usize>(LOWER_RECENT);
const lowerDone = new StaticArray<string>(LOWER_RECENT);

/** `name.toLowerCase()`, without a copy when that changes nothing (ASCII without upper case). */
function lowerName(name: string): string {
  const p = changetype<usize>(name);
  for (let i = 0, n = name.length; i < n; i++) {
    const c = <u32>load<u16>(p + (<usize>i << 1));
    if (c >= 0x80 || (c >= 0x41 && c <= 0x5a)) return name.toLowerCase();
  }
  return name;
}

/** Emptied collections of finished requests (RequestData.release), for the next requests' data. */
const pairsPool: Pairs[] = [];
/** Six per request: the collections of a few requests at once. */
const PAIRS_POOL_MAX = 48;

function takePairs(): Pairs {
  return pairsPool.length > 0 ? pairsPool.pop() : new Pairs();
}

function sparePairs(p: Pairs, keepDerived: (p: Pairs) => void): void {
  keepDerived(p);
  if (pairsPool.length < PAIRS_POOL_MAX) pairsPool.push(p.reset());
}

function noResponseStatus(): string {
  return "";
}

/** Reads the response's status from the host (filter.ts sets it); RequestData.statusArrived. */
let responseStatusReader: () => string = noResponseStatus;

export function setResponseStatusReader(read: () => string): void {
  responseStatusReader = read;
}

export class RequestData {
  method: string = "";
  /** Path with query, as received. */
  uri: string = "";
  protocol: string = "HTTP/1.1";
  filename: string = "";
  basename: string = "";
  queryString: string = "";
  remoteAddr: string = "";
  // Collections of an earlier request when there are (release).
  argsGet: Pairs = takePairs();
  argsPost: Pairs = takePairs();
  headers: Pairs = takePairs();
  cookies: Pairs = takePairs();
  /** FILES: form field name → uploaded file name. */
  files: Pairs = takePairs();
  body: string = "";
  bodyLength: i32 = 0;
  bodyError: string = "";
  bodyProcessor: string = "";
  /** The response status (`:status`); when it arrived unread, read at the first ask (statusArrived). */
  get responseStatus(): string {
    if (this.statusUnread) {
      this.statusUnread = false;
      this.status = responseStatusReader();
    }
    return this.status;
  }
  set responseStatus(status: string) {
    this.status = status;
    this.statusUnread = false;
  }
  /**
   * The response arrived and its status can be read (responseStatusReader) until the response
   * phases end: read only if a rule or macro asks for it. At PL1 none does (950100 is PL2), and
   * the read is a host call that costs more than those phases' rules.
   */
  statusArrived(): void { this.statusUnread = true; }
  private status: string = "";
  private statusUnread: bool = false;
  responseHeaders: Pairs = takePairs();
  responseBody: string = "";

  /** Sets the URI and what is derived from it; parts `known` holds (an earlier request's) are not copied. */
  setUri(uri: string, known: KnownValue = noKnownValue): void {
    this.uri = uri;
    const q = unitIndex(uri, 0x3f);
    let end = q < 0 ? uri.length : q;
    const hash = unitIndex(uri, 0x23);
    if (hash >= 0 && hash < end) end = hash;
    const path = end == uri.length ? uri : copyOf(uri, 0, end, known);
    this.filename = path;
    this.queryString = q < 0 ? "" : copyOf(uri, q + 1, uri.length, known);
    const slash = lastUnitIndex(path, 0x2f);
    this.basename = slash < 0 ? path : copyOf(path, slash + 1, path.length, known);
    parseUrlEncoded(this.queryString, this.argsGet, known);
  }

  /**
   * Bumped (touch) by whoever changes the data after a phase ran (the body, the response, a
   * ctl): lists of values the engine collected stay valid while it is unchanged.
   */
  version: i32 = 0;
  touch(): void { this.version++; }

  /**
   * The request is done: each collection is handed to `keepDerived` (what the engine made from
   * it, before it is emptied), then emptied and kept for later requests' data (its arrays' room
   * with it). Nothing may read this request's data afterwards.
   */
  release(keepDerived: (p: Pairs) => void): void {
    sparePairs(this.argsGet, keepDerived);
    sparePairs(this.argsPost, keepDerived);
    sparePairs(this.headers, keepDerived);
    sparePairs(this.cookies, keepDerived);
    sparePairs(this.files, keepDerived);
    sparePairs(this.responseHeaders, keepDerived);
  }

  /** The first value of a request header (names compared case-insensitively). */
  header(name: string): string {
    const i = this.headers.firstNamed(name);
    return i < 0 ? "" : this.headers.values[i];
  }
}

/**
 * `a=1&b=2` → pairs, names and values URL-decoded; a name without `=` gets an empty value. A
 * name or value with nothing to decode that `known` holds (one an earlier request had) is taken
 * from it instead of copied.
 */
export function parseUrlEncoded(s: string, out: Pairs, known: KnownValue = noKnownValue): void {
  const n = s.length;
  if (n == 0) return;
  const p = changetype<usize>(s);
  // One pass: each pair's `=` is looked for within the pair only (a search to the end of the
  // input from every pair made `a&a&a&...` quadratic).
  let start = 0;
  let eq = -1;
  // Whether the name (before `=`) and the value hold a `%` or `+` (something to decode).
  let nameCoded = false, valueCoded = false;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? <u32>load<u16>(p + (<usize>i << 1)) : 0x26;
    if (c == 0x3d) {
      if (eq < 0) eq = i;
    } else if (c == 0x26) {
      if (i > start) {
        if (eq >= 0) out.add(formPart(s, start, eq, nameCoded, known), formPart(s, eq + 1, i, valueCoded, known));
        else out.add(formPart(s, start, i, nameCoded, known), "");
      }
      start = i + 1;
      eq = -1;
      nameCoded = valueCoded = false;
    } else if (c == 0x25 || c == 0x2b) {
      if (eq < 0) nameCoded = true;
      else valueCoded = true;
    }
  }
}

/** s[start, end) URL-decoded; with nothing to decode, the string `known` holds for it if any. */
@inline function formPart(s: string, start: i32, end: i32, coded: bool, known: KnownValue): string {
  return coded ? urlDecode(s.substring(start, end), false) : copyOf(s, start, end, known);
}

/**
 * `Cookie: a=1; b=2` → pairs. Values are percent-decoded once, as frameworks hand them to the
 * application (`+` stays `+`), so a rule's own decoding sees what it sees in arguments.
 */
export function parseCookies(header: string, out: Pairs, known: KnownValue = noKnownValue): void {
  // One pass over `;`-separated parts, each trimmed, split at its first `=` (name and value
  // trimmed too); parts with nothing to decode come from `known` (repeated cookies cost no copy).
  const p = changetype<usize>(header);
  const n = header.length;
  let start = 0;
  for (let i = 0; i <= n; i++) {
    if (i < n && unitAt(p, i) != 0x3b) continue;
    let a = start, b = i;
    start = i + 1;
    while (a < b && isTrimmed(unitAt(p, a))) a++;
    while (b > a && isTrimmed(unitAt(p, b - 1))) b--;
    if (a == b) continue;
    let eq = a;
    while (eq < b && unitAt(p, eq) != 0x3d) eq++;
    if (eq == b) {
      out.add(copyOf(header, a, b, known), "");
      continue;
    }
    let nameEnd = eq;
    while (nameEnd > a && isTrimmed(unitAt(p, nameEnd - 1))) nameEnd--;
    let v = eq + 1;
    while (v < b && isTrimmed(unitAt(p, v))) v++;
    let coded = false;
    for (let k = v; k < b; k++) if (unitAt(p, k) == 0x25) { coded = true; break; }
    out.add(copyOf(header, a, nameEnd, known), coded ? percentDecode(header.substring(v, b)) : copyOf(header, v, b, known));
  }
}

/** What String#trim removes from a byte string: ASCII whitespace and 0xa0. */
@inline function isTrimmed(c: i32): bool {
  return isSpace(c) || c == 0xa0;
}

/** %XX decoding only (no `+` to space); invalid escapes stay. */
export function percentDecode(s: string): string {
  if (!hasUnit(s, 0x25)) return s;
  const b = new ByteBuilder(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c == 0x25 && i + 2 < s.length) {
      const h = hexValue(s.charCodeAt(i + 1)), l = hexValue(s.charCodeAt(i + 2));
      if (h >= 0 && l >= 0) { b.push((h << 4) | l); i += 2; continue; }
    }
    b.push(c);
  }
  return b.toString();
}

/** Media type of a content-type header, lowercase, without parameters. */
export function mediaType(contentType: string): string {
  const semi = contentType.indexOf(";");
  return (semi < 0 ? contentType : contentType.substring(0, semi)).trim().toLowerCase();
}

/** A content-type parameter (`boundary`), unquoted; "" when absent. */
export function contentTypeParam(contentType: string, name: string): string {
  const v = headerParam(contentType, name);
  return v === null ? "" : v;
}

const JSON_MAX_DEPTH = 256;
const JSON_MAX_ARGS = 16384;

/**
 * The units of flattened names (JSON and XML paths) a body may make: 4 per unit of the body, at
 * least 64 Ki. A name repeats its parents' (`json.a.b.c`), so a long path over many distinct keys
 * (`{"<1,000 units>":{..."a1":1,"a2":2,...}}`) would otherwise make memory and time grow with
 * the square of the body; past the bound the body is a parse error (REQBODY_ERROR).
 */
export function nameBudget(bodyLength: i32): i32 {
  return max(NAME_BUDGET_MIN, min(bodyLength, i32.MAX_VALUE >> 3) << 2);
}
const NAME_BUDGET_MIN = 65536;
/** The units of the names made by the JSON body being flattened (JsonName.child adds to it). */
let jsonNameUnits: i32 = 0;

/**
 * JSON body → ARGS_POST: every scalar under its dotted path (`json.user.name`; array elements
 * share the array's name: `json.items.sku` for every item, so exclusions name them once). Iterative (no recursion), tolerant of duplicate keys; returns an error
 * message on malformed JSON ("" when fine).
 */
export function flattenJson(s: string, out: Pairs, known: KnownValue = noKnownValue): string {
  const p = new JsonFlattener(s, out, known);
  return p.run();
}

/**
 * A string already held elsewhere equal to s[start, end), or null: a value found so is taken
 * instead of a new copy of the slice (the WAF passes its value table's lookup).
 */
export type KnownValue = (s: string, start: i32, end: i32) => string | null;
function noKnownValue(s: string, start: i32, end: i32): string | null { return null; }

/** Children a JSON name looks up by comparing keys one by one; beyond them, through a map. */
const JSON_LINEAR_CHILDREN = 16;
/** Recent values a JSON name remembers, to reuse the string when a value repeats at its path (a power of two). */
const JSON_RECENT_VALUES = 4;

/**
 * Whether `str` holds the same units as s[start, end). The last unit is compared first: values
 * of one path often differ only there (`SKU-1003`, `SKU-1004`), so most misses cost one load.
 */
@inline function sliceIs(str: string, s: string, start: i32, end: i32): bool {
  const len = end - start;
  if (str.length != len) return false;
  if (len == 0) return true;
  const p = changetype<usize>(str), q = changetype<usize>(s) + (<usize>start << 1);
  const last = <usize>(len - 1) << 1;
  return load<u16>(p + last) == load<u16>(q + last) && unitsEqual(p, q, len - 1);
}

/**
 * A flattened JSON name and the names under it, so the name of every value is built once per
 * distinct path of a body (an array of objects repeats the same few), not once per value. Keys
 * and values are looked up in the body's text, so a key or value seen before at the same path
 * (an array of objects repeats its keys and many of its values) allocates no new string: fewer
 * objects for the collection at the stream's end to free.
 */
class JsonName {
  // Made on first use: a body of many distinct keys makes a name per key, most with no children
  // and one value (no arrays for those).
  private keys: string[] | null = null;
  private nodes: JsonName[] | null = null;
  private byKey: Map<string, JsonName> | null = null;
  /** Where the next key lookup starts (objects in an array repeat their keys in order). */
  private hint: i32 = 0;
  /** The last value made at this path, then (once a second one is) the last few: a ring, filled from 0. */
  private last: string | null = null;
  private recent: StaticArray<string> | null = null;
  private recentCount: i32 = 0;
  private nextRecent: i32 = 0;
  constructor(public name: string) {}

  child(key: string): JsonName {
    let keys = this.keys, nodes = this.nodes;
    if (keys === null || nodes === null) { keys = this.keys = new Array<string>(); nodes = this.nodes = new Array<JsonName>(); }
    const n = keys.length;
    if (n <= JSON_LINEAR_CHILDREN) {
      for (let k = 0; k < n; k++) if (unchecked(keys[k]) == key) return unchecked(nodes[k]);
    } else if (this.byKey!.has(key)) return this.byKey!.get(key);
    const name = this.name + "." + key;
    jsonNameUnits += name.length;
    const c = new JsonName(name);
    keys.push(key);
    nodes.push(c);
    if (n + 1 > JSON_LINEAR_CHILDREN) {
      let m = this.byKey;
      if (m === null) {
        m = new Map<string, JsonName>();
        for (let k = 0; k <= n; k++) m.set(unchecked(keys[k]), unchecked(nodes[k]));
        this.byKey = m;
      } else m.set(key, c);
    }
    return c;
  }

  /** The child named by the (escape-free) key s[start, end). */
  childAt(s: string, start: i32, end: i32): JsonName {
    const keys = this.keys;
    if (keys !== null && keys.length <= JSON_LINEAR_CHILDREN) {
      const n = keys.length;
      let j = this.hint;
      for (let k = 0; k < n; k++, j++) {
        if (j >= n) j = 0;
        if (sliceIs(unchecked(keys[j]), s, start, end)) { this.hint = j + 1; return unchecked(this.nodes![j]); }
      }
    }
    return this.child(s.substring(start, end));
  }

  /**
   * The value s[start, end) (escape-free), as a string already made for this path when one of
   * the last few was equal, else as one `known` holds, else a new copy.
   */
  valueAt(s: string, start: i32, end: i32, known: KnownValue): string {
    const last = this.last;
    if (changetype<usize>(last) == 0) { // (by address: `=== null` on a string calls String.__eq)
      const v = copyOf(s, start, end, known);
      this.last = v;
      return v;
    }
    if (sliceIs(last, s, start, end)) return last;
    let r = this.recent;
    if (r === null) {
      r = this.recent = new StaticArray<string>(JSON_RECENT_VALUES);
      unchecked(r[0] = last);
      this.recentCount = this.nextRecent = 1;
    }
    for (let k = 0, n = this.recentCount; k < n; k++) {
      const v = unchecked(r[k]);
      if (sliceIs(v, s, start, end)) return v;
    }
    const v = copyOf(s, start, end, known);
    unchecked(r[this.nextRecent] = v);
    this.nextRecent = (this.nextRecent + 1) & (JSON_RECENT_VALUES - 1);
    if (this.recentCount < JSON_RECENT_VALUES) this.recentCount++;
    this.last = v;
    return v;
  }
}

/** s[start, end): the string `known` holds for it, else a new one. */
@inline function copyOf(s: string, start: i32, end: i32, known: KnownValue): string {
  const v = known(s, start, end);
  return changetype<usize>(v) != 0 ? changetype<string>(v) : s.substring(start, end);
}

/** What the flattener reads next. */
const JSON_VALUE = 0;
const JSON_KEY = 1;
const JSON_AFTER_VALUE = 2;

/** Unit i of the string at p. */
@inline function unitAt(p: usize, i: i32): i32 {
  return <i32>load<u16>(p + (<usize>i << 1));
}

/** The first position from i on (up to n) that is not a space. */
@inline function skipSpaces(p: usize, i: i32, n: i32): i32 {
  // Most tokens follow one another with no space: one test, no loop (a loop in the flattener's
  // per-token path costs V8's loop check too).
  if (i >= n || unitAt(p, i) > 0x20) return i;
  return skipSpacesFrom(p, i, n);
}

/** skipSpaces past its first test. */
function skipSpacesFrom(p: usize, i: i32, n: i32): i32 {
  while (i < n && isSpace(unitAt(p, i))) i++;
  return i;
}

/** Where the string whose opening quote is before `start` ends (its closing quote), or -1 at a backslash or the end. */
@inline function plainStringEnd(p: usize, start: i32, n: i32): i32 {
  let i = start;
  // Four units per step while none is a quote or a backslash (a unit is 0 after the xor exactly
  // when it is one: the zero-unit test is exact about whether there is one, not where).
  while (i + 4 <= n) {
    const x = load<u64>(p + (<usize>i << 1));
    const quote = x ^ 0x0022002200220022, slash = x ^ 0x005c005c005c005c;
    if ((((quote - 0x0001000100010001) & ~quote) | ((slash - 0x0001000100010001) & ~slash)) & 0x8000800080008000) break;
    i += 4;
  }
  for (; i < n; i++) {
    const c = unitAt(p, i);
    if (c == 0x22) return i;
    if (c == 0x5c) break;
  }
  return -1;
}

/** Whether s[start, end) (not empty) is `true`, `false`, `null` or made of number characters only (digits, sign, point, exponent). */
@inline function isJsonLiteral(p: usize, start: i32, end: i32): bool {
  const len = end - start;
  const q = p + (<usize>start << 1);
  // The units of "true", "null" and "fals" as one u64 each (little-endian).
  if (len == 4) {
    const w = load<u64>(q);
    if (w == 0x0065007500720074 || w == 0x006c006c0075006e) return true;
  } else if (len == 5 && load<u64>(q) == 0x0073006c00610066 && load<u16>(q, 8) == 0x65) return true;
  for (let i = start; i < end; i++) {
    const c = unitAt(p, i);
    if (!((c >= 0x30 && c <= 0x39) || c == 0x2d || c == 0x2b || c == 0x2e || c == 0x65 || c == 0x45)) return false;
  }
  return true;
}

/**
 * One pass over the text with the position, the open levels and the state in locals, and the
 * per-unit loops (spaces, strings, literals) free of calls: the calls left are one per key or
 * value (to look it up at its path and add it).
 */
class JsonFlattener {
  /** Where an escaped string ended (escapedString). */
  private pos: i32 = 0;
  constructor(public s: string, public out: Pairs, private known: KnownValue) {}

  run(): string {
    const s = this.s, out = this.out, known = this.known;
    const p = changetype<usize>(s), n = s.length;
    // The name of each open level from the root (an array element shares its array's), and each
    // open container's kind: 0 object, 1 array.
    const path = new StaticArray<JsonName>(JSON_MAX_DEPTH + 1);
    const kinds = new StaticArray<u8>(JSON_MAX_DEPTH);
    let top = new JsonName("json");
    unchecked(path[0] = top);
    let levels = 1, depth = 0;
    let pos = skipSpaces(p, 0, n);
    if (pos >= n) return "empty JSON body";
    jsonNameUnits = 0;
    const budget = nameBudget(n);
    out.beginAppending();
    const names = out.names, values = out.values;
    let state = JSON_VALUE;
    while (true) {
      pos = skipSpaces(p, pos, n);
      if (state == JSON_VALUE) {
        if (pos >= n) return "unexpected end of JSON";
        const c = unitAt(p, pos);
        if (c == 0x7b || c == 0x5b) {
          if (depth >= JSON_MAX_DEPTH) return "JSON nesting deeper than " + JSON_MAX_DEPTH.toString();
          pos = skipSpaces(p, pos + 1, n);
          if (c == 0x7b) {
            if (pos < n && unitAt(p, pos) == 0x7d) { pos++; state = JSON_AFTER_VALUE; continue; }
            unchecked(kinds[depth++] = 0);
            state = JSON_KEY;
            continue;
          }
          if (pos < n && unitAt(p, pos) == 0x5d) { pos++; state = JSON_AFTER_VALUE; continue; }
          unchecked(kinds[depth++] = 1);
          unchecked(path[levels++] = top);
          continue;
        }
        let value: string;
        if (c == 0x22) {
          const start = pos + 1;
          const end = plainStringEnd(p, start, n);
          if (end >= 0) {
            value = top.valueAt(s, start, end, known);
            pos = end + 1;
          } else {
            const str = this.escapedString(start);
            if (str === null) return "unterminated JSON string";
            value = str;
            pos = this.pos;
          }
        } else {
          const start = pos;
          while (pos < n) {
            const d = unitAt(p, pos);
            if (d == 0x2c || d == 0x7d || d == 0x5d || isSpace(d)) break;
            pos++;
          }
          if (pos == start) return "unexpected character in JSON at " + pos.toString();
          if (!isJsonLiteral(p, start, pos)) return "invalid JSON literal at " + start.toString();
          value = top.valueAt(s, start, pos, known);
        }
        if (names.length >= JSON_MAX_ARGS) return "more than " + JSON_MAX_ARGS.toString() + " JSON values";
        append(names, top.name);
        append(values, value);
        state = JSON_AFTER_VALUE;
        continue;
      }
      if (state == JSON_KEY) {
        if (pos >= n || unitAt(p, pos) != 0x22) return "expected a JSON object key at " + pos.toString();
        // An escape-free key is looked up in the text (no string made for a key seen before).
        const start = pos + 1;
        const end = plainStringEnd(p, start, n);
        let node: JsonName;
        if (end >= 0) {
          pos = end + 1;
          node = top.childAt(s, start, end);
        } else {
          const k = this.escapedString(start);
          if (k === null) return "unterminated JSON string";
          pos = this.pos;
          node = top.child(k);
        }
        if (jsonNameUnits > budget) return "JSON names longer than " + budget.toString() + " characters in all";
        pos = skipSpaces(p, pos, n);
        if (pos >= n || unitAt(p, pos) != 0x3a) return "expected : in JSON at " + pos.toString();
        pos++;
        unchecked(path[levels++] = node);
        top = node;
        state = JSON_VALUE;
        continue;
      }
      // After a value: the container decides what comes next.
      if (depth == 0) {
        if (pos < n) return "trailing data after JSON at " + pos.toString();
        return "";
      }
      if (pos >= n) return "unexpected end of JSON";
      const c = unitAt(p, pos);
      const kind = unchecked(kinds[depth - 1]);
      if (c == 0x2c) {
        pos = skipSpaces(p, pos + 1, n);
        // The next element of an array has the same name; the next key of an object replaces the last.
        if (kind == 0) {
          levels--;
          top = unchecked(path[levels - 1]);
          state = JSON_KEY;
        } else state = JSON_VALUE;
        continue;
      }
      if ((c == 0x7d && kind == 0) || (c == 0x5d && kind == 1)) {
        pos++;
        levels--;
        top = unchecked(path[levels - 1]);
        depth--;
        continue;
      }
      return "unexpected character in JSON at " + pos.toString();
    }
    return "";
  }

  /**
   * The string from `start` (after its opening quote) to its closing quote, escapes decoded to
   * bytes (\u to UTF-8), with this.pos after it; null when unterminated.
   */
  private escapedString(start: i32): string | null {
    const s = this.s;
    this.pos = start;
    const b = new ByteBuilder(16);
    while (this.pos < s.length) {
      const c = s.charCodeAt(this.pos);
      if (c == 0x22) { this.pos++; return b.toString(); }
      if (c == 0x5c && this.pos + 1 < s.length) {
        const e = s.charCodeAt(this.pos + 1);
        this.pos += 2;
        if (e == 0x6e) b.push(0x0a);
        else if (e == 0x74) b.push(0x09);
        else if (e == 0x72) b.push(0x0d);
        else if (e == 0x62) b.push(0x08);
        else if (e == 0x66) b.push(0x0c);
        else if (e == 0x75 && this.pos + 4 <= s.length) {
          let cp = 0;
          for (let k = 0; k < 4; k++) {
            const h = hexValue(s.charCodeAt(this.pos + k));
            cp = h < 0 || cp < 0 ? -1 : (cp << 4) | h;
          }
          this.pos += 4;
          pushUtf8(b, cp < 0 ? 0xfffd : cp);
        } else b.push(e);
        continue;
      }
      b.push(c);
      this.pos++;
    }
    return null;
  }
}

function pushUtf8(b: ByteBuilder, cp: i32): void {
  if (cp < 0x80) b.push(cp);
  else if (cp < 0x800) { b.push(0xc0 | (cp >> 6)); b.push(0x80 | (cp & 0x3f)); }
  else { b.push(0xe0 | (cp >> 12)); b.push(0x80 | ((cp >> 6) & 0x3f)); b.push(0x80 | (cp & 0x3f)); }
}

/**
 * multipart/form-data → ARGS_POST (fields) and FILES (field name → file name). Returns an error
 * message ("" when fine): missing boundary, no closing boundary, a part without a name.
 */
export function parseMultipart(body: string, boundary: string, args: Pairs, files: Pairs): string {
  if (boundary.length == 0) return "multipart body without a boundary parameter";
  const delim = "--" + boundary;
  let pos = body.indexOf(delim);
  if (pos < 0) return "multipart boundary not found";
  let closed = false;
  let parts = 0;
  while (pos >= 0) {
    pos += delim.length;
    if (body.startsWith("--", pos)) { closed = true; break; }
    // Skip to the end of the boundary line.
    const lineEnd = body.indexOf("\n", pos);
    if (lineEnd < 0) break;
    const headerEnd = findHeaderEnd(body, lineEnd + 1);
    if (headerEnd < 0) return "multipart part without a header end";
    const headers = body.substring(lineEnd + 1, headerEnd);
    let contentStart = headerEnd;
    while (contentStart < body.length && (body.charCodeAt(contentStart) == 0x0d || body.charCodeAt(contentStart) == 0x0a)) {
      contentStart++;
      if (contentStart - headerEnd >= 4) break;
    }
    const next = body.indexOf(delim, contentStart);
    if (next < 0) return "multipart part not terminated by a boundary";
    let contentEnd = next;
    if (contentEnd > contentStart && body.charCodeAt(contentEnd - 1) == 0x0a) contentEnd--;
    if (contentEnd > contentStart && body.charCodeAt(contentEnd - 1) == 0x0d) contentEnd--;
    const disposition = headerValue(headers, "content-disposition");
    const name = headerParam(disposition, "name");
    const hasFilename = disposition.toLowerCase().indexOf("filename") >= 0;
    if (name === null) return "multipart part without a name";
    if (hasFilename) {
      const filename = headerParam(disposition, "filename");
      files.add(name, filename === null ? "" : filename);
    } else {
      args.add(name, body.substring(contentStart, contentEnd));
    }
    parts++;
    pos = next;
  }
  if (!closed) return "multipart body without a closing boundary";
  return "";
}

function findHeaderEnd(s: string, from: i32): i32 {
  // An empty line ends the part headers (CRLF CRLF or LF LF).
  let i = from;
  while (i < s.length) {
    const nl = s.indexOf("\n", i);
    if (nl < 0) return -1;
    const line = s.substring(i, nl);
    if (line.length == 0 || line == "\r") return i;
    i = nl + 1;
  }
  return -1;
}

function headerValue(headers: string, name: string): string {
  const lines = headers.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    const colon = l.indexOf(":");
    if (colon < 0) continue;
    if (l.substring(0, colon).trim().toLowerCase() == name) return l.substring(colon + 1).trim();
  }
  return "";
}

/**
 * A `; name=value` parameter of a header value (quotes removed); null when absent. Quote-aware:
 * `name="a;b"` is the name `a;b` (as a backend reads it), not `"a` — splitting on every `;`
 * would let a separator inside a quoted name or file name hide the real one from the rules.
 */
function headerParam(value: string, name: string): string | null {
  const parts = splitParams(value);
  for (let i = 1; i < parts.length; i++) {
    const p = parts[i].trim();
    const eq = p.indexOf("=");
    if (eq < 0) continue;
    if (p.substring(0, eq).trim().toLowerCase() != name) continue;
    let v = p.substring(eq + 1).trim();
    if (v.length >= 2 && v.startsWith("\"") && v.endsWith("\"")) v = v.substring(1, v.length - 1);
    return v;
  }
  return null;
}

/** Splits a header value on the `;` that are outside double quotes (a backslash escapes in quotes). */
function splitParams(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (quoted && c == 0x5c) { i++; continue; }
    if (c == 0x22) quoted = !quoted;
    else if (c == 0x3b && !quoted) { out.push(value.substring(start, i)); start = i + 1; }
  }
  out.push(value.substring(start));
  return out;
}

const XML_MAX_VALUES = 16384;

/**
 * Adds an XML value under `name` (null: the body's names passed their budget, XmlPath), unless
 * the body holds more than XML_MAX_VALUES (a parse error, as for JSON: stopping quietly would let
 * values past the limit go uninspected as arguments). Returns "" or the error.
 */
function addXmlValue(out: Pairs, name: string | null, value: string, path: XmlPath): string {
  if (name === null) return path.overBudget();
  if (out.length >= XML_MAX_VALUES) return "more than " + XML_MAX_VALUES.toString() + " XML values";
  out.add(name!, value);
  return "";
}

/**
 * XML body → ARGS_POST, leniently (no DTD processing, never fails): element text under
 * `xml.<path>` and attribute values under `xml.<path>@<name>`; CDATA is text, a DOCTYPE is kept
 * as `xml.!doctype` (entity declarations stay visible to rules). Returns "" or an error: an
 * unterminated construct, more than XML_MAX_VALUES values, names past the body's nameBudget.
 */
export function flattenXml(s: string, out: Pairs): string {
  const path = new XmlPath(nameBudget(s.length));
  let i = 0;
  const n = s.length;
  while (i < n) {
    const lt = s.indexOf("<", i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      const text = s.substring(i, textEnd).trim();
      if (text.length > 0) {
        const error = addXmlValue(out, path.current(), decodeXmlEntities(text), path);
        if (error.length > 0) return error;
      }
    }
    if (lt < 0) break;
    if (s.startsWith("<!--", lt)) {
      const end = s.indexOf("-->", lt + 4);
      if (end < 0) return "unterminated XML comment";
      i = end + 3;
      continue;
    }
    if (s.startsWith("<![CDATA[", lt)) {
      const end = s.indexOf("]]>", lt + 9);
      if (end < 0) return "unterminated CDATA section";
      const error = addXmlValue(out, path.current(), s.substring(lt + 9, end), path);
      if (error.length > 0) return error;
      i = end + 3;
      continue;
    }
    if (s.startsWith("<!", lt) || s.startsWith("<?", lt)) {
      // DOCTYPE (with an internal subset in brackets) or a processing instruction.
      let end = s.indexOf(">", lt);
      // An internal subset's `[` counts only before that `>` (looked for there alone: a search to
      // the end from every `<?` made `<?a><?a>...` quadratic).
      let bracket = -1;
      for (let k = lt + 2; k < end; k++) if (s.charCodeAt(k) == 0x5b) { bracket = k; break; }
      if (bracket >= 0) {
        const close = s.indexOf("]>", bracket);
        end = close >= 0 ? close + 1 : -1;
      }
      if (end < 0) return "unterminated XML declaration";
      if (s.startsWith("<!", lt)) {
        const error = addXmlValue(out, "xml.!doctype", s.substring(lt, end + 1), path);
        if (error.length > 0) return error;
      }
      i = end + 1;
      continue;
    }
    const gt = s.indexOf(">", lt);
    if (gt < 0) return "unterminated XML tag";
    let tag = s.substring(lt + 1, gt);
    if (tag.startsWith("/")) {
      path.pop();
      i = gt + 1;
      continue;
    }
    const selfClosing = tag.endsWith("/");
    if (selfClosing) tag = tag.substring(0, tag.length - 1);
    let k = 0;
    while (k < tag.length && !isSpace(tag.charCodeAt(k))) k++;
    const name = tag.substring(0, k);
    path.push(name);
    // Attributes: name="value" or name='value'.
    while (k < tag.length) {
      while (k < tag.length && isSpace(tag.charCodeAt(k))) k++;
      const ns = k;
      while (k < tag.length && tag.charCodeAt(k) != 0x3d && !isSpace(tag.charCodeAt(k))) k++;
      const an = tag.substring(ns, k);
      while (k < tag.length && isSpace(tag.charCodeAt(k))) k++;
      if (k >= tag.length || tag.charCodeAt(k) != 0x3d) { if (an.length == 0) break; continue; }
      k++;
      while (k < tag.length && isSpace(tag.charCodeAt(k))) k++;
      const q = k < tag.length ? tag.charCodeAt(k) : 0;
      let value = "";
      if (q == 0x22 || q == 0x27) {
        const close = tag.indexOf(String.fromCharCode(q), k + 1);
        const e = close < 0 ? tag.length : close;
        value = tag.substring(k + 1, e);
        k = e + 1;
      } else {
        const vs = k;
        while (k < tag.length && !isSpace(tag.charCodeAt(k))) k++;
        value = tag.substring(vs, k);
      }
      if (an.length > 0) {
        const error = addXmlValue(out, path.attribute(an), decodeXmlEntities(value), path);
        if (error.length > 0) return error;
      }
    }
    if (selfClosing) path.pop();
    i = gt + 1;
  }
  return "";
}

/**
 * The value an XML parser hands the application: the predefined entities (&lt; &gt; &amp; &quot;
 * &apos;) and character references (&#39; &#x27;) decoded, so `a=&quot;x&quot;` is inspected as
 * `a="x"`. Anything else (an unknown or malformed reference) stays as written.
 */
export function decodeXmlEntities(v: string): string {
  const n = v.length;
  const p = changetype<usize>(v);
  let i = 0;
  while (i < n && load<u16>(p + (<usize>i << 1)) != 0x26) i++;
  if (i == n) return v;
  // Linear: text copied unit by unit into one builder, and a reference's `;` looked for within
  // the longest reference only (a search to the end from every `&` made `&&&...` quadratic).
  const out = new ByteBuilder(n);
  for (let k = 0; k < i; k++) out.push(<i32>load<u16>(p + (<usize>k << 1)));
  while (i < n) {
    const c = <i32>load<u16>(p + (<usize>i << 1));
    if (c != 0x26) { out.push(c); i++; continue; }
    const amp = i;
    let semi = -1;
    for (let k = amp + 1, last = min(n - 1, amp + XML_MAX_REFERENCE); k <= last; k++) {
      if (load<u16>(p + (<usize>k << 1)) == 0x3b) { semi = k; break; }
    }
    if (semi < 0) { out.push(0x26); i = amp + 1; continue; }
    const ref = v.substring(amp + 1, semi);
    let rep: string | null = null;
    if (ref == "lt") rep = "<";
    else if (ref == "gt") rep = ">";
    else if (ref == "amp") rep = "&";
    else if (ref == "quot") rep = "\"";
    else if (ref == "apos") rep = "'";
    else if (ref.length > 1 && ref.charCodeAt(0) == 0x23) {
      const hex = ref.charCodeAt(1) == 0x78 || ref.charCodeAt(1) == 0x58;
      const digits = ref.substring(hex ? 2 : 1);
      let cp: i32 = 0;
      let ok = digits.length > 0;
      for (let k = 0; k < digits.length && ok; k++) {
        const d = hexValue(digits.charCodeAt(k));
        if (d < 0 || (!hex && d > 9)) ok = false;
        else cp = cp * (hex ? 16 : 10) + d;
        if (cp > 0x10ffff) ok = false;
      }
      if (ok && cp > 0 && (cp < 0xd800 || cp > 0xdfff)) rep = String.fromCodePoint(cp);
    }
    if (changetype<usize>(rep) == 0) { out.push(0x26); i = amp + 1; continue; }
    out.pushString(rep!);
    i = semi + 1;
  }
  return out.toString();
}

/** The longest reference decodeXmlEntities reads: `&` to `;` at most this many units apart. */
const XML_MAX_REFERENCE = 10;

/** An element path of an XML body: its name (`xml.a.b`, made once when a value needs it), its children and its attributes' names. */
class XmlNode {
  private made: string | null;
  private firstChild: XmlNode | null = null;
  private children: Map<string, XmlNode> | null = null;
  private attributes: Map<string, string> | null = null;
  constructor(public parent: XmlNode | null, public element: string) {
    this.made = parent === null ? "xml" : null;
  }
  child(name: string): XmlNode {
    // The first child inline, a map from the second on (deep nesting has one child per level).
    const first = this.firstChild;
    if (first === null) return this.firstChild = new XmlNode(this, name);
    if (first.element == name) return first;
    let m = this.children;
    if (m === null) this.children = m = new Map<string, XmlNode>();
    if (m.has(name)) return m.get(name);
    const c = new XmlNode(this, name);
    m.set(name, c);
    return c;
  }
  /**
   * The name, made on first use (`units` counts what was made): from the nearest ancestor whose
   * name is made, by a loop (elements nested tens of thousands deep must not recurse), and only
   * this node's (making every ancestor's too would cost the square of the depth).
   */
  name(units: XmlNameUnits): string {
    const made = this.made;
    if (made !== null) return made;
    const parts = new Array<string>();
    let node: XmlNode = this;
    let base = "";
    while (true) {
      const m = node.made;
      if (m !== null) { base = m; break; }
      parts.push(node.element);
      node = node.parent!; // the root's name is made at construction
    }
    parts.reverse();
    const n = base + "." + parts.join(".");
    units.count += n.length;
    this.made = n;
    return n;
  }
  attribute(attr: string, units: XmlNameUnits): string {
    let m = this.attributes;
    if (m === null) this.attributes = m = new Map<string, string>();
    if (m.has(attr)) return m.get(attr);
    const n = this.name(units) + "@" + attr;
    units.count += n.length;
    m.set(attr, n);
    return n;
  }
}

class XmlNameUnits { count: i32 = 0; }

/**
 * The open XML elements. Each distinct path's name is made once (an element repeated under the
 * same parent reuses it), and the units of all names made stay within the body's nameBudget.
 */
class XmlPath {
  private top: XmlNode = new XmlNode(null, "");
  private units: XmlNameUnits = new XmlNameUnits();
  constructor(private budget: i32) {}
  push(name: string): void { this.top = this.top.child(name); }
  pop(): void { const p = this.top.parent; if (p !== null) this.top = p; }
  /** The current path's name, or null once the body's names passed the budget. */
  current(): string | null {
    const n = this.top.name(this.units);
    return this.units.count > this.budget ? null : n;
  }
  /** An attribute's name (`xml.a.b@id`), or null past the budget. */
  attribute(name: string): string | null {
    const n = this.top.attribute(name, this.units);
    return this.units.count > this.budget ? null : n;
  }
  overBudget(): string { return "XML names longer than " + this.budget.toString() + " characters in all"; }
}

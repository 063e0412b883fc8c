// The rule engine: runs a RuleSet's rules for one transaction, phase by phase, with the TX
// collection, chains, skipAfter/SecMarker, ctl, MATCHED_VAR(S), captures and disruptive actions.
// Pure: the filter feeds it request/response data and reads its decision and events.
import {
  Ctl, CtlKind, Disruptive, EngineMode, isCollection, Macro, PhasePlan, Rule, RuleSet, SetVarOp, Target, TxRef, Var, VAR_NAMES, LINK_CTLS, LINK_MATCH_SETVARS, LINK_SETVARS, SCREEN_HINTED_GROUPS,
} from "./seclang/model";
import { hasTag } from "./seclang/parser";
import { evalOperator } from "./operators";
import { applyTransform, applyTransforms, TRANSFORM_COUNT } from "./transforms";
import { Pairs, RequestData } from "./request";
import { append, emptied, isDigit, parseIntOr, reserved, unitsEqual } from "./bytes";
import { familyOf } from "./family";
import { TxPreset, TxVars, txHash } from "./tx";
import { HI_DONE, addedUnits, caseTrigger, disjoint, mayHoldLiteral, summarize, transformTrigger } from "./summary";

/** One matched rule (chain), for the audit log, metrics and the matched-rules list. */
export class MatchEvent {
  ruleId: i32 = 0;
  phase: i32 = 0;
  family: string = "";
  /** "deny", "pass", "allow" (what the rule asked for). */
  action: string = "pass";
  msg: string = "";
  logdata: string = "";
  severity: string = "";
  tags: string[] = [];
  matchedVarName: string = "";
  matchedVar: string = "";
  log: bool = true;
}

const MAX_CAPTURES = 10;
/** TX keys of the captures ("0".."9") and their hashes. */
const CAPTURE_KEYS: StaticArray<string> = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const CAPTURE_HASHES = captureHashes();
function captureHashes(): StaticArray<u32> {
  const out = new StaticArray<u32>(MAX_CAPTURES);
  for (let i = 0; i < MAX_CAPTURES; i++) out[i] = txHash(CAPTURE_KEYS[i]);
  return out;
}
const INBOUND_SCORE_HASH = txHash("inbound_anomaly_score");
const SCORE_HASH = txHash("anomaly_score");

/**
 * Bounds of what the value table keeps across requests (it is cleared at a phase start beyond
 * them, and at the end of a request side). Room for one 64 KiB JSON body's values, their
 * transformed forms and the body itself (~6,500 values, ~140 Ki chars): a body sent again
 * finds every per-value result kept. The per-value arrays are sized by the most values one
 * request makes anyway; what the bounds add is the strings kept between requests.
 */
const VALUE_TABLE_MAX_VALUES = 8192;
const VALUE_TABLE_MAX_CHARS = 1 << 18;

/**
 * The distinct values inspected, each with a small id. Every collected value is interned once
 * per phase (a collection's ids are kept on its Pairs for the phase), so what is computed per
 * value (the result of each transformation list, each group pre-screen, each operator verdict)
 * lives in arrays indexed by id rather than in hash maps consulted for every (rule, value) pair,
 * and equal values share it. It is kept from request to request within bounds (beginPhase).
 */
class ValueTable {
  /** The generation at this phase's start: a Pairs keeps the value ids it got in it (idsOf). */
  epoch: i32 = 0;
  /**
   * The interned values by content: an open-addressing table of value id + 1 (0: empty), with
   * each interned value's hash by id, so a lookup hashes once (a Map hashed twice, has then get
   * or set) and a clear keeps the table's room (a Map was rebuilt and regrown every request).
   */
  private slots: Int32Array = new Int32Array(1024);
  private hashes: Uint32Array = new Uint32Array(512);
  private interned: i32 = 0;
  values: string[] = [];
  /** By transformation list id, then value id: the id of the transformed value + 1 (0: not computed yet). */
  private transformed: Array<Int32Array | null> = [];
  /** By transformation, then value id: the id of the value after that one transformation + 1 (0: not computed yet). */
  private steps: Array<Int32Array | null> = [];
  /** By prefilter group id, then value id: 0 not screened, 1 no rule of the group can match, 2 may match. */
  private screened: Array<Uint8Array | null> = [];
  /** By rule slot (Rule.verdictSlot), then value id: 0 not run, 1 no match, 2 match (operators whose verdict depends on the value alone). */
  private verdicts: Array<Uint8Array | null> = [];
  /** By value id (a form scanned by the literal screen): 0 not scanned yet, 1 no literal, 2 some literal. */
  private scanState: Uint8Array = new Uint8Array(0);
  /** By value id: the screen's words of slot bits (rules one of whose literals occur in it), at id * scanWords. */
  private scanBits: Uint32Array = new Uint32Array(0);
  private scanWords: i32 = 0;
  /**
   * By screen group past the hinted ones (the others are in the slot sets), then value id: where
   * the group's slot bits for the value are (the offset in scanBits of the form the group's list
   * reads + 2), 1 when no rule of the group can match it, 0 not known yet.
   */
  private groupForms: Array<Int32Array | null> = [];
  /**
   * By value id: the hinted screen groups whose slots its slot set holds (0: none yet), and at
   * id * scanWords in slotSets, the set itself: each such group's slots that have a literal in
   * the form of the value the group reads. One computation per value answers every group (what
   * literalMayOccur ORs over a variable's entries).
   */
  private slotSetGroups: Uint64Array = new Uint64Array(0);
  private slotSets: Uint32Array = new Uint32Array(0);
  /**
   * By value id: bit w set when word w of its slot set may be non-zero (every bit when the sets
   * have more than 64 words). A list's pass for one group skips in one test the values with no
   * slot of the group's words (most: the groups are large, their literals rare).
   */
  private slotSetWords: Uint64Array = new Uint64Array(0);
  /** Hinted screen groups (the first HINTED_GROUPS of the rule set's). */
  private hintedGroups: i32 = 0;
  /** Their bits (bit g for each), and the end of their slots (the first slot of the next group). */
  private hintedMask: u64 = 0;
  private hintedEnd: i32 = 0;
  /** By summary bit (lo's 64, then hi's 64): the hinted groups whose list a value holding that unit may change more than in case. */
  private hintTrigByUnit: Uint64Array = new Uint64Array(128);
  /** Dedup marks: seen[id] == stamp when the value is already in the list being built. */
  private seen: Int32Array = new Int32Array(64);
  private stamp: i32 = 0;
  /** The rule set whose transformation lists, groups and slots the results are for. */
  private owner: RuleSet | null = null;
  private chars: i32 = 0;
  /** By value id, two words: its character summary (summary.ts; 0: not computed yet). */
  private sums: Uint64Array = new Uint64Array(128);
  /** By transformation list id: the units one of which a value needs for the list to change it. */
  private chainTrigLo: Uint64Array = new Uint64Array(0);
  private chainTrigHi: Uint64Array = new Uint64Array(0);

  /**
   * Starts a phase. Everything kept per value is a function of its content alone, so it stays
   * valid from request to request (repeated header values, common arguments cost nothing the
   * second time) until the table grows past its bounds or another rule set uses it.
   */
  beginPhase(rules: RuleSet): void {
    if (this.owner !== rules || this.overBounds()) this.clear(rules);
    // Ids stay valid until the table is cleared: a Pairs unchanged since (a GET's phase 2) keeps them.
    this.epoch = this.generation;
  }

  private overBounds(): bool {
    return this.values.length > VALUE_TABLE_MAX_VALUES || this.chars > VALUE_TABLE_MAX_CHARS;
  }

  /**
   * Ends the request or response side: a table past its bounds would be cleared at the next
   * phase start anyway, so it is cleared now, and the collection at the stream's end frees its
   * values instead of marking them (a 64 KiB JSON body leaves ~10,000 of them).
   */
  endSide(rules: RuleSet): void {
    if (this.owner === rules && this.overBounds()) this.clear(rules);
  }

  /** Bumped by every clear: ids handed out before a clear mean nothing after it. */
  generation: i32 = 0;

  private clear(rules: RuleSet): void {
    this.generation++;
    // Slots are numbered per rule set: another one starts with no verdict arrays at all.
    if (this.owner !== rules) {
      this.verdicts.length = 0;
      this.scanState = new Uint8Array(0);
      this.scanBits = new Uint32Array(0);
      const screen = rules.screen;
      this.scanWords = screen !== null ? screen.words : 0;
      this.groupForms.length = 0;
      this.slotSetGroups = new Uint64Array(0);
      this.slotSets = new Uint32Array(0);
      this.slotSetWords = new Uint64Array(0);
      this.chainTriggers(rules);
      this.groupHintRanges(rules);
    }
    this.owner = rules;
    this.chars = 0;
    if (this.interned > 0) this.slots.fill(0);
    this.interned = 0;
    this.values.length = 0;
    for (let i = 0; i < this.transformed.length; i++) { const t = unchecked(this.transformed[i]); if (t !== null) t.fill(0); }
    for (let i = 0; i < this.steps.length; i++) { const t = unchecked(this.steps[i]); if (t !== null) t.fill(0); }
    for (let i = 0; i < this.screened.length; i++) { const p = unchecked(this.screened[i]); if (p !== null) p.fill(0); }
    this.scanState.fill(0);
    for (let i = 0; i < this.groupForms.length; i++) { const p = unchecked(this.groupForms[i]); if (p !== null) p.fill(0); }
    for (let i = 0; i < this.verdicts.length; i++) { const p = unchecked(this.verdicts[i]); if (p !== null) p.fill(0); }
    this.sums.fill(0);
    this.slotSetGroups.fill(0);
  }

  /** Each hinted screen group's case triggers by summary unit (see hintTrigByUnit). */
  private groupHintRanges(rules: RuleSet): void {
    const n = min(rules.screenGroupChain.length, HINTED_GROUPS);
    this.hintedGroups = n;
    const byUnit = new Uint64Array(128);
    for (let g = 0; g < n; g++) {
      const bit = (<u64>1) << (<u64>g);
      const chain = rules.screenGroupChain[g];
      // What screenKey tests: a list with no step reads the value itself; an unknown one never does.
      let lo: u64 = 0, hi: u64 = 0;
      if (chain != 0) {
        if (chain < this.chainCaseLo.length) { lo = this.chainCaseLo[chain]; hi = this.chainCaseHi[chain]; }
        else { lo = u64.MAX_VALUE; hi = u64.MAX_VALUE; }
      }
      for (let b = 0; b < 64; b++) {
        if ((lo >> (<u64>b)) & 1) byUnit[b] |= bit;
        if ((hi >> (<u64>b)) & 1) byUnit[64 + b] |= bit;
      }
    }
    this.hintTrigByUnit = byUnit;
    this.hintedMask = ((<u64>1) << (<u64>n)) - 1; // n <= HINTED_GROUPS < 64
    this.hintedEnd = n > 0 ? rules.screenGroupEnd[n - 1] : 0;
  }

  /** Each transformation list's trigger units: the union of its steps' (a list's parent has a smaller id). */
  private chainTriggers(rules: RuleSet): void {
    const n = rules.chainParent.length;
    const lo = new Uint64Array(n), hi = new Uint64Array(n);
    const caseLo = new Uint64Array(n), caseHi = new Uint64Array(n);
    const addLo = new Uint64Array(n), addHi = new Uint64Array(n);
    for (let c = 1; c < n; c++) {
      const t = transformTrigger(rules.chainLast[c]);
      const ct = caseTrigger(rules.chainLast[c]);
      const added = addedUnits(rules.chainLast[c]);
      const parent = rules.chainParent[c];
      lo[c] = lo[parent] | t.lo;
      hi[c] = hi[parent] | t.hi;
      caseLo[c] = caseLo[parent] | ct.lo;
      caseHi[c] = caseHi[parent] | ct.hi;
      const adds = added.lo != 0 || added.hi != 0;
      addLo[c] = addLo[parent] | (adds ? t.lo : 0);
      addHi[c] = addHi[parent] | (adds ? t.hi : 0);
    }
    this.chainTrigLo = lo;
    this.chainTrigHi = hi;
    this.chainCaseLo = caseLo;
    this.chainCaseHi = caseHi;
    this.chainAddLo = addLo;
    this.chainAddHi = addHi;
  }

  /**
   * By transformation list id: the units one of which a value needs for a step of the list that
   * may add units (summary.ts addedUnits) to change it. A value holding none of them has no
   * unit in any form that it lacks itself (the other steps only drop units or fold case, so no
   * such step can come to change a later form either).
   */
  private chainAddLo: Uint64Array = new Uint64Array(0);
  private chainAddHi: Uint64Array = new Uint64Array(0);

  /** By transformation list id: the units one of which a value needs for the list to change more than its case. */
  private chainCaseLo: Uint64Array = new Uint64Array(0);
  private chainCaseHi: Uint64Array = new Uint64Array(0);

  /** By transformation: the units one of which a value needs for it to change the value. */
  private tfTrigLo: Uint64Array = transformTriggers(false);
  private tfTrigHi: Uint64Array = transformTriggers(true);
  /** By transformation: the units it may add to a value (summary.ts addedUnits). */
  private tfAddLo: Uint64Array = transformAdditions(false);
  private tfAddHi: Uint64Array = transformAdditions(true);

  /** The offset of value `id`'s summary in `sums` (computed on first use). */
  @inline summaryAt(id: i32): i32 {
    const at = id << 1;
    // Inline when known (tens of thousands of asks per large body); computing it is a call.
    if (at + 1 >= this.sums.length || (unchecked(this.sums[at + 1]) & HI_DONE) == 0) this.summarizeValue(id);
    return at;
  }

  private summarizeValue(id: i32): void {
    const at = id << 1;
    if (at + 1 >= this.sums.length) {
      const bigger = new Uint64Array(capacityFor(id) << 1);
      bigger.set(this.sums);
      this.sums = bigger;
    }
    summarize(unchecked(this.values[id]), this.sums, at);
  }

  /**
   * Whether value `id` after transformation list `chain` may hold one of the unit sets `masks`,
   * judged without computing that form: from the value's summary, with the units each step that
   * may change it can add. False: no literal of them can occur in the form.
   */
  @inline mayHoldLiteralAfter(id: i32, chain: i32, masks: Uint64Array, rules: RuleSet): bool {
    const at = this.summaryAt(id);
    const lo = unchecked(this.sums[at]), hi = unchecked(this.sums[at + 1]);
    // A value no step of the list can add a unit to (most) holds every unit of its forms.
    if (chain < this.chainAddLo.length && disjoint(lo, hi, unchecked(this.chainAddLo[chain]), unchecked(this.chainAddHi[chain]))) {
      return mayHoldLiteral(lo, hi, masks);
    }
    return this.mayHoldLiteralStepping(lo, hi, chain, masks, rules);
  }

  /** mayHoldLiteralAfter for a value some step of the list may add units to. */
  private mayHoldLiteralStepping(lo: u64, hi: u64, chain: i32, masks: Uint64Array, rules: RuleSet): bool {
    // The list's steps, last first (its trie), then applied in order.
    const steps = stepScratch;
    let n = 0;
    let c = chain;
    for (; c != 0 && n < STEP_SCRATCH; c = unchecked(rules.chainParent[c])) unchecked(steps[n++] = unchecked(rules.chainLast[c]));
    if (c != 0) return true;
    for (let k = n - 1; k >= 0; k--) {
      const tf = unchecked(steps[k]);
      if (!disjoint(lo, hi, unchecked(this.tfTrigLo[tf]), unchecked(this.tfTrigHi[tf]))) {
        lo |= unchecked(this.tfAddLo[tf]);
        hi |= unchecked(this.tfAddHi[tf]);
      }
    }
    return mayHoldLiteral(lo, hi, masks);
  }

  /** Whether value `id` holds one of the unit sets `masks` (a literal of them may occur in it). */
  mayHoldLiteral(id: i32, masks: Uint64Array): bool {
    const at = this.summaryAt(id);
    return mayHoldLiteral(unchecked(this.sums[at]), unchecked(this.sums[at + 1]), masks);
  }

  intern(v: string): i32 {
    const n = v.length;
    const h = n > LONG_VALUE_HASHED ? sampledHash(v) : unitsHash(changetype<usize>(v), n);
    const found = this.find(changetype<usize>(v), n, h);
    if (found >= 0) return found;
    const id = this.values.length;
    append(this.values, v);
    this.chars += n;
    if (id >= this.hashes.length) {
      const bigger = new Uint32Array(capacityFor(id));
      bigger.set(this.hashes);
      this.hashes = bigger;
    }
    unchecked(this.hashes[id] = h);
    const slots = this.slots;
    unchecked(slots[-found - 1] = id + 1);
    // At most half full: lookups stay short.
    if (++this.interned * 2 > slots.length) this.rehash(slots.length << 1);
    return id;
  }

  /**
   * The interned value equal to s[start, end) (of at most LONG_VALUE_HASHED units), or null: a
   * parser that finds a value here takes it instead of copying the slice, so a value repeated
   * from an earlier request costs no allocation and is interned again by identity.
   */
  valueOfSlice(s: string, start: i32, end: i32): string | null {
    const n = end - start;
    if (n > LONG_VALUE_HASHED) return null;
    const q = changetype<usize>(s) + (<usize>start << 1);
    const found = this.find(q, n, unitsHash(q, n));
    return found >= 0 ? unchecked(this.values[found]) : null;
  }

  /**
   * The id of the interned value of the `n` units at `q`, whose hash is `h`; when none is,
   * -(the empty slot where it would go + 1). One probe for intern and valueOfSlice.
   */
  @inline private find(q: usize, n: i32, h: u32): i32 {
    const slots = this.slots, hashes = this.hashes, values = this.values;
    const mask = slots.length - 1;
    let at = <i32>h & mask;
    while (true) {
      const e = unchecked(slots[at]);
      if (e == 0) return -(at + 1);
      const known = e - 1;
      if (unchecked(hashes[known]) == h) {
        const v = unchecked(values[known]);
        const p = changetype<usize>(v);
        // The same string (a repeated header or JSON value) needs no compare of its units.
        if (v.length == n && (p == q || unitsEqual(p, q, n))) return known;
      }
      at = (at + 1) & mask;
    }
  }

  /** Rebuilds the content table with `size` slots (a power of two) from the interned values' hashes. */
  private rehash(size: i32): void {
    const old = this.slots;
    const slots = new Int32Array(size);
    const mask = size - 1, hashes = this.hashes;
    for (let i = 0, n = old.length; i < n; i++) {
      const e = unchecked(old[i]);
      if (e == 0) continue;
      let at = <i32>unchecked(hashes[e - 1]) & mask;
      while (unchecked(slots[at]) != 0) at = (at + 1) & mask;
      unchecked(slots[at] = e);
    }
    this.slots = slots;
  }

  /** The cached verdict of the rule in `slot` on value `id`: 0 unknown, 1 no match, 2 match. */
  verdict(slot: i32, id: i32): u8 {
    if (slot >= this.verdicts.length) return 0;
    const p = unchecked(this.verdicts[slot]);
    return p === null || id >= p.length ? 0 : unchecked(p[id]);
  }

  /** Records a verdict of rule slot `slot` for value `id` (inline while the slot's array holds the id: ~10,000 per JSON body). */
  @inline setVerdict(slot: i32, id: i32, matched: bool): void {
    if (slot < this.verdicts.length) {
      const p = unchecked(this.verdicts[slot]);
      if (p !== null && id < p.length) {
        unchecked(p[id] = matched ? 2 : 1);
        return;
      }
    }
    this.setVerdictGrowing(slot, id, matched);
  }

  /**
   * setVerdict for link `r` (its verdictSlot); a screened link known not to match the value also
   * leaves the value's slot set (dropSlot).
   */
  @inline noteVerdict(r: Rule, id: i32, matched: bool): void {
    this.setVerdict(r.verdictSlot, id, matched);
    if (!matched && r.screenId >= 0) this.dropSlot(id, r.screenId, r.screenSlot);
  }

  /** setVerdict when the slot's array must be made or grown first. */
  private setVerdictGrowing(slot: i32, id: i32, matched: bool): void {
    while (this.verdicts.length <= slot) this.verdicts.push(null);
    let p = unchecked(this.verdicts[slot]);
    if (p === null || p.length <= id) {
      const bigger = new Uint8Array(capacityFor(id));
      if (p !== null) bigger.set(p!);
      this.verdicts[slot] = p = bigger;
    }
    unchecked(p[id] = matched ? 2 : 1);
  }

  /** Ids of a collection's names or values, computed once per phase. */
  idsOf(p: Pairs, names: bool): i32[] {
    if (p.idEpoch != this.epoch) { p.nameIds = null; p.valueIds = null; p.firstNames = null; p.firstValues = null; p.idEpoch = this.epoch; }
    let ids = names ? p.nameIds : p.valueIds;
    if (ids === null) {
      const src = names ? p.names : p.values;
      const n = src.length;
      ids = idArray(n);
      // The same string object is the same content: a name or value repeated as one string (a
      // JSON array's names, its repeated values) is looked up once while it stays in a small
      // cache of recent strings, direct-mapped by address (one test per entry).
      // Emptied per call: between calls a collection may free a string and reuse its address.
      const seen = recentStrings, seenIds = recentIds;
      memory.fill(changetype<usize>(seen), 0, <usize>RECENT_STRINGS * sizeof<usize>());
      // Written through the data pointer: an Array's indexed store is a call with a bounds check.
      const idsAt = ids.dataStart;
      for (let i = 0; i < n; i++) {
        const v = unchecked(src[i]);
        const at = changetype<usize>(v);
        // Objects are 16-byte aligned: the bits above those pick the entry.
        const k = <i32>((at >> 4) & (RECENT_STRINGS - 1));
        let id: i32;
        if (unchecked(seen[k]) == at) id = unchecked(seenIds[k]);
        else {
          id = this.intern(v);
          unchecked(seen[k] = at);
          unchecked(seenIds[k] = id);
        }
        store<i32>(idsAt + (<usize>i << 2), id);
      }
      if (names) p.nameIds = ids; else p.valueIds = ids;
    }
    return ids!;
  }

  /**
   * The indexes of the first occurrence of each distinct name or value of `p` (after idsOf), in
   * order: a list that drops duplicates never keeps a later one (ARGS_NAMES of a JSON array is
   * thousands of entries and a handful of names).
   */
  firstsOf(p: Pairs, names: bool): i32[] {
    const ids = this.idsOf(p, names);
    let firsts = names ? p.firstNames : p.firstValues;
    if (firsts === null) {
      // Marks of its own (the dedup marks may be in use by the list being collected).
      if (this.firstMarks.length < this.values.length) this.firstMarks = new Int32Array(capacityFor(this.values.length));
      const marks = this.firstMarks;
      const stamp = ++this.firstStamp;
      const out = emptyIdArray(ids.length);
      for (let i = 0; i < ids.length; i++) {
        const id = unchecked(ids[i]);
        if (unchecked(marks[id]) == stamp) continue;
        unchecked(marks[id] = stamp);
        append(out, i);
      }
      firsts = out;
      if (names) p.firstNames = out; else p.firstValues = out;
    }
    return firsts!;
  }
  private firstMarks: Int32Array = new Int32Array(64);
  private firstStamp: i32 = 0;

  /**
   * The id of value `id` after transformation list `chain`, computed once (kept with the value),
   * from the result of the list's parent (the list without its last transformation), so lists
   * that start alike share their common prefix. Each single step is kept too, by transformation
   * and input: lists that apply the same transformation to the same intermediate value (a
   * lowercase after decodings that changed nothing, and a lowercase alone) compute it once. A
   * step that changes nothing keeps the id, so equal results are visible as equal ids.
   */
  @inline transformedId(id: i32, chain: i32, rules: RuleSet): i32 {
    if (chain == 0) return id;
    // Inline when known (one load); the first time is a call.
    if (chain < this.transformed.length) {
      const t = unchecked(this.transformed[chain]);
      if (t !== null && id < t.length) {
        const known = unchecked(t[id]);
        if (known > 0) return known - 1;
      }
    }
    return this.transformFirst(id, chain, rules);
  }

  /** transformedId when the result is not known yet. */
  private transformFirst(id: i32, chain: i32, rules: RuleSet): i32 {
    while (this.transformed.length <= chain) this.transformed.push(null);
    let t = unchecked(this.transformed[chain]);
    if (t === null || t.length <= id) t = this.grow(this.transformed, chain, id);
    // A value with none of the units that could make a step of the list change it is its own
    // result (kept too, so the next ask is the inline load).
    let out = id;
    const at = this.summaryAt(id);
    if (!(chain < this.chainTrigLo.length &&
        disjoint(unchecked(this.sums[at]), unchecked(this.sums[at + 1]), unchecked(this.chainTrigLo[chain]), unchecked(this.chainTrigHi[chain])))) {
      // The parent list has a smaller id: its table is another one, `t` stays this list's.
      const base = this.transformedId(id, unchecked(rules.chainParent[chain]), rules);
      out = this.step(base, unchecked(rules.chainLast[chain]));
    }
    unchecked(t![id] = out + 1);
    return out;
  }

  /** Whether transformation list `chain` leaves value `id` as it is (none of its steps' trigger units in it). */
  unchangedBy(id: i32, chain: i32): bool {
    if (chain == 0) return true;
    const at = this.summaryAt(id);
    return chain < this.chainTrigLo.length &&
      disjoint(unchecked(this.sums[at]), unchecked(this.sums[at + 1]), unchecked(this.chainTrigLo[chain]), unchecked(this.chainTrigHi[chain]));
  }

  /** The value `id` after transformation list `chain`. */
  transformedOf(id: i32, chain: i32, rules: RuleSet): string {
    return unchecked(this.values[this.transformedId(id, chain, rules)]);
  }

  /** The id of transformation `tf` applied to value `id` (the same id when it changes nothing). */
  private step(id: i32, tf: i32): i32 {
    const at = this.summaryAt(id);
    if (disjoint(unchecked(this.sums[at]), unchecked(this.sums[at + 1]), unchecked(this.tfTrigLo[tf]), unchecked(this.tfTrigHi[tf]))) return id;
    while (this.steps.length <= tf) this.steps.push(null);
    let t = unchecked(this.steps[tf]);
    if (t === null || t.length <= id) t = this.grow(this.steps, tf, id);
    const known = unchecked(t[id]);
    if (known > 0) return known - 1;
    const v = unchecked(this.values[id]);
    const out = applyTransform(tf, v);
    let outId = id;
    // Some transformations build a new string even when nothing changed: equal content keeps the id.
    if (changetype<usize>(out) != changetype<usize>(v) && !(out.length == v.length && out == v)) {
      // A derived value: kept by id only (not looked up by content).
      outId = this.values.length;
      append(this.values, out);
      this.chars += out.length;
    }
    unchecked(t[id] = outId + 1);
    return outId;
  }

  /** Grows table `k` of `tables` to hold `id` (entries: result id + 1, 0 unknown). */
  private grow(tables: Array<Int32Array | null>, k: i32, id: i32): Int32Array {
    const old = unchecked(tables[k]);
    const bigger = new Int32Array(capacityFor(id));
    if (old !== null) bigger.set(old!);
    tables[k] = bigger;
    return bigger;
  }

  /** Whether rule `r`'s group alternation can match `v` (the value `id` transformed by the group's list), kept with the value. */
  groupMayMatch(id: i32, r: Rule, v: string): bool {
    const g = r.prefilterId;
    while (this.screened.length <= g) this.screened.push(null);
    let p = unchecked(this.screened[g]);
    if (p === null || p.length <= id) {
      const bigger = new Uint8Array(capacityFor(id));
      if (p !== null) bigger.set(p!);
      this.screened[g] = p = bigger;
    }
    let state = unchecked(p[id]);
    if (state == 0) { state = r.prefilter!.test(v) ? 2 : 1; unchecked(p[id] = state); }
    return state == 2;
  }

  /**
   * The form of value `id` the literal screen reads for rules of transformation list `chain`:
   * the value itself when the list can change no more than its case (the screen folds case), so
   * lists that leave a value alone share one scan of it; else the transformed value.
   */
  screenKey(id: i32, chain: i32, rules: RuleSet): i32 {
    if (chain == 0) return id;
    const at = this.summaryAt(id);
    if (chain < this.chainCaseLo.length &&
        disjoint(unchecked(this.sums[at]), unchecked(this.sums[at + 1]), unchecked(this.chainCaseLo[chain]), unchecked(this.chainCaseHi[chain]))) return id;
    return this.transformedId(id, chain, rules);
  }

  /**
   * Runs the literal screen over value `key` once, kept with the value; returns the offset of its
   * slot bits in scanBitsOf(), or -1 when no literal of any rule occurs in it.
   */
  scanOffset(key: i32, rules: RuleSet): i32 {
    const words = this.scanWords;
    if (key >= this.scanState.length) {
      const size = capacityFor(key);
      const st = new Uint8Array(size);
      st.set(this.scanState);
      this.scanState = st;
      this.scanBits = grownWords(this.scanBits, size, words);
    }
    let state = unchecked(this.scanState[key]);
    const at = key * words;
    if (state == 0) {
      const bits = this.scanBits;
      for (let w = 0; w < words; w++) unchecked(bits[at + w] = 0);
      const screen = rules.screen!;
      state = screen.scan(unchecked(this.values[key]), bits, at) ? 2 : 1;
      if (screen.hasUnitSlots) {
        const sum = this.summaryAt(key);
        if (screen.orUnitSlots(unchecked(this.sums[sum]), unchecked(this.sums[sum + 1]), bits, at)) state = 2;
      }
      unchecked(this.scanState[key] = state);
    }
    return state == 2 ? at : -1;
  }

  /**
   * Screen group `g`'s entry for value `id` (see groupForms): 1 when none of the group's rules
   * has a literal in the form its list reads, else the offset of the form's slot bits + 2.
   */
  groupForm(g: i32, id: i32, rules: RuleSet): i32 {
    while (this.groupForms.length <= g) this.groupForms.push(null);
    let f = unchecked(this.groupForms[g]);
    if (f === null || f.length <= id) f = this.grow(this.groupForms, g, id);
    let known = unchecked(f[id]);
    if (known != 0) return known;
    known = 1;
    const key = this.screenKey(id, unchecked(rules.screenGroupChain[g]), rules);
    const at = this.scanOffset(key, rules);
    if (at >= 0) {
      const start = unchecked(rules.screenGroupStart[g]), end = unchecked(rules.screenGroupEnd[g]);
      const bits = this.scanBits;
      for (let w = start >> 5, w1 = (end - 1) >> 5; w <= w1; w++) {
        let word = unchecked(bits[at + w]);
        if (w == start >> 5) word &= (<u32>0xffffffff) << (<u32>(start & 31));
        if (w == w1 && (end & 31) != 0) word &= ((<u32>1) << (<u32>(end & 31))) - 1;
        if (word != 0) { known = at + 2; break; }
      }
    }
    unchecked(f[id] = known);
    return known;
  }

  scanBitsOf(): Uint32Array {
    return this.scanBits;
  }

  /**
   * Value `id`'s slot set (see slotSetGroups), made to hold at least the hinted screen groups
   * `groups`; returns its offset in slotSetsOf(). Each group gives what groupForm would: a group
   * whose list cannot change more than the value's case reads the value's own scan (one scan for
   * all of them), the others the scan of their own form.
   */
  slotSetOf(id: i32, groups: u64, rules: RuleSet): i32 {
    const words = this.scanWords;
    const at = id * words;
    if (id >= this.slotSetGroups.length) {
      const size = capacityFor(id);
      const known = new Uint64Array(size);
      known.set(this.slotSetGroups);
      this.slotSetGroups = known;
      const nonZero = new Uint64Array(size);
      nonZero.set(this.slotSetWords);
      this.slotSetWords = nonZero;
      this.slotSets = grownWords(this.slotSets, size, words);
    }
    let known = unchecked(this.slotSetGroups[id]);
    let todo = groups & ~known;
    if (todo == 0) return at;
    if (known == 0) {
      // First time: every hinted group whose list cannot change more than the value's case
      // reads the value's own scan, so one masked copy of it answers them all; the groups whose
      // list may change it more are left empty, to be computed when asked for.
      const sum = this.summaryAt(id);
      const byUnit = this.hintTrigByUnit;
      let changing: u64 = 0;
      let m = unchecked(this.sums[sum]);
      while (m != 0) { changing |= unchecked(byUnit[<i32>ctz(m)]); m &= m - 1; }
      m = unchecked(this.sums[sum + 1]);
      while (m != 0) { changing |= unchecked(byUnit[64 + <i32>ctz(m)]); m &= m - 1; }
      // No group asked about reads the value itself (a request line or query string with '+' or
      // '%', read only by decoding rules): its own scan is left until one does (the loop below).
      const ownAt = (groups & ~changing) != 0 ? this.scanOffset(id, rules) : -1;
      const sets = this.slotSets, bits = this.scanBits;
      const end = this.hintedEnd;
      const full = end >> 5;
      if (ownAt >= 0) {
        for (let w = 0; w < full; w++) unchecked(sets[at + w] = unchecked(bits[ownAt + w]));
        let w = full;
        if ((end & 31) != 0) { unchecked(sets[at + w] = unchecked(bits[ownAt + w]) & (((<u32>1) << (<u32>(end & 31))) - 1)); w++; }
        for (; w < words; w++) unchecked(sets[at + w] = 0);
        let c = changing;
        while (c != 0) {
          this.clearGroupRange(<i32>ctz(c), at, rules);
          c &= c - 1;
        }
      } else {
        for (let w = 0; w < words; w++) unchecked(sets[at + w] = 0);
      }
      if ((groups & ~changing) != 0) {
        known = this.hintedMask & ~changing;
        todo &= changing;
      }
    }
    while (todo != 0) {
      const g = <i32>ctz(todo);
      todo &= todo - 1;
      const forms = unchecked(rules.screenGroupForms[g]);
      if (forms === null) {
        const formAt = this.scanOffset(this.screenKey(id, unchecked(rules.screenGroupChain[g]), rules), rules);
        if (formAt >= 0) this.orGroupRange(g, formAt, at, rules);
      } else {
        // A multiMatch group: a literal in any form its rules run on.
        for (let f = 0, n = forms.length; f < n; f++) {
          const formAt = this.scanOffset(this.screenKey(id, unchecked(forms[f]), rules), rules);
          if (formAt >= 0) this.orGroupRange(g, formAt, at, rules);
        }
      }
      known |= bit(g);
    }
    unchecked(this.slotSetGroups[id] = known);
    let nonZero: u64 = u64.MAX_VALUE;
    if (words <= 64) {
      nonZero = 0;
      const sets = this.slotSets;
      for (let w = 0; w < words; w++) if (unchecked(sets[at + w]) != 0) nonZero |= (<u64>1) << (<u64>w);
    }
    unchecked(this.slotSetWords[id] = nonZero);
    return at;
  }

  /** ORs screen group `g`'s slots of the scan at `from` (in scanBits) into the slot set at `to`. */
  @inline private orGroupRange(g: i32, from: i32, to: i32, rules: RuleSet): void {
    const start = unchecked(rules.screenGroupStart[g]), end = unchecked(rules.screenGroupEnd[g]);
    const bits = this.scanBits, sets = this.slotSets;
    for (let w = start >> 5, w1 = (end - 1) >> 5; w <= w1; w++) unchecked(sets[to + w] |= unchecked(bits[from + w]) & slotRangeMask(w, start, end));
  }

  /** Empties screen group `g`'s slots in the slot set at `to`. */
  @inline private clearGroupRange(g: i32, to: i32, rules: RuleSet): void {
    const start = unchecked(rules.screenGroupStart[g]), end = unchecked(rules.screenGroupEnd[g]);
    const sets = this.slotSets;
    for (let w = start >> 5, w1 = (end - 1) >> 5; w <= w1; w++) unchecked(sets[to + w] &= ~slotRangeMask(w, start, end));
  }

  /**
   * Takes screened rule slot `slot` (of group `g`) out of value `id`'s slot set once the rule is
   * known not to match the value (a screened rule's operator is not negated and its parameter is
   * constant, so that holds for as long as the value is in the table): the next requests' screens
   * pass over the rule when no other value holds one of its literals. The group must be in the
   * set already (a group added later reads the value's scan, the slot included: a superset).
   */
  dropSlot(id: i32, g: i32, slot: i32): void {
    if (g >= HINTED_GROUPS || id >= this.slotSetGroups.length || (unchecked(this.slotSetGroups[id]) & bit(g)) == 0) return;
    const at = id * this.scanWords + (slot >> 5);
    unchecked(this.slotSets[at] &= ~((<u32>1) << (<u32>(slot & 31))));
  }

  /** The groups each value's slot set holds, by value id (see slotSetGroups). */
  slotSetGroupsOf(): Uint64Array {
    return this.slotSetGroups;
  }

  /** The words of each value's slot set that may be non-zero, by value id (see slotSetWords). */
  slotSetWordsOf(): Uint64Array {
    return this.slotSetWords;
  }

  /** The slot sets (see slotSetOf). */
  slotSetsOf(): Uint32Array {
    return this.slotSets;
  }

  /** Whether one of the literals of screened rule `r` occurs in value `id` (in the form its list reads). */
  screenHit(r: Rule, id: i32, rules: RuleSet): bool {
    const slot = r.screenSlot;
    if (unchecked(rules.screenGroupForms[r.screenId]) !== null) {
      // A multiMatch group's (always hinted): its forms' literals are in the value's slot set.
      const set = this.slotSetOf(id, bit(r.screenId), rules);
      return (unchecked(this.slotSets[set + (slot >> 5)]) & ((<u32>1) << (<u32>(slot & 31)))) != 0;
    }
    const at = this.scanOffset(this.screenKey(id, unchecked(rules.screenGroupChain[r.screenId]), rules), rules);
    if (at < 0) return false;
    return (unchecked(this.scanBits[at + (slot >> 5)]) & ((<u32>1) << (<u32>(slot & 31)))) != 0;
  }

  /** Starts a dedup pass; then firstSight(id) is true once per id. */
  beginDedup(): void {
    if (this.seen.length < this.values.length) this.seen = new Int32Array(capacityFor(this.values.length));
    this.stamp++;
  }
  /** The dedup marks, sized for every value interned so far (firstSight's array). */
  dedupMarks(): Int32Array {
    if (this.seen.length < this.values.length) {
      const bigger = new Int32Array(capacityFor(this.values.length));
      bigger.set(this.seen);
      this.seen = bigger;
    }
    return this.seen;
  }
  dedupStamp(): i32 { return this.stamp; }

  firstSight(id: i32): bool {
    if (id >= this.seen.length) {
      const bigger = new Int32Array(capacityFor(max(id, this.values.length)));
      bigger.set(this.seen);
      this.seen = bigger;
    }
    if (unchecked(this.seen[id]) == this.stamp) return false;
    unchecked(this.seen[id] = this.stamp);
    return true;
  }
}

/** Every transformation's trigger units (summary.ts transformTrigger), one word of them. */
function transformTriggers(high: bool): Uint64Array {
  const out = new Uint64Array(TRANSFORM_COUNT);
  for (let t = 0; t < TRANSFORM_COUNT; t++) {
    const m = transformTrigger(t);
    out[t] = high ? m.hi : m.lo;
  }
  return out;
}

/** Every transformation's added units (summary.ts addedUnits), one word of them. */
function transformAdditions(high: bool): Uint64Array {
  const out = new Uint64Array(TRANSFORM_COUNT);
  for (let t = 0; t < TRANSFORM_COUNT; t++) {
    const m = addedUnits(t);
    out[t] = high ? m.hi : m.lo;
  }
  return out;
}

/** The steps of a transformation list (ValueTable.mayHoldLiteralAfter; longer lists are not judged). */
const STEP_SCRATCH = 32;
const stepScratch = new StaticArray<i32>(STEP_SCRATCH);

/**
 * Screen groups with a bit in a u64 (ValueTable.slotSetOf, PhasePlan.groupsByVar); the rule set's
 * first ones. A link of a later group is never passed over by literalMayOccur.
 */
const HINTED_GROUPS = SCREEN_HINTED_GROUPS;

/** Longer values (bodies) are hashed from a sample of their units (sampledHash). */
const LONG_VALUE_HASHED = 1024;

/**
 * A hash of a long value from its length, its first and last 256 units and 256 units spread
 * over the rest: interning a 64 KiB body reads ~800 units instead of all of it. Equal values
 * hash alike; values that differ only elsewhere collide and are told apart by the content
 * comparison, and the table's bounds keep only a few such long values at a time.
 */
function sampledHash(v: string): u32 {
  const n = v.length;
  const p = changetype<usize>(v);
  let h: u32 = <u32>n * 0x9e3779b1;
  // Four units per load, every load inside the value (equal values read equal units).
  for (let i = 0; i + 4 <= 256; i += 4) h = mixHash(h, load<u64>(p + (<usize>i << 1)));
  for (let i = n - 256; i + 4 <= n; i += 4) h = mixHash(h, load<u64>(p + (<usize>i << 1)));
  const stride = max((n - 512) >> 8, 4);
  for (let i = 256, k = 0; k < 256 && i + 4 <= n - 256; k++, i += stride) h = mixHash(h, load<u64>(p + (<usize>i << 1)));
  return h;
}

/**
 * A hash of the `n` units at `p` (a value of at most LONG_VALUE_HASHED units): eight bytes per
 * step, then a final mix so that the low bits, which pick the slot, depend on every unit.
 */
function unitsHash(p: usize, n: i32): u32 {
  let h: u64 = <u64>n * 0x9e3779b97f4a7c15;
  const end = p + (<usize>n << 1);
  while (p + 8 <= end) {
    h = rotl<u64>((h ^ load<u64>(p)) * 0xbf58476d1ce4e5b9, 29);
    p += 8;
  }
  let tail: u64 = 0;
  for (let shift: u64 = 0; p < end; p += 2, shift += 16) tail |= (<u64>load<u16>(p)) << shift;
  h = (h ^ tail) * 0x94d049bb133111eb;
  h ^= h >> 32;
  h *= 0xbf58476d1ce4e5b9;
  return <u32>(h >> 32);
}

/** The value table's interned value equal to s[start, end), or null (JSON values repeated from earlier requests: see ValueTable.valueOfSlice). */
export function knownValue(s: string, start: i32, end: i32): string | null {
  return sharedTable.valueOfSlice(s, start, end);
}

@inline function mixHash(h: u32, x: u64): u32 {
  h ^= <u32>x ^ <u32>(x >> 32);
  return rotl<u32>(h * 0x85ebca77, 13) * 0xc2b2ae3d;
}

/** How many recent strings idsOf remembers by identity, direct-mapped by address (a power of two). */
const RECENT_STRINGS = 256;
const recentStrings = new StaticArray<usize>(RECENT_STRINGS);
const recentIds = new StaticArray<i32>(RECENT_STRINGS);

/** How many recent distinct names addPairs remembers the selection of, by identity (a power of two). */
const RECENT_NAMES = 8;
const recentNames = new StaticArray<usize>(RECENT_NAMES);
const recentTaken = new StaticArray<bool>(RECENT_NAMES);

/** The bits of 32-bit word `w` of a slot bit set that fall in slots [start, end) (end > start). */
@inline function slotRangeMask(w: i32, start: i32, end: i32): u32 {
  let mask: u32 = 0xffffffff;
  if (w == start >> 5) mask &= (<u32>0xffffffff) << (<u32>(start & 31));
  if (w == (end - 1) >> 5 && (end & 31) != 0) mask &= ((<u32>1) << (<u32>(end & 31))) - 1;
  return mask;
}

const sharedTable = new ValueTable();

/**
 * By variable, the slots of screen groups with a literal in some entry the variable has in this
 * request (Transaction.literalMayOccur), for one transaction and version of its request data:
 * one set for the VM, as the value table (a phase runs to completion before another starts).
 */
class VariableSlots {
  transaction: i32 = 0;
  version: i32 = -1;
  /** By variable: the screen groups whose slots are in `bits` (at v * words: the union over its entries). */
  known: Uint64Array = new Uint64Array(64);
  bits: Uint32Array = new Uint32Array(0);
  /** By source (Transaction.orSourceSlots), the same for a collection's distinct names or values. */
  sourceKnown: Uint64Array = new Uint64Array(SOURCES);
  sourceBits: Uint32Array = new Uint32Array(0);
  /** The screen's words per slot set (RuleSet.screen.words) of the transaction it was made for. */
  words: i32 = 0;
  /** By PhasePlan.varsets index (the screen gates of Transaction.runRules), the same for the union over its variables. */
  varsetKnown: Uint64Array = new Uint64Array(0);
  varsetBits: Uint32Array = new Uint32Array(0);
}
/** The request's collections (argsGet, argsPost, headers, cookies, files, response headers), names and values. */
const SOURCES = 12;
const variableSlots = new VariableSlots();
/** Numbers transactions (VariableSlots.transaction). */
let transactionSerial: i32 = 0;
/**
 * Variables whose entries change while a phase runs (TX, MATCHED_*): a link reading one is never
 * skipped by literalMayOccur (a count target sets every bit of Rule.targetVars).
 */
const CHANGING_VARS: u64 = bit(Var.TX) | bit(Var.MATCHED_VAR) | bit(Var.MATCHED_VAR_NAME) | bit(Var.MATCHED_VARS) | bit(Var.MATCHED_VARS_NAMES);
/**
 * By target list id: how many entries the list had when last collected, in any transaction (the
 * next one's initial capacity; only a size hint, so lists of another rule set do no harm).
 */
const listSizes: i32[] = [];
/**
 * Target lists of finished phases, reused instead of allocated per request (a GET collects ~70
 * small lists). Only lists of at most POOLED_LIST_MAX entries are kept, so the pool stays small.
 */
const listPool: CollectedTargets[] = [];
const POOLED_LIST_MAX = 1024;
/**
 * Larger lists (a JSON body's ARGS: thousands of entries) are kept too, in a pool of their own
 * bounded by the entries their arrays hold in all (BIG_POOL_ROOM), without their per-slot arrays:
 * a body of one shape sent again needs no new arrays for its lists, whose zeroing and freeing
 * cost as much as filling them.
 */
const bigListPool: CollectedTargets[] = [];
let bigPoolRoom = 0;
const BIG_POOL_ROOM = 1 << 16;
const LIST_POOL_MAX = 256;
/**
 * A list of more entries than this inspects each distinct value once (the first entry holding it
 * is the one reported); a smaller one inspects every entry.
 */
const DEDUP_ABOVE = 8;

/** The room of a transaction's kept-list ids at first (a GET at PL1 collects ~20 lists). */
const KEPT_LISTS_ROOM = 32;

/**
 * Parts of finished transactions (Transaction.release), emptied, for the next ones: the TX
 * variables, the match list, the kept-list ids and the target cache (the request's collections
 * are kept by request.ts, RequestData.release).
 * Their memory is likely still in the CPU's caches, where fresh blocks are not, and a GET at PL1
 * made ~40 of its ~110 allocations for them. At most SPARE_PARTS of each (streams a VM holds at
 * once); a target cache is taken only by a transaction whose rule set has as many lists.
 */
const SPARE_PARTS = 8;
const spareTxVars: TxVars[] = [];
const spareEvents: Array<MatchEvent[]> = [];
const spareKeptIds: Array<i32[]> = [];
const spareCaches: Array<Array<CollectedTargets | null>> = [];
/**
 * Value-id arrays of finished transactions' collections (ValueTable.idsOf, firstsOf), reused by
 * the next ones; only arrays of at most SPARE_ID_ARRAY_MAX entries (a GET's), SPARE_ID_ARRAYS in all.
 */
const spareIdArrays: Array<i32[]> = [];
const SPARE_ID_ARRAYS = 64;
const SPARE_ID_ARRAY_MAX = 256;

/** An array of `n` ids to be written in full (idsOf), a spare one when there is. */
function idArray(n: i32): i32[] {
  if (spareIdArrays.length == 0) return new Array<i32>(n);
  const a = spareIdArrays.pop();
  a.length = n;
  return a;
}

/** An empty array of ids with room for about `n` (firstsOf), a spare one when there is. */
function emptyIdArray(n: i32): i32[] {
  if (spareIdArrays.length == 0) return reserved<i32>(n);
  const a = spareIdArrays.pop();
  emptied(a);
  return a;
}

/** Keeps a collection's id arrays for later transactions (it is being emptied: nothing else reads them). */
function spareIdsOf(p: Pairs): void {
  spareIdArray(p.nameIds);
  spareIdArray(p.valueIds);
  spareIdArray(p.firstNames);
  spareIdArray(p.firstValues);
}

@inline function spareIdArray(a: i32[] | null): void {
  if (a !== null && a.length <= SPARE_ID_ARRAY_MAX && spareIdArrays.length < SPARE_ID_ARRAYS) spareIdArrays.push(a);
}

/**
 * The values a rule inspects: value ids (the values are in the ValueTable), and where each
 * entry's name is, resolved only for the values a rule matches: entries come in runs from one
 * source (a collection's Pairs, whose names[srcs[i]] it is, or `extra` names for scalars and TX
 * keys) with one variable (the name is "VAR:" + name; -1: the name is complete). So collecting
 * copies no string reference: the lists hold plain integers.
 */
class TargetList {
  ids: i32[];
  srcs: i32[];
  /** Per run, its first entry and its variable, alternating (one array: fewer lines to touch). */
  private runs: i32[] = [];
  private runPairs: Array<Pairs | null> = [];
  private extra: string[] = [];

  constructor(room: i32 = 0) {
    this.ids = reserved<i32>(room);
    this.srcs = reserved<i32>(room);
  }

  get length(): i32 { return this.ids.length; }

  /** Makes this (empty) list a copy of `p`'s entries and runs, and marks their values as seen by the current dedup pass. */
  copyFrom(p: TargetList, table: ValueTable): void {
    copyInts(this.ids, p.ids);
    copyInts(this.srcs, p.srcs);
    copyInts(this.runs, p.runs);
    const pairs = p.runPairs, extra = p.extra;
    for (let i = 0; i < pairs.length; i++) this.runPairs.push(unchecked(pairs[i]));
    for (let i = 0; i < extra.length; i++) this.extra.push(unchecked(extra[i]));
    const seen = table.dedupMarks();
    const stamp = table.dedupStamp();
    const ids = p.ids;
    for (let i = 0, n = ids.length; i < n; i++) unchecked(seen[unchecked(ids[i])] = stamp);
  }

  clear(): void {
    emptied(this.ids);
    emptied(this.srcs);
    emptied(this.runs);
    emptied(this.runPairs);
    emptied(this.extra);
  }

  /** Starts a run of entries from `p` (null: named ones) with variable `kind`, unless the last run is one. */
  beginRun(p: Pairs | null, kind: i32): void {
    const n = this.runPairs.length;
    if (n > 0 && unchecked(this.runPairs[n - 1]) === p && unchecked(this.runs[(n << 1) - 1]) == kind) return;
    append(this.runs, this.ids.length);
    append(this.runs, kind);
    append(this.runPairs, p);
  }

  /** Entry `index` of collection `p` (its name is p.names[index]); beginRun(p, kind) first. */
  @inline push(index: i32, id: i32): void {
    append(this.ids, id);
    append(this.srcs, index);
  }

  addNamed(name: string, kind: i32, id: i32): void {
    this.beginRun(null, kind);
    append(this.ids, id);
    append(this.srcs, this.extra.length);
    append(this.extra, name);
  }

  /** The name entry `i` is reported under ("ARGS:q", "REQUEST_URI", ...). */
  nameAt(i: i32): string {
    // The run holding it: the last one starting at or before it (lists have a few runs).
    let r = this.runPairs.length - 1;
    while (r > 0 && unchecked(this.runs[r << 1]) > i) r--;
    const p = unchecked(this.runPairs[r]);
    const src = unchecked(this.srcs[i]);
    const name = p !== null ? unchecked(p.names[src]) : unchecked(this.extra[src]);
    const k = unchecked(this.runs[(r << 1) + 1]);
    return k < 0 ? name : VAR_NAMES[k] + ":" + name;
  }
}

/** One phase's values for a shared target list, with what the screens found in them. */
class CollectedTargets extends TargetList {
  /** By prefilter group: the indexes of the values the group's alternation matches (the only ones its rules can match). */
  private survivors: Array<i32[] | null> = NO_LISTS;
  /** By literal screen: per slot, the indexes of the values where one of that rule's literals occurs. */
  private screened: Array<Array<i32[] | null> | null> = NO_SLOT_LISTS;
  /** The most entries its arrays were made for or held (a pooled list keeps that room). */
  room: i32 = 0;
  /** How many entries its targets had before duplicates were dropped. */
  rawCount: i32 = 0;
  /** Whether it holds its targets' values with duplicates dropped (false: a small list collected again with them). */
  deduped: bool = false;
  /**
   * The shared list of this phase whose entries this one starts with (copied by startFrom), so
   * its screen survivors are this one's below prefixLength: only the rest is walked here.
   */
  private prefix: CollectedTargets | null = null;
  /** By screen group: an emptied per-slot array from an earlier collection (see reset). */
  private spareSlots: Array<Array<i32[] | null> | null> = [];
  /** The groups set in `screened` (what reset walks). */
  private screenedGroups: i32[] = [];
  /** The slot lists of `screened` holding entries (what reset empties). */
  private filledSlots: Array<i32[]> = [];
  private prefixLength: i32 = 0;
  constructor(room: i32) {
    super(room);
    this.room = room;
  }

  /** Lets go of the emptied per-slot arrays reset keeps (a large list's would hold thousands of entries' room). */
  dropSpareSlots(): void {
    if (this.spareSlots.length != 0) this.spareSlots = [];
  }

  /** Empties the list for another collection (its arrays keep their room). */
  reset(): void {
    this.clear();
    this.survivors = NO_LISTS;
    // The per-slot survivor arrays are kept, emptied, for the next collection (a pooled list is
    // collected again on every request: no allocation for them then). Only the few slot lists
    // that got entries are emptied (a group has up to hundreds of slots, nearly all empty).
    const filled = this.filledSlots;
    for (let i = 0, n = filled.length; i < n; i++) emptied(unchecked(filled[i]));
    emptied(filled);
    const sc = this.screened, used = this.screenedGroups;
    for (let i = 0, n = used.length; i < n; i++) {
      const g = unchecked(used[i]);
      const per = unchecked(sc[g])!;
      unchecked(sc[g] = null);
      if (per.length == 0) continue; // NO_SLOTS
      const spare = this.spareSlots;
      while (spare.length <= g) spare.push(null);
      unchecked(spare[g] = per);
    }
    emptied(used);
    this.dropPrefix();
    this.rawCount = 0;
    this.deduped = false;
  }

  /** Starts this (empty) list with the entries of `p`, a shared list of the same phase. */
  startFrom(p: CollectedTargets, table: ValueTable): void {
    this.copyFrom(p, table);
    this.prefix = p;
    this.prefixLength = p.length;
  }

  dropPrefix(): void {
    this.prefix = null;
    this.prefixLength = 0;
  }

  /** By slot of screen group `g` (from its first slot): the indexes of the values where one of that rule's literals occurs (NO_SLOTS: none anywhere). */
  slotListsFor(g: i32, table: ValueTable, rules: RuleSet): Array<i32[] | null> {
    // Made on first use (most lists never need one): a list is collected for every request.
    if (this.screened === NO_SLOT_LISTS) this.screened = new Array<Array<i32[] | null> | null>();
    while (this.screened.length <= g) this.screened.push(null);
    let per = unchecked(this.screened[g]);
    if (per === null) {
      const start = unchecked(rules.screenGroupStart[g]), end = unchecked(rules.screenGroupEnd[g]);
      const w0 = start >> 5, w1 = (end - 1) >> 5;
      per = NO_SLOTS;
      const ids = this.ids;
      let first = 0;
      const prefix = this.prefix;
      if (prefix !== null) {
        // The entries below prefixLength are the prefix list's: so are their survivors.
        const theirs = prefix.slotListsFor(g, table, rules);
        if (theirs.length > 0) {
          per = this.slotArray(g, end - start);
          for (let k = 0; k < theirs.length; k++) {
            const got = unchecked(theirs[k]);
            if (got === null || got.length == 0) continue;
            let mine = unchecked(per[k]);
            if (mine === null) { mine = new Array<i32>(); unchecked(per[k] = mine); }
            copyInts(mine, got);
            append<i32[]>(this.filledSlots, mine);
          }
        }
        first = this.prefixLength;
      }
      // One scan per distinct form of a value, shared by every list and group reading that form;
      // a value's slots are kept with it (its slot set for hinted groups, else the group's
      // form): after the first, a value costs a load or two here.
      const hinted = g < HINTED_GROUPS;
      const groupBit = bit(g);
      const words = rules.screen!.words;
      const idsAt = ids.dataStart;
      let known = table.slotSetGroupsOf();
      let nonZero = table.slotSetWordsOf();
      // The group's words, as slotSetWords marks them (w1 < 64 when the sets have at most 64 words).
      const groupWords: u64 = w1 >= 64 ? u64.MAX_VALUE : (u64.MAX_VALUE >> (<u64>(63 - w1))) & (u64.MAX_VALUE << (<u64>w0));
      // Hinted groups: only the entries entriesToVisit keeps (a tight pass; most are skipped).
      const visits = hinted ? entriesToVisit(ids, first, known, nonZero, groupBit, groupWords) : ids.length - first;
      for (let k = 0; k < visits; k++) {
        const i = hinted ? load<i32>(visitScratch.dataStart + (<usize>k << 2)) : first + k;
        const id = load<i32>(idsAt + (<usize>i << 2));
        let at: i32;
        let bits: Uint32Array;
        if (hinted) {
          // Inline when the value's set holds the group (one load); else computed (a call).
          if (id < known.length && (unchecked(known[id]) & groupBit) != 0) {
            at = id * words;
          } else {
            at = table.slotSetOf(id, groupBit, rules);
            known = table.slotSetGroupsOf();
            nonZero = table.slotSetWordsOf();
          }
          if ((unchecked(nonZero[id]) & groupWords) == 0) continue;
          bits = table.slotSetsOf();
        } else {
          const form = table.groupForm(g, id, rules);
          if (form == 1) continue;
          at = form - 2;
          bits = table.scanBitsOf();
        }
        for (let w = w0; w <= w1; w++) {
          let word = unchecked(bits[at + w]);
          // Only this group's slots.
          if (w == w0) word &= (<u32>0xffffffff) << (<u32>(start & 31));
          if (w == w1 && (end & 31) != 0) word &= ((<u32>1) << (<u32>(end & 31))) - 1;
          while (word != 0) {
            const b = <i32>ctz(word);
            word &= word - 1;
            const slot = (w << 5) + b - start;
            if (per.length == 0) per = this.slotArray(g, end - start);
            let list = unchecked(per![slot]);
            if (list === null) { list = new Array<i32>(); unchecked(per[slot] = list); }
            if (list.length == 0) append<i32[]>(this.filledSlots, list);
            append(list, i);
          }
        }
      }
      this.screened[g] = per;
      append(this.screenedGroups, g);
    }
    return per!;
  }

  /** An empty per-slot array of `slots` for group `g`: the spare one when there is one. */
  private slotArray(g: i32, slots: i32): Array<i32[] | null> {
    const spare = this.spareSlots;
    if (g < spare.length) {
      const per = unchecked(spare[g]);
      if (per !== null && per.length == slots) return per;
    }
    return new Array<i32[] | null>(slots);
  }

  /**
   * The values where one of rule `r`'s required literals occurs (the only ones it can match),
   * from one screen pass per value for every rule of the screen: the others visit no value at all
   * when none of their literals occurs.
   */
  literalSurvivorsFor(r: Rule, table: ValueTable, rules: RuleSet): i32[] {
    const g = r.screenId;
    const per = this.slotListsFor(g, table, rules);
    const slot = r.screenSlot - unchecked(rules.screenGroupStart[g]);
    if (slot >= per.length) return NO_VALUES;
    const got = unchecked(per[slot]);
    return got === null ? NO_VALUES : got;
  }

  /**
   * The values rule `r`'s group may match, screened once for the whole group: its other rules
   * then visit only those (none, for benign traffic) instead of every value.
   */
  survivorsFor(r: Rule, table: ValueTable, rules: RuleSet): i32[] {
    const g = r.prefilterId;
    if (this.survivors === NO_LISTS) this.survivors = new Array<i32[] | null>();
    while (this.survivors.length <= g) this.survivors.push(null);
    let s = unchecked(this.survivors[g]);
    if (s === null) {
      const prefix = this.prefix;
      // The entries below prefixLength are the prefix list's: so are their survivors.
      const out = prefix !== null ? prefix.survivorsFor(r, table, rules).slice(0) : new Array<i32>();
      const ids = this.ids;
      const chain = r.transformChain;
      for (let i = prefix !== null ? this.prefixLength : 0; i < ids.length; i++) {
        const id = unchecked(ids[i]);
        if (table.groupMayMatch(id, r, table.transformedOf(id, chain, rules))) out.push(i);
      }
      this.survivors[g] = s = out;
    }
    return s!;
  }
}

/** Lists shorter than this are screened value by value by the rule that collected them. */
const SURVIVORS_MIN = 64;
const MAX_MACRO_VALUE = 1024;
const NO_VALUES: i32[] = [];

/** Whether collection variable `v` reads its entries' names (the `_NAMES` variables). */
function readsNames(v: i32): bool {
  return v == Var.ARGS_NAMES || v == Var.ARGS_GET_NAMES || v == Var.ARGS_POST_NAMES || v == Var.REQUEST_HEADERS_NAMES ||
    v == Var.REQUEST_COOKIES_NAMES || v == Var.FILES_NAMES || v == Var.RESPONSE_HEADERS_NAMES || v == Var.MATCHED_VARS_NAMES;
}

/** ARGS and ARGS_NAMES read the body's arguments after the query's. */
function alsoBodyArgs(v: i32): bool {
  return v == Var.ARGS || v == Var.ARGS_NAMES;
}
/** Shared empty placeholders of CollectedTargets' per-group arrays (replaced, never written). */
const NO_LISTS: Array<i32[] | null> = [];
const NO_SLOT_LISTS: Array<Array<i32[] | null> | null> = [];

/**
 * Room for index `id` in a per-value array, with a half again for the next ones. Sized by the id
 * needed, not by how many values exist (derived values, the transformed forms, take ids too, and
 * most arrays are indexed by the values read from the request only).
 */
function capacityFor(id: i32): i32 {
  const n = id + 1;
  return max(64, n + (n >> 1));
}
/** `old`'s words in an array with room for `size` values of `words` words each. */
function grownWords(old: Uint32Array, size: i32, words: i32): Uint32Array {
  const bigger = new Uint32Array(size * words);
  bigger.set(old);
  return bigger;
}
/** The entries entriesToVisit keeps, by index (module scratch: filled and read by one pass at a time). */
let visitScratch = new Int32Array(256);

/**
 * The entries i >= first of a list (ids) a hinted group's pass must look at, into visitScratch;
 * returns their count: those whose value's slot set does not hold the group yet (`known`), or
 * may have a slot in the group's words (`nonZero`, `groupWords`). A loop of its own, with few
 * locals, so it runs at a few instructions per entry.
 */
function entriesToVisit(ids: i32[], first: i32, known: Uint64Array, nonZero: Uint64Array, groupBit: u64, groupWords: u64): i32 {
  const n = ids.length;
  if (visitScratch.length < n) visitScratch = new Int32Array(capacityFor(n));
  const out = visitScratch.dataStart, idsAt = ids.dataStart;
  // nonZero grows with known (ValueTable.slotSetOf): a value known to hold the group has its entry.
  const knownAt = known.dataStart, nonZeroAt = nonZero.dataStart, knownCount = known.length;
  let m = 0;
  for (let i = first; i < n; i++) {
    const id = load<i32>(idsAt + (<usize>i << 2));
    if (id < knownCount && (load<u64>(knownAt + (<usize>id << 3)) & groupBit) != 0 &&
        (load<u64>(nonZeroAt + (<usize>id << 3)) & groupWords) == 0) continue;
    store<i32>(out + (<usize>m << 2), i);
    m++;
  }
  return m;
}

/** Appends `src`'s elements to `dst` (in one block copy). */
function copyInts(dst: i32[], src: i32[]): void {
  const at = dst.length, n = src.length;
  if (n == 0) return;
  dst.length = at + n;
  memory.copy(dst.dataStart + (<usize>at << 2), src.dataStart, <usize>n << 2);
}


/** A screen pass over a list where no literal occurred: no rule of the screen has a value to visit. */
const NO_SLOTS: Array<i32[] | null> = [];
/** Shared empty ctl lists of Transaction (replaced, never written). */
const NO_CTLS: Ctl[] = [];
const NO_TAGS: string[] = [];
/** Scratch lists of Transaction (one set for the VM: a phase runs to completion before another starts). */
const countScratch = new TargetList();
const linkScratch = new TargetList();

export class Transaction {
  // tx, events, keptIds, targetCache and req's collections may be parts of a finished
  // transaction (the spare pools above, RequestData.release); every other field starts afresh.
  req: RequestData = new RequestData();
  tx: TxVars;
  mode: i32;
  requestBodyAccess: bool;
  events: MatchEvent[];
  interrupted: bool = false;
  interruptStatus: i32 = 0;
  interruptRuleId: i32 = 0;
  /** A deny seen in DetectionOnly mode (what would have happened). */
  wouldInterruptRuleId: i32 = 0;
  allowed: bool = false;
  matchedVar: string = "";
  matchedVarName: string = "";
  private matchedPairs: Pairs = new Pairs();
  /**
   * A match of one value (on a TX key, or a link's only match) leaves MATCHED_VARS as that one
   * (name, value): kept as the two strings and made a collection only if a rule reads
   * MATCHED_VARS (most such matches are the ruleset's paranoia-level and threshold checks, whose
   * MATCHED_VARS nothing reads).
   */
  private pendingName: string | null = null;
  private pendingValue: string = "";

  /** MATCHED_VARS: the (name, value) pairs the last matching rule link matched. */
  get matchedVars(): Pairs {
    const name = this.pendingName;
    if (name !== null) {
      const p = new Pairs();
      p.add(name, this.pendingValue);
      this.matchedPairs = p;
      this.pendingName = null;
    }
    return this.matchedPairs;
  }

  set matchedVars(p: Pairs) {
    this.matchedPairs = p;
    this.pendingName = null;
  }
  // Made by the first ctl that needs one (most transactions have none): shared empty ones till then.
  private removedIds: Ctl[] = NO_CTLS;
  private removedTags: string[] = NO_TAGS;
  private removedTargets: Ctl[] = NO_CTLS;
  private current: Rule | null = null;
  private collecting: Rule | null = null;
  private targetCache: Array<CollectedTargets | null>;
  /** The ids set in targetCache (what releaseLists walks: a GET keeps a few of its hundreds). */
  private keptIds: i32[];
  /** What the request data and the value table were when the kept target lists were collected. */
  private keptFingerprint: i32 = -1;
  private keptGeneration: i32 = -1;
  /** Bit v set when variable v may give an entry in this phase (presentVars). */
  private present: u64 = ~(<u64>0);
  /** The entries a count target (`&VAR`) counts: shared by transactions (read at once). */
  private countScratch: TargetList = countScratch;
  /** The list of a rule whose list is not kept (TX, MATCHED_VARS, ctl-altered ones): shared, as the value table. */
  private scratch: TargetList = linkScratch;
  /** While collecting a shared list: drop values already in it; rawCount counts every entry. */
  private dedupping: bool = false;
  private rawCount: i32 = 0;
  /** The values inspected in the current phase (one table for the VM: a phase runs to completion before another starts). */
  private table: ValueTable = sharedTable;
  private serial: i32 = ++transactionSerial;
  private requestLine: string | null = null;
  private requestLineVersion: i32 = -1;
  private released: bool = false;
  /** This request's shape (PhasePlan.shapeSerial, requestShape): 0 until a shape rule needs it. */
  private shape: i32 = 0;
  /** Whether the last rule runRule ran failed at its first link. */
  private headMissed: bool = false;

  constructor(public rules: RuleSet, public defaultStatus: i32) {
    this.mode = rules.engineMode;
    this.requestBodyAccess = rules.requestBodyAccess;
    this.tx = spareTxVars.length > 0 ? spareTxVars.pop() : new TxVars();
    this.events = spareEvents.length > 0 ? spareEvents.pop() : [];
    this.keptIds = spareKeptIds.length > 0 ? spareKeptIds.pop() : reserved<i32>(KEPT_LISTS_ROOM);
    // One slot per shared list, made at once (not grown by a push per id on every request); a
    // spare one holds only nulls (release) and fits this rule set when it has its length.
    const slots = rules.targetLists + 1;
    let cache: Array<CollectedTargets | null> | null = null;
    while (spareCaches.length > 0 && cache === null) {
      const c = spareCaches.pop();
      if (c.length == slots) cache = c;
    }
    this.targetCache = cache !== null ? cache : new Array<CollectedTargets | null>(slots);
  }

  /**
   * Ends the transaction (its last phase ran, or it will run none): its parts are emptied and
   * kept for the next transactions. Nothing may use it afterwards.
   */
  release(): void {
    // Parts handed out twice would be shared by two later transactions.
    if (this.released) return;
    this.released = true;
    // Every kept list back to the list pools: the target cache then holds only nulls.
    if (this.keptIds.length > 0) this.releaseLists();
    // Each collection's id arrays are kept before the collection is emptied.
    this.req.release(spareIdsOf);
    if (spareTxVars.length < SPARE_PARTS) { this.tx.clear(); spareTxVars.push(this.tx); }
    if (spareEvents.length < SPARE_PARTS) { emptied(this.events); spareEvents.push(this.events); }
    if (spareKeptIds.length < SPARE_PARTS) spareKeptIds.push(this.keptIds);
    if (spareCaches.length < SPARE_PARTS) spareCaches.push(this.targetCache);
  }

  /** The anomaly score the rules computed (TX:inbound_anomaly_score, else TX:anomaly_score). */
  anomalyScore(): i32 {
    let v = this.tx.getHashed("inbound_anomaly_score", INBOUND_SCORE_HASH);
    if (v === null) v = this.tx.getHashed("anomaly_score", SCORE_HASH);
    return v !== null ? <i32>parseIntOr(v, 0) : 0;
  }

  matchedRuleIds(): string {
    let s = "";
    for (let i = 0; i < this.events.length; i++) {
      if (!this.events[i].log) continue;
      if (s.length > 0) s += ",";
      s += this.events[i].ruleId.toString();
    }
    return s;
  }

  /** Runs the rules of `phase` (1..5); true when the transaction is now interrupted. */
  evaluatePhase(phase: i32): bool {
    if (this.mode == EngineMode.Off || this.allowed || this.interrupted) return this.interrupted;
    // Streams interleave in a VM: a phase runs to completion, so it owns the table meanwhile.
    this.table.beginPhase(this.rules);
    // Collections may have grown (the body is parsed before phase 2): collect afresh, unless
    // nothing changed since the last phase (a request without a body runs phases 1 and 2 back
    // to back) and the value ids of the kept lists still hold.
    const fingerprint = this.req.version;
    if (fingerprint != this.keptFingerprint || this.table.generation != this.keptGeneration) {
      this.releaseLists();
      this.keptFingerprint = fingerprint;
      this.keptGeneration = this.table.generation;
    }
    this.present = presentVars(this.req);
    const plan = planOf(this.rules);
    if (phase < plan.rules.length) {
      let k = 0;
      // Phase 1's set-up rules from an empty TX: their outcome is the same in every transaction.
      if (phase == 1 && plan.presetRules > 0 && this.tx.entries == 0) k = this.preset(plan);
      this.runRules(phase, plan, k, unchecked(plan.rules[phase]).length);
    }
    // The request side ends with phase 2 (phase 3 always collects afresh: the response changed
    // the data), the transaction with phase 5: their lists go back to the pool.
    if (phase == 2 || phase == 5) {
      this.releaseLists();
      // The shared scratch lists must not keep this request's collections reachable either.
      this.scratch.clear();
      this.countScratch.clear();
      this.table.endSide(this.rules);
    }
    return this.interrupted;
  }

  /**
   * Brings the transaction past phase 1's first `plan.presetRules` rules: copies their outcome,
   * or runs them (the first transaction) and keeps it. Returns the position to go on from.
   */
  private preset(plan: PhasePlan): i32 {
    const known = plan.preset;
    const n = plan.presetRules;
    if (known !== null) {
      this.tx.copyFrom(known.tx);
      this.matchedVar = known.matchedVar;
      this.matchedVarName = known.matchedVarName;
      this.pendingName = known.pendingName;
      this.pendingValue = known.pendingValue;
      return n;
    }
    const pairs = this.matchedPairs;
    this.runRules(1, plan, 0, n);
    // A link matching several values left a MATCHED_VARS collection: not kept (no set-up rule does).
    if (this.matchedPairs !== pairs) {
      plan.presetRules = 0;
      return n;
    }
    const tx = new TxVars();
    tx.copyFrom(this.tx);
    plan.preset = new TxPreset(tx, this.matchedVar, this.matchedVarName, this.pendingName, this.pendingValue);
    settleRules(plan, tx);
    return n;
  }

  /** Runs phase `phase`'s rules from position `from` until `upTo`, a skip past it, or an interruption. */
  private runRules(phase: i32, plan: PhasePlan, from: i32, upTo: i32): void {
    const rules = unchecked(plan.rules[phase]);
    const jumpTo = unchecked(plan.jumpTo[phase]);
    const gates = unchecked(plan.gates[phase]);
    const varLists = plan.varLists;
    const varsetKeyFilters = plan.varsetKeyFilters;
    const shaped = unchecked(plan.shapeRules[phase]), missAt = unchecked(plan.missAt[phase]);
    // A screen gate is literalMayOccur through the union of the slot sets of the rule's variables
    // (`varset`, PhasePlan.varsets), made once per request (makeVarsetUnion): most gated rules
    // read one of a few lists of variables, so after the first a gate is a bit test. Whether the
    // unions are this request's is checked once, and again after each rule that ran.
    const u = variableSlots;
    let fresh = u.transaction == this.serial && u.version == this.req.version;
    let k = from;
    while (k < upTo) {
      const at = k++;
      // The checks evalLink starts with, from the plan's dense gates, not the scattered Rule.
      const gate = unchecked(gates[at]);
      const vars = unchecked(varLists[<i32>(gate >> 48)]);
      if ((vars & this.present) == 0) continue;
      const screen = gate & 0xff;
      if (screen != 0 && screen != SETTLED_MATCH) {
        const g = <i32>screen - 1, varset = <i32>(gate >> 32) & 0xffff, slot = <i32>(gate >> 8) & 0xffffff;
        if (!fresh || (unchecked(u.varsetKnown[varset]) & bit(g)) == 0) {
          this.makeVarsetUnion(g, vars, varset);
          fresh = true;
        }
        if ((unchecked(u.varsetBits[varset * u.words + (slot >> 5)]) & ((<u32>1) << (<u32>(slot & 31)))) == 0) continue;
        const filter = unchecked(varsetKeyFilters[varset]);
        if (filter !== null && !this.slotInInspectedEntry(g, vars, slot, filter)) continue;
      }
      // (The Rule is read only to run it: a removal check with no removal, a shape rule known
      // not to match and a settled match need none of it.)
      if ((this.removedIds.length > 0 || this.removedTags.length > 0) && this.isRemoved(unchecked(rules[at]))) continue;
      // A rule of the request's shape alone, known not to match with this shape: not run again.
      let shape = 0;
      const shapeKind = unchecked(shaped[at]);
      if (shapeKind != 0 && this.removedTargets.length == 0) {
        shape = this.shape != 0 ? this.shape : this.requestShape(plan);
        if (unchecked(missAt[at]) == shape) {
          // A chain that failed after its first link matched left that match (shapeKindOf).
          const residue = unchecked(plan.missResidue[phase]);
          const name = unchecked(residue[2 * at]);
          if (name !== null) this.leaveMatch(name, unchecked(residue[2 * at + 1])!);
          continue;
        }
      }
      if (screen == SETTLED_MATCH && this.removedTargets.length == 0) {
        this.settledMatch(plan, phase, at);
      } else {
        const matched = this.runRule(unchecked(rules[at]), phase);
        // A ctl (even of a chain that then failed) may have changed the request data.
        fresh = u.transaction == this.serial && u.version == this.req.version;
        if (!matched) {
          // A first link that did not match leaves nothing behind (no setvar, no MATCHED_VAR); a
          // chain of shape links without actions that failed later leaves the last match alone.
          const headMissed = this.headMissed;
          if (shape != 0 && (headMissed || (shapeKind == SHAPE_CHAIN && this.pendingName !== null))) {
            unchecked(missAt[at] = shape);
            const residue = unchecked(plan.missResidue[phase]);
            unchecked(residue[2 * at] = headMissed ? null : this.pendingName);
            unchecked(residue[2 * at + 1] = headMissed ? null : this.pendingValue);
          }
          continue;
        }
      }
      if (this.interrupted || this.allowed || this.mode == EngineMode.Off) break;
      k = unchecked(jumpTo[at]);
    }
  }

  /**
   * This request's shape (PhasePlan.shapeRules): the serial of the last shape seen when the
   * values it is made of (the shape scalars, then each shape key's header values in order, as
   * value ids of this table generation) are the same, else a new serial. Headers and these
   * scalars do not change within a request.
   */
  private requestShape(plan: PhasePlan): i32 {
    const table = this.table;
    const out = shapeScratch;
    emptied(out);
    append(out, table.generation);
    const scalars = plan.shapeScalars, keys = plan.shapeKeys;
    for (let i = 0; i < scalars.length; i++) append(out, table.intern(this.scalar(unchecked(scalars[i]))));
    const headers = this.req.headers;
    const ids = headers.length > 0 ? table.idsOf(headers, false) : NO_VALUES;
    for (let k = 0; k < keys.length; k++) {
      const key = unchecked(keys[k]);
      // The key's value ids in order, then -1.
      for (let i = headers.length > 0 ? headers.firstNamed(key) : -1; i >= 0; i = headers.nextNamed(i, key)) append(out, unchecked(ids[i]));
      append(out, -1);
    }
    const last = plan.lastShape;
    let same = last.length == out.length;
    for (let i = 0, n = out.length; same && i < n; i++) same = unchecked(last[i]) == unchecked(out[i]);
    if (!same) {
      plan.shapeSerial++;
      // The new shape is kept; the old one's array is the next scratch.
      plan.lastShape = out;
      shapeScratch = last;
    }
    this.shape = plan.shapeSerial;
    return this.shape;
  }

  /** What a rule settled as matching (settleRules) leaves: its match, as evalTxKey would. */
  private settledMatch(plan: PhasePlan, phase: i32, at: i32): void {
    const m = unchecked(plan.settledMatches[phase])!;
    this.leaveMatch(unchecked(m[2 * at]), unchecked(m[2 * at + 1]));
  }

  /** What a link matching one value (`name`, `v`) leaves: MATCHED_VAR(_NAME), and MATCHED_VARS as that one pair. */
  private leaveMatch(name: string, v: string): void {
    this.matchedVar = v;
    this.matchedVarName = name;
    this.pendingName = name;
    this.pendingValue = v;
  }

  /** Drops the kept target lists, handing the small ones to the pool for the next collection. */
  private releaseLists(): void {
    const cache = this.targetCache, kept = this.keptIds;
    for (let k = 0, n = kept.length; k < n; k++) {
      const i = unchecked(kept[k]);
      const l = unchecked(cache[i])!;
      unchecked(cache[i] = null);
      const room = max(l.room, l.ids.length);
      if (room <= POOLED_LIST_MAX && listPool.length < LIST_POOL_MAX) {
        // Emptied now, not when reused: a pooled list must not keep this request's collections
        // (their names and values) reachable, or every later collection marks them again.
        l.reset();
        append(listPool, l);
      } else if (room > POOLED_LIST_MAX && bigPoolRoom + room <= BIG_POOL_ROOM) {
        l.reset();
        l.dropSpareSlots();
        l.room = room;
        bigPoolRoom += room;
        append(bigListPool, l);
      }
    }
    emptied(kept);
  }

  private isRemoved(r: Rule): bool {
    for (let i = 0; i < this.removedIds.length; i++) {
      const c = this.removedIds[i];
      if (r.id >= c.idFrom && r.id <= c.idTo) return true;
    }
    for (let i = 0; i < this.removedTags.length; i++) if (hasTag(r, this.removedTags[i])) return true;
    return false;
  }

  /** Runs a rule and its chain; true when the whole chain matched. */
  private runRule(head: Rule, phase: i32): bool {
    this.current = head;
    let link: Rule | null = head;
    while (link !== null) {
      if (!this.evalLink(head, link)) {
        this.headMissed = link === head;
        return false;
      }
      // As in ModSecurity, a link's non-disruptive actions run as soon as it matches, so a
      // later link can test what an earlier one set (e.g. setvar in the chain starter).
      const actions = link.actions;
      if ((actions & LINK_SETVARS) != 0) for (let i = 0; i < link.setvars.length; i++) if (!link.setvars[i].perMatch) this.setvar(link, i);
      if ((actions & LINK_CTLS) != 0) for (let i = 0; i < link.ctls.length; i++) this.applyCtl(link.ctls[i]);
      link = link.chained;
    }
    // Matched: the non-disruptive actions of every link, then the disruptive one of the head.
    const d = head.disruptive;
    let action = "pass";
    if (d == Disruptive.Deny) {
      action = "deny";
      if (phase <= 4) {
        if (this.mode == EngineMode.On) {
          this.interrupted = true;
          this.interruptStatus = head.status > 0 ? head.status : this.defaultStatus;
          this.interruptRuleId = head.id;
        } else if (this.wouldInterruptRuleId == 0) {
          this.wouldInterruptRuleId = head.id;
        }
      }
    } else if (d == Disruptive.Allow) {
      action = "allow";
      if (this.mode == EngineMode.On) this.allowed = true;
    }
    // Events feed the audit log, metrics and the matched-rules list, which all leave out
    // `nolog` rules: none is made for them (most matches are the set-up rules' bookkeeping).
    if (!head.log) return true;
    const ev = new MatchEvent();
    ev.ruleId = head.id;
    ev.phase = phase;
    ev.family = familyOf(head.id);
    ev.msg = this.expand(head.msg);
    ev.logdata = this.expand(head.logdata);
    ev.severity = head.severity;
    ev.tags = head.tags;
    ev.matchedVar = this.matchedVar;
    ev.matchedVarName = this.matchedVarName;
    ev.log = true;
    ev.action = action;
    this.events.push(ev);
    return true;
  }

  private evalLink(head: Rule, r: Rule): bool {
    const op = r.op;
    // None of its variables has an entry in this request: an empty list, no match. A SecAction
    // (no target) reads no variable either, and matches.
    if ((r.targetVars & this.present) == 0) return r.targetCount == 0;
    const txKey = r.txKeyTarget;
    if (txKey !== null && this.removedTargets.length == 0) return this.evalTxKey(r, txKey);
    // One request header whose value this link is known not to match (most headers repeat from
    // request to request): the answer without collecting a list.
    const headerKey = r.headerKey;
    if (changetype<usize>(headerKey) != 0 && r.verdictSlot >= 0 && this.removedTargets.length == 0 && this.knownMiss(r, headerKey!)) return false;
    // A screened link none of whose literals occurs in any value of its variables: no survivor in
    // any list of them, whatever its key selectors and exclusions; the list is not collected.
    if (screenGated(r) && !this.literalMayOccur(r.screenId, r.screenSlot, r.targetVars)) return false;
    // Rules with the same target list share what was collected in this phase.
    let tl: TargetList;
    let list: CollectedTargets | null = null;
    // Whether this rule screens the list's values one by one rather than through the survivors.
    let perValue = true;
    if (r.targetId > 0 && !r.fewTargets && this.removedTargets.length == 0) {
      const cache = this.targetCache;
      const kept = r.targetId < cache.length && unchecked(cache[r.targetId]) !== null;
      list = this.sharedList(r, r.targetId, r.targetCount);
      tl = list;
      // A small list just collected is screened value by value by the rule that collected it
      // (survivor lists cost allocations that pay off only when many rules read a large list),
      // also when it starts with a prefix list's entries (whose group survivors it would compute).
      perValue = !kept && list.length < SURVIVORS_MIN;
    } else {
      // A list used once (TX, MATCHED_VARS, ctl-altered ones), or one of a few entries, reuses
      // scratch arrays.
      tl = this.scratch;
      tl.clear();
      this.dedupping = false;
      this.rawCount = 0;
      this.collect(r, tl, 0, r.targetCount);
      if (r.fewTargets && this.rawCount > DEDUP_ABOVE && this.removedTargets.length == 0) {
        // As a shared list would be (sharedList): each value once.
        tl.clear();
        this.table.beginDedup();
        this.dedupping = true;
        this.rawCount = 0;
        this.collect(r, tl, 0, r.targetCount);
        this.dedupping = false;
      }
    }
    if (tl.length == 0) return false;
    const ids = tl.ids;
    const table = this.table;
    const param = r.paramConstant ? r.paramText : this.expand(r.op.param);
    let matches: Pairs | null = null;
    // The first match is kept as its two strings: a link matching one value (most) makes no
    // collection for MATCHED_VARS unless a rule reads it (see matchedVars).
    let firstName: string | null = null;
    let firstValue = "";
    const transforms = r.transforms;
    const chain = r.transformChain;
    const screened = r.prefilter !== null;
    const values = table.values;
    // Operators with a constant parameter give a verdict that depends on the value alone.
    const pure = r.paramConstant;
    if (pure && r.verdictSlot < 0) r.verdictSlot = this.rules.verdictSlots++;
    const slot = r.verdictSlot;
    const literal = r.screenId >= 0;
    const only: i32[] | null = perValue ? null
      : literal ? list!.literalSurvivorsFor(r, table, this.rules)
      : screened ? list!.survivorsFor(r, table, this.rules) : null;
    const count = only !== null ? only.length : ids.length;
    for (let k = 0; k < count; k++) {
      const i = only !== null ? unchecked(only[k]) : k;
      const id = unchecked(ids[i]);
      let v = unchecked(values[id]);
      let hit = false;
      if (r.multiMatch) {
        // The operator runs on the original value and after every transformation that changed
        // it (as ModSecurity's multiMatch; an unchanged value would give the same answer). With
        // a constant parameter the outcome depends on the value alone: kept per value.
        const known = pure ? table.verdict(slot, id) : <u8>0;
        if (known == 1) continue;
        // The screen first: none of the rule's literals in any form of the value.
        if (only === null && literal && !table.screenHit(r, id, this.rules)) continue;
        const masks = r.literalMasks;
        // No form of the value can hold a required literal (judged from its summary and the units
        // the list's steps can add, a superset for every prefix): no form is computed.
        if (masks !== null && !table.mayHoldLiteralAfter(id, chain, masks, this.rules)) {
          if (pure) table.noteVerdict(r, id, false);
          continue;
        }
        const prefixes = prefixChainsOf(r, this.rules);
        let last = -1;
        // A value the whole list leaves alone is left alone by each prefix (their triggers are
        // subsets): every later form is the first one, which the loop would skip.
        const forms = table.unchangedBy(id, chain) ? min(1, prefixes.length) : prefixes.length;
        for (let t = 0; !hit && t < forms; t++) {
          const cur = table.transformedId(id, unchecked(prefixes[t]), this.rules);
          if (cur == last) continue;
          last = cur;
          // A form that cannot hold any of the rule's required literals cannot match.
          if (masks !== null && !table.mayHoldLiteral(cur, masks)) continue;
          v = unchecked(table.values[cur]);
          const res = evalOperator(op, v, param, r.capture);
          hit = res.matched != op.negated;
          if (hit && r.capture) this.capture(res.captures);
        }
        if (pure) table.noteVerdict(r, id, hit);
      } else {
        // The screen first: a value it rejects is not transformed for this rule.
        if (only === null && literal && !table.screenHit(r, id, this.rules)) continue;
        // A detector's cues (non-negated only): a value no form of which can hold one is no match.
        const cues = r.literalMasks;
        if (cues !== null && !table.mayHoldLiteralAfter(id, chain, cues, this.rules)) {
          if (pure) table.setVerdict(slot, id, false);
          continue;
        }
        if (transforms.length > 0) v = table.transformedOf(id, chain, this.rules);
        if (only === null && screened && !table.groupMayMatch(id, r, v)) {
          if (literal) table.dropSlot(id, r.screenId, r.screenSlot);
          continue;
        }
        if (pure && !r.capture) {
          // The verdict depends on the value alone: run the operator once per value.
          let known = table.verdict(slot, id);
          if (known == 0) {
            known = evalOperator(op, v, param, false).matched ? 2 : 1;
            table.noteVerdict(r, id, known == 2);
          }
          hit = (known == 2) != op.negated;
        } else if (pure && table.verdict(slot, id) == 1) {
          // A capturing rule known not to match this value: nothing to capture, no need to run.
          hit = op.negated;
        } else {
          const res = evalOperator(op, v, param, r.capture);
          if (pure) table.noteVerdict(r, id, res.matched);
          hit = res.matched != op.negated;
          if (hit && r.capture) this.capture(res.captures);
        }
      }
      if (hit) {
        const name = tl.nameAt(i);
        if (changetype<usize>(firstName) == 0) { // by address: `=== null` on a string calls String.__eq
          firstName = name;
          firstValue = v;
        } else {
          if (matches === null) {
            matches = new Pairs();
            matches!.add(firstName!, firstValue);
          }
          matches!.add(name, v);
        }
        this.matchedVar = v;
        this.matchedVarName = name;
        // A setvar keyed by the match (tx.seen_%{MATCHED_VAR}) runs for every matched value.
        if ((r.actions & LINK_MATCH_SETVARS) != 0) for (let s = 0; s < r.setvars.length; s++) if (r.setvars[s].perMatch) this.setvar(r, s);
      }
    }
    if (changetype<usize>(firstName) == 0) return false;
    if (matches !== null) {
      this.matchedVars = matches!;
    } else {
      this.pendingName = firstName;
      this.pendingValue = firstValue;
    }
    return true;
  }

  /**
   * Whether one of a screened link's literals (screen group `g`, slot `slot`) may occur in some
   * entry of its variables `targetVars` (in the form its transformation list reads): the union
   * of the slot sets of each variable's distinct values (whatever a key selects: a superset),
   * computed once per variable while the request data stays as it is, for every group a link
   * reading that variable may ask about (PhasePlan.groupsByVar).
   */
  private literalMayOccur(g: i32, slot: i32, targetVars: u64): bool {
    if (g >= HINTED_GROUPS) return true;
    this.readyVariableSlots();
    const words = variableSlots.words;
    let vars = targetVars & this.present;
    const w = slot >> 5, b = (<u32>1) << (<u32>(slot & 31));
    while (vars != 0) {
      const v = <i32>ctz(vars);
      vars &= vars - 1;
      const at = this.slotsOfVariable(v, g, words);
      if ((unchecked(variableSlots.bits[at + w]) & b) != 0) return true;
    }
    return false;
  }

  /**
   * Where variable `v`'s slot bits are in variableSlots.bits, made on first need for group `g`
   * and every group a link reading the variable may ask about (PhasePlan.groupsByVar), in one
   * pass over its entries.
   */
  private slotsOfVariable(v: i32, g: i32, words: i32): i32 {
    const u = variableSlots;
    const at = v * words;
    if ((unchecked(u.known[v]) & bit(g)) == 0) {
      const groups = unchecked(planOf(this.rules).groupsByVar[v]) | bit(g);
      this.variableSlotsOf(v, groups, u.bits, at);
      unchecked(u.known[v] |= groups);
    }
    return at;
  }

  /** Starts variableSlots afresh for this transaction and version of its request data. */
  private readyVariableSlots(): void {
    const u = variableSlots;
    if (u.transaction == this.serial && u.version == this.req.version) return;
    const words = this.rules.screen!.words;
    u.transaction = this.serial;
    u.version = this.req.version;
    u.words = words;
    u.known.fill(0);
    u.sourceKnown.fill(0);
    if (u.bits.length < words << 6) u.bits = new Uint32Array(words << 6);
    if (u.sourceBits.length < words * SOURCES) u.sourceBits = new Uint32Array(words * SOURCES);
    const varsets = planOf(this.rules).varsets.length;
    if (u.varsetKnown.length < varsets) u.varsetKnown = new Uint64Array(varsets);
    else u.varsetKnown.fill(0);
    if (u.varsetBits.length < varsets * words) u.varsetBits = new Uint32Array(varsets * words);
  }

  /**
   * The union of the slot sets of variables `targetVars` (PhasePlan.varsets[varset]), after every
   * variable's slots for the groups asked about it (as literalMayOccur): valid for the groups
   * every variable has, `g` among them.
   */
  private makeVarsetUnion(g: i32, targetVars: u64, varset: i32): void {
    this.readyVariableSlots();
    const u = variableSlots;
    const words = u.words;
    const at = varset * words;
    const union = u.varsetBits;
    let known: u64 = ~(<u64>0);
    for (let w = 0; w < words; w++) unchecked(union[at + w] = 0);
    let vars = targetVars & this.present;
    while (vars != 0) {
      const v = <i32>ctz(vars);
      vars &= vars - 1;
      const from = this.slotsOfVariable(v, g, words);
      known &= unchecked(u.known[v]);
      const bits = u.bits;
      for (let w = 0; w < words; w++) unchecked(union[at + w] |= unchecked(bits[from + w]));
    }
    unchecked(u.varsetKnown[varset] = known);
  }

  /**
   * For a gate whose varset has a key filter (PhasePlan.varsetKeyFilters): whether slot `slot` of
   * group `g` is held by an entry of `targetVars` the rule inspects (the union counted every
   * entry). Asked only once the union holds the slot: a value only other keys hold (a Cookie
   * header full of `;` for a rule reading the User-Agent, an excluded Referer) does not run it.
   */
  private slotInInspectedEntry(g: i32, targetVars: u64, slot: i32, filter: StaticArray<Target>): bool {
    const u = variableSlots;
    const words = u.words;
    const w = slot >> 5, b = (<u32>1) << (<u32>(slot & 31));
    let vars = targetVars & this.present;
    while (vars != 0) {
      const v = <i32>ctz(vars);
      vars &= vars - 1;
      if (!filtersKeysOf(filter, v)) {
        if ((unchecked(u.bits[this.slotsOfVariable(v, g, words) + w]) & b) != 0) return true;
        continue;
      }
      const p = this.requestPairsOf(v);
      if (p === null) return true; // (a collection: gateKeyFilter names no scalar)
      const groups = unchecked(planOf(this.rules).groupsByVar[v]) | bit(g);
      const names = readsNames(v);
      const only = includesKeysOf(filter, v);
      if (this.entryHoldsSlot(p!, v, names, only, groups, w, b, filter)) return true;
      if (alsoBodyArgs(v) && this.entryHoldsSlot(this.req.argsPost, v, names, only, groups, w, b, filter)) return true;
    }
    return false;
  }

  /**
   * Whether an entry of `p` (its name or value) that key filter `filter` leaves for variable `v`
   * (one of its keys when `only`, and none it excludes) holds slot bit `b` of word `w`.
   */
  private entryHoldsSlot(p: Pairs, v: i32, names: bool, only: bool, groups: u64, w: i32, b: u32, filter: StaticArray<Target>): bool {
    if (p.length == 0) return false;
    const ids = this.table.idsOf(p, names);
    if (only) {
      // The keys read: their entries from the collection's name index.
      for (let k = 0, m = filter.length; k < m; k++) {
        const x = unchecked(filter[k]);
        if (x.variable != v || x.exclude) continue;
        for (let i = p.firstNamed(x.key); i >= 0; i = p.nextNamed(i, x.key)) {
          if (!keyExcluded(filter, v, x.key) && this.holdsSlot(unchecked(ids[i]), groups, w, b)) return true;
        }
      }
      return false;
    }
    const lower = p.lowerNames();
    for (let i = 0, n = p.length; i < n; i++) {
      if (!keyExcluded(filter, v, unchecked(lower[i])) && this.holdsSlot(unchecked(ids[i]), groups, w, b)) return true;
    }
    return false;
  }

  /** Whether value `id`'s slot set (made to hold `groups`) has slot bit `b` of word `w`. */
  @inline private holdsSlot(id: i32, groups: u64, w: i32, b: u32): bool {
    const table = this.table;
    const known = table.slotSetGroupsOf();
    // The value's set, when it holds the groups already (most: values repeat), without a call.
    const from = id < known.length && (unchecked(known[id]) & groups) == groups ? id * variableSlots.words : table.slotSetOf(id, groups, this.rules);
    return (unchecked(table.slotSetsOf()[from + w]) & b) != 0;
  }

  /**
   * The union of the slot sets (ValueTable.slotSetOf, groups `groups`) of every entry variable
   * `v` has, into `bits` from `at`: the slots one of whose literals occurs in some entry.
   */
  private variableSlotsOf(v: i32, groups: u64, bits: Uint32Array, at: i32): void {
    const words = this.rules.screen!.words;
    for (let w = 0; w < words; w++) unchecked(bits[at + w] = 0);
    const p = this.requestPairsOf(v);
    if (p === null) {
      // A scalar: its one value (a body only when there is one: `present`).
      const table = this.table;
      const from = table.slotSetOf(table.intern(this.scalar(v)), groups, this.rules);
      const sets = table.slotSetsOf();
      for (let w = 0; w < words; w++) unchecked(bits[at + w] |= unchecked(sets[from + w]));
      return;
    }
    const names = readsNames(v);
    this.orSourceSlots(p!, names, groups, bits, at);
    if (alsoBodyArgs(v)) this.orSourceSlots(this.req.argsPost, names, groups, bits, at);
  }

  /**
   * ORs into `bits` (from `at`) the union of the slot sets of the distinct names or values of
   * `p`, kept per source while the request data stays as it is (ARGS and ARGS_POST both read the
   * body's arguments: one pass over them).
   */
  private orSourceSlots(p: Pairs, names: bool, groups: u64, bits: Uint32Array, at: i32): void {
    if (p.length == 0) return;
    const u = variableSlots;
    const words = this.rules.screen!.words;
    const src = (this.sourceOf(p) << 1) + (names ? 1 : 0);
    const srcAt = src * words;
    const sourceBits = u.sourceBits;
    const known = unchecked(u.sourceKnown[src]);
    if ((groups & ~known) != 0) {
      // Those groups and the ones asked before (the union is remade whole).
      const all = groups | known;
      for (let w = 0; w < words; w++) unchecked(sourceBits[srcAt + w] = 0);
      const table = this.table, rules = this.rules;
      const ids = table.idsOf(p, names);
      const firsts = table.firstsOf(p, names);
      for (let k = 0, n = firsts.length; k < n; k++) {
        const from = table.slotSetOf(unchecked(ids[unchecked(firsts[k])]), all, rules);
        const sets = table.slotSetsOf();
        for (let w = 0; w < words; w++) unchecked(sourceBits[srcAt + w] |= unchecked(sets[from + w]));
      }
      unchecked(u.sourceKnown[src] = all);
    }
    for (let w = 0; w < words; w++) unchecked(bits[at + w] |= unchecked(sourceBits[srcAt + w]));
  }

  /**
   * The request's pairs that collection variable `v` reads (ARGS and ARGS_NAMES: the query's,
   * then the body's, see alsoBodyArgs); null for any other variable.
   */
  private requestPairsOf(v: i32): Pairs | null {
    const req = this.req;
    switch (v) {
      case Var.ARGS: case Var.ARGS_NAMES: case Var.ARGS_GET: case Var.ARGS_GET_NAMES: return req.argsGet;
      case Var.ARGS_POST: case Var.ARGS_POST_NAMES: return req.argsPost;
      case Var.REQUEST_HEADERS: case Var.REQUEST_HEADERS_NAMES: return req.headers;
      case Var.REQUEST_COOKIES: case Var.REQUEST_COOKIES_NAMES: return req.cookies;
      case Var.FILES: case Var.FILES_NAMES: return req.files;
      case Var.RESPONSE_HEADERS: case Var.RESPONSE_HEADERS_NAMES: return req.responseHeaders;
    }
    return null;
  }

  /** Which of the request's collections `p` is (orSourceSlots' cache index, SOURCES / 2 of them). */
  private sourceOf(p: Pairs): i32 {
    const req = this.req;
    if (p === req.argsGet) return 0;
    if (p === req.argsPost) return 1;
    if (p === req.headers) return 2;
    if (p === req.cookies) return 3;
    if (p === req.files) return 4;
    return 5;
  }

  /**
   * Shared list `targetId` of this phase: the values of targets [0, upTo) of `r` (a rule with
   * that list, or with a longer list starting with it), collected on first use. A list whose
   * targets start with another shared list's (RuleSet.targetPrefix) starts from that list's
   * entries (collected first if needed) and collects only the rest: the same entries in the same
   * order as collecting all its targets, since dropping duplicates keeps first occurrences.
   */
  private sharedList(r: Rule, targetId: i32, upTo: i32): CollectedTargets {
    while (this.targetCache.length <= targetId) this.targetCache.push(null);
    const cached = unchecked(this.targetCache[targetId]);
    if (cached !== null) return cached;
    const rules = this.rules;
    let prefix: CollectedTargets | null = null;
    let from = 0;
    const prefixId = targetId < rules.targetPrefix.length ? unchecked(rules.targetPrefix[targetId]) : 0;
    if (prefixId > 0) {
      const k = unchecked(rules.targetPrefixTargets[targetId]);
      const p = this.sharedList(r, prefixId, k);
      // Only a list that holds its targets' values without duplicates (see below) is a prefix.
      if (p.deduped) { prefix = p; from = k; }
    }
    // A pooled list (its arrays reused), else new arrays sized as the list was last time
    // (requests of one shape collect alike): no allocation, or no regrowth while collecting.
    while (listSizes.length <= targetId) listSizes.push(0);
    const hint = unchecked(listSizes[targetId]);
    let l: CollectedTargets;
    if (listPool.length > 0 && hint <= POOLED_LIST_MAX) {
      l = listPool.pop(); // emptied when released
    } else if (hint > POOLED_LIST_MAX && bigListPool.length > 0) {
      l = bigListPool.pop();
      bigPoolRoom -= l.room;
    } else {
      l = new CollectedTargets(hint);
    }
    // A value seen twice gives the same verdict twice: in a shared list of more than
    // DEDUP_ABOVE entries it is inspected once (the first variable holding it is the one reported).
    // Duplicates are dropped while collecting; a small list that lost some is collected again.
    this.table.beginDedup();
    this.dedupping = true;
    this.rawCount = 0;
    if (prefix !== null) {
      l.startFrom(prefix!, this.table);
      this.rawCount = prefix!.rawCount;
    }
    this.collect(r, l, from, upTo);
    this.dedupping = false;
    l.rawCount = this.rawCount;
    l.deduped = true;
    if (this.rawCount <= DEDUP_ABOVE && l.length < this.rawCount) {
      l.clear();
      l.dropPrefix();
      this.collect(r, l, 0, upTo);
      l.deduped = false;
    }
    if (l.length > l.room) l.room = l.length;
    this.targetCache[targetId] = l;
    append(this.keptIds, targetId);
    unchecked(listSizes[targetId] = l.length);
    return l;
  }

  /**
   * A link on one plain TX key (`TX:x`, `&TX:x`) with no transformation: most of the ruleset's
   * bookkeeping (paranoia-level and threshold checks). The same outcome as collecting a one-entry
   * list, without building one.
   */
  private evalTxKey(r: Rule, t: Target): bool {
    const op = r.op;
    const found = txKeyValue(this.tx, r);
    if (changetype<usize>(found) == 0) return false;
    const v = found!;
    const param = r.paramConstant ? r.paramText : this.expand(op.param);
    const res = evalOperator(op, v, param, r.capture);
    if (res.matched == op.negated) return false;
    if (r.capture) this.capture(res.captures);
    const name = t.qualifiedName();
    this.matchedVar = v;
    this.matchedVarName = name;
    if ((r.actions & LINK_MATCH_SETVARS) != 0) for (let s = 0; s < r.setvars.length; s++) if (r.setvars[s].perMatch) this.setvar(r, s);
    this.pendingName = name;
    this.pendingValue = v;
    return true;
  }

  /**
   * Whether link `r`, whose one target is request header `key`, has no entry or one entry whose
   * verdict is known to give no match (as evalLink's loop would find: a screen or a detector's cues
   * can only say no where the verdict says no). False: it must be evaluated.
   */
  private knownMiss(r: Rule, key: string): bool {
    const p = this.req.headers;
    const i = p.firstNamed(key);
    if (i < 0) return true;
    if (p.nextNamed(i, key) >= 0) return false;
    const known = this.table.verdict(r.verdictSlot, unchecked(this.table.idsOf(p, false)[i]));
    return known != 0 && (known == 2) == r.op.negated;
  }

  private capture(captures: string[] | null): void {
    if (captures === null) return;
    const caps = captures;
    for (let i = 0; i < MAX_CAPTURES; i++) {
      const key = unchecked(CAPTURE_KEYS[i]), h = unchecked(CAPTURE_HASHES[i]);
      if (i < caps.length) this.tx.setHashed(key, h, caps[i]);
      else this.tx.deleteHashed(key, h);
    }
  }

  /** The (name, value) pairs a rule inspects: its targets minus exclusions. */
  /** Appends an entry to the list being collected (unless it is a duplicate being dropped). */
  private add(out: TargetList, name: string, kind: i32, id: i32): void {
    this.rawCount++;
    if (this.dedupping && !this.table.firstSight(id)) return;
    out.addNamed(name, kind, id);
  }

  /** Appends entry `i` of collection `p` (unless it is a duplicate being dropped). */
  private addAt(out: TargetList, p: Pairs, kind: i32, i: i32, id: i32): void {
    this.rawCount++;
    if (this.dedupping && !this.table.firstSight(id)) return;
    out.beginRun(p, kind);
    out.push(i, id);
  }

  /** Appends the values of targets [from, upTo) of `r` (its exclusions apply). */
  private collect(r: Rule, out: TargetList, from: i32, upTo: i32): void {
    this.collecting = r;
    for (let t = from; t < upTo; t++) {
      const target = r.targets[t];
      if (target.exclude) continue;
      if (target.count) {
        // Counts are of every entry: no dedup inside. One scratch list for all counts (read at once).
        const n = this.countScratch;
        n.clear();
        const dedupping = this.dedupping, raw = this.rawCount;
        this.dedupping = false;
        this.expandTarget(target, n);
        this.dedupping = dedupping;
        this.rawCount = raw;
        this.add(out, target.key.length > 0 ? target.key : VAR_NAMES[target.variable], target.key.length > 0 ? target.variable : -1, this.table.intern(n.length.toString()));
        continue;
      }
      this.expandTarget(target, out);
    }
    this.collecting = null;
  }

  /** Whether an exclusion of the rule being collected (`!ARGS:x`, or a ctl) removes this key. */
  excluded(variable: i32, key: string, lowerKey: string): bool {
    const r = this.collecting;
    if (r === null) return false;
    if (r.hasExclusions) {
      for (let t = 0; t < r.targets.length; t++) {
        const x = unchecked(r.targets[t]);
        if (x.exclude && x.variable == variable && keySelectedLower(x, key, lowerKey)) return true;
      }
    }
    for (let c = 0; c < this.removedTargets.length; c++) {
      const ctl = this.removedTargets[c];
      const head = this.current!;
      const applies = ctl.kind == CtlKind.RuleRemoveTargetById ? head.id >= ctl.idFrom && head.id <= ctl.idTo : hasTag(head, ctl.tag);
      if (applies && ctl.target!.variable == variable && keySelectedLower(ctl.target!, key, lowerKey)) return true;
    }
    return false;
  }

  private addPairs(t: Target, p: Pairs, namesOnly: bool, out: TargetList): void {
    if (p.length == 0) return;
    const pids = this.table.idsOf(p, namesOnly);
    const kind = t.variable;
    const needLower = t.key.length > 0 && t.keyRegex === null;
    const r = this.collecting;
    const checkExclusions = r !== null && (this.removedTargets.length > 0 || (r.hasExclusions && excludesVariable(r, t.variable)));
    if (!needLower && t.keyRegex === null && !checkExclusions) {
      // The whole collection (the common case: ARGS, ARGS_NAMES, ...): a tight loop, no call per entry.
      const n = p.length;
      this.rawCount += n;
      out.beginRun(p, kind);
      const ids = out.ids, srcs = out.srcs;
      // Room for every entry made once (no capacity check per entry), then cut to what was kept.
      let at = ids.length;
      if (this.dedupping) {
        const seen = this.table.dedupMarks();
        const stamp = this.table.dedupStamp();
        // Only first occurrences can be kept: visit those alone.
        const firsts = this.table.firstsOf(p, namesOnly);
        const m = firsts.length;
        ids.length = at + m;
        srcs.length = at + m;
        // Written through the data pointers (an Array's indexed store is a call with a bounds check).
        const idsAt = ids.dataStart, srcsAt = srcs.dataStart;
        for (let k = 0; k < m; k++) {
          const i = unchecked(firsts[k]);
          const id = unchecked(pids[i]);
          if (unchecked(seen[id]) == stamp) continue;
          unchecked(seen[id] = stamp);
          store<i32>(idsAt + (<usize>at << 2), id);
          store<i32>(srcsAt + (<usize>at << 2), i);
          at++;
        }
        ids.length = at;
        srcs.length = at;
      } else {
        copyInts(ids, pids);
        srcs.length = at + n;
        const srcsAt = srcs.dataStart + (<usize>at << 2);
        for (let i = 0; i < n; i++) store<i32>(srcsAt + (<usize>i << 2), i);
      }
      return;
    }
    if (needLower && !checkExclusions) {
      // A plain key (`REQUEST_HEADERS:User-Agent`): its entries from the collection's name index.
      let i = p.firstNamed(t.key);
      while (i >= 0) {
        this.addAt(out, p, kind, i, unchecked(pids[i]));
        i = p.nextNamed(i, t.key);
      }
      return;
    }
    const lower = needLower || checkExclusions ? p.lowerNames() : p.names;
    // A plain key (`REQUEST_HEADERS:User-Agent`) selects only names of its length: most names
    // are passed over without a string comparison.
    const keyLength = needLower ? t.key.length : -1;
    // Whether an entry is taken depends on its name alone (within this call): a name repeated as
    // one string (a JSON array's names) is selected and checked against the exclusions (a key
    // regex each) once per run of RECENT_NAMES distinct names, not once per entry.
    const seen = recentNames, taken = recentTaken;
    for (let k = 0; k < RECENT_NAMES; k++) unchecked(seen[k] = 0);
    let next = 0;
    const names = p.names;
    for (let i = 0, n = p.length; i < n; i++) {
      if (keyLength >= 0 && unchecked(lower[i]).length != keyLength) continue;
      const key = unchecked(names[i]);
      const at = changetype<usize>(key);
      let known = -1;
      for (let k = 0; k < RECENT_NAMES; k++) {
        if (unchecked(seen[k]) == at) { known = unchecked(taken[k]) ? 1 : 0; break; }
      }
      if (known < 0) {
        const lowerKey = unchecked(lower[i]);
        const take = keySelectedLower(t, key, lowerKey) && !(checkExclusions && this.excluded(t.variable, key, lowerKey));
        unchecked(seen[next] = at);
        unchecked(taken[next] = take);
        next = (next + 1) & (RECENT_NAMES - 1);
        known = take ? 1 : 0;
      }
      if (known == 0) continue;
      this.addAt(out, p, kind, i, unchecked(pids[i]));
    }
  }

  private expandTarget(t: Target, out: TargetList): void {
    const req = this.req;
    const vname = VAR_NAMES[t.variable];
    const pairs = this.requestPairsOf(t.variable);
    if (pairs !== null) {
      const names = readsNames(t.variable);
      this.addPairs(t, pairs, names, out);
      if (alsoBodyArgs(t.variable)) this.addPairs(t, req.argsPost, names, out);
      return;
    }
    switch (t.variable) {
      case Var.MATCHED_VARS: this.addPairs(t, this.matchedVars, false, out); return;
      case Var.MATCHED_VARS_NAMES: this.addPairs(t, this.matchedVars, true, out); return;
      case Var.TX: {
        if (t.keyRegex === null && t.key.length > 0) {
          // A plain key: one lookup (TX keys are stored lowercase).
          const at = this.tx.find(t.key, t.keyHash);
          if (at >= 0 && !(this.collecting !== null && (this.collecting!.hasExclusions || this.removedTargets.length > 0) && this.excluded(Var.TX, t.key, t.key))) {
            this.add(out, t.key, Var.TX, this.table.intern(this.tx.valueAt(at)));
          }
          return;
        }
        // Every key in insertion order (adding to a list sets no TX variable).
        const tx = this.tx;
        for (let i = 0, n = tx.entries; i < n; i++) {
          if (!tx.isLive(i)) continue;
          const key = tx.keyAt(i);
          if (!keySelected(t, key)) continue;
          if ((this.collecting !== null && (this.collecting!.hasExclusions || this.removedTargets.length > 0)) && this.excluded(Var.TX, key, key)) continue;
          this.add(out, key, Var.TX, this.table.intern(tx.valueAt(i)));
        }
        return;
      }
    }
    // Scalars: always one value (REQUEST_BODY only when there is a body).
    if (t.variable == Var.REQUEST_BODY && req.bodyLength == 0 && req.body.length == 0) return;
    if (t.variable == Var.RESPONSE_BODY && req.responseBody.length == 0) return;
    if (t.variable == Var.MATCHED_VAR && this.matchedVarName.length == 0) return;
    this.add(out, vname, -1, this.table.intern(this.scalar(t.variable)));
  }

  scalar(v: i32): string {
    const req = this.req;
    switch (v) {
      case Var.ARGS_COMBINED_SIZE: {
        let n = 0;
        for (let i = 0; i < req.argsGet.length; i++) n += req.argsGet.names[i].length + req.argsGet.values[i].length;
        for (let i = 0; i < req.argsPost.length; i++) n += req.argsPost.names[i].length + req.argsPost.values[i].length;
        return n.toString();
      }
      case Var.REQUEST_URI: return req.uri;
      case Var.REQUEST_URI_RAW: return req.uri;
      case Var.REQUEST_FILENAME: return req.filename;
      case Var.REQUEST_BASENAME: return req.basename;
      case Var.REQUEST_LINE: {
        // Made once per version of the request data (several lists and the screen read it).
        if (this.requestLineVersion != req.version || this.requestLine === null) {
          this.requestLine = req.method + " " + req.uri + " " + req.protocol;
          this.requestLineVersion = req.version;
        }
        return this.requestLine!;
      }
      case Var.QUERY_STRING: return req.queryString;
      case Var.REQUEST_METHOD: return req.method;
      case Var.REQUEST_PROTOCOL: return req.protocol;
      case Var.REQUEST_BODY: return req.body;
      case Var.REQUEST_BODY_LENGTH: return req.bodyLength.toString();
      case Var.REMOTE_ADDR: return req.remoteAddr;
      case Var.MATCHED_VAR: return this.matchedVar;
      case Var.MATCHED_VAR_NAME: return this.matchedVarName;
      case Var.RESPONSE_STATUS: return req.responseStatus;
      case Var.RESPONSE_BODY: return req.responseBody;
      case Var.REQBODY_ERROR: return req.bodyError.length > 0 ? "1" : "0";
      case Var.REQBODY_PROCESSOR: return req.bodyProcessor;
    }
    return "";
  }

  private setvar(r: Rule, i: i32): void {
    const sv = r.setvars[i];
    const constKey = sv.constKey;
    // Null tests by address (`!== null` on a string calls String.__eq).
    const keyIsConst = changetype<usize>(constKey) != 0;
    const key = keyIsConst ? changetype<string>(constKey) : this.expand(sv.name).toLowerCase();
    const h = keyIsConst ? sv.constKeyHash : txHash(key);
    const tx = this.tx;
    if (sv.op == SetVarOp.Unset) { tx.deleteHashed(key, h); return; }
    const constValue = sv.constValue;
    const value = changetype<usize>(constValue) != 0 ? changetype<string>(constValue) : this.expand(sv.value);
    if (sv.op == SetVarOp.Set) { tx.setHashed(key, h, value); return; }
    const at = tx.find(key, h);
    const old = at >= 0 ? parseIntOr(tx.valueAt(at), 0) : 0;
    const delta = parseIntOr(value, 0);
    tx.setHashed(key, h, (sv.op == SetVarOp.Add ? old + delta : old - delta).toString());
  }

  private applyCtl(c: Ctl): void {
    switch (c.kind) {
      case CtlKind.RuleEngine: this.mode = c.mode; break;
      case CtlKind.RuleRemoveById:
        if (this.removedIds === NO_CTLS) this.removedIds = [];
        this.removedIds.push(c);
        break;
      case CtlKind.RuleRemoveByTag:
        if (this.removedTags === NO_TAGS) this.removedTags = [];
        this.removedTags.push(c.tag);
        break;
      case CtlKind.RuleRemoveTargetById:
      case CtlKind.RuleRemoveTargetByTag:
        if (this.removedTargets === NO_CTLS) this.removedTargets = [];
        this.removedTargets.push(c);
        break;
      case CtlKind.RequestBodyAccess: this.requestBodyAccess = c.mode == 1; break;
      case CtlKind.RequestBodyProcessor: this.req.bodyProcessor = c.tag; this.req.touch(); break;
    }
  }

  /** Expands `%{...}` references (each value capped, so a macro cannot blow up memory). */
  expand(m: Macro): string {
    const parts = m.parts;
    if (parts.length == 1) return parts[0];
    let refs = m.txRefs;
    if (refs === null) m.txRefs = refs = txRefsOf(m);
    let out = "";
    for (let i = 0, n = parts.length; i < n; i++) {
      let v: string;
      if (!Macro.isRef(i)) {
        v = unchecked(parts[i]);
      } else {
        const ref = unchecked(refs[i]);
        v = ref !== null ? txRefValue(ref, this.tx) : macroValue(this.resolve(unchecked(parts[i])));
      }
      // Empty parts add nothing (a reference alone is its value, no copy).
      if (v.length == 0) continue;
      out = out.length == 0 ? v : out + v;
    }
    return out;
  }

  private resolve(ref: string): string {
    const colon = ref.indexOf(":");
    if (colon < 0) {
      for (let v = 0; v < VAR_NAMES.length; v++) if (VAR_NAMES[v] == ref) return this.scalar(v);
      return "";
    }
    const head = ref.substring(0, colon);
    const key = ref.substring(colon + 1);
    if (head == "TX") { const v = this.tx.get(key); return v !== null ? v : ""; }
    if (head == "RULE") {
      const r = this.current;
      if (r === null) return "";
      if (key == "id") return r.id.toString();
      if (key == "severity") return r.severity;
      if (key == "msg") return this.expandNoRule(r.msg);
      if (key == "logdata") return this.expandNoRule(r.logdata);
      return "";
    }
    const t = new Target();
    for (let v = 0; v < VAR_NAMES.length; v++) if (VAR_NAMES[v] == head) t.variable = v;
    t.key = key;
    const out = new TargetList();
    this.expandTarget(t, out);
    return out.length > 0 ? this.table.values[out.ids[0]] : "";
  }

  /** Expansion without rule.* references (msg and logdata may not refer to themselves). */
  private expandNoRule(m: Macro): string {
    let out = "";
    for (let i = 0; i < m.parts.length; i++) {
      if (!Macro.isRef(i)) out += m.parts[i];
      else if (m.parts[i] != "RULE:msg" && m.parts[i] != "RULE:logdata") out += this.resolve(m.parts[i]);
    }
    return out;
  }
}

/**
 * The value TX-key link `r` (Rule.txKey) reads from `tx`: its count ("1" or "0") or its value;
 * null when it reads a value that is not set (an empty list).
 */
function txKeyValue(tx: TxVars, r: Rule): string | null {
  const at = tx.find(r.txKey, r.txKeyHash);
  if (r.txKeyCount) return at >= 0 ? "1" : "0";
  return at >= 0 ? tx.valueAt(at) : null;
}

/** Macro `m`'s `TX:key` references by part (see Macro.txRefs): resolved as Transaction.resolve does. */
function txRefsOf(m: Macro): StaticArray<TxRef | null> {
  const parts = m.parts;
  const out = new StaticArray<TxRef | null>(parts.length);
  for (let i = 1; i < parts.length; i += 2) {
    const ref = parts[i];
    const colon = ref.indexOf(":");
    if (colon < 0 || ref.substring(0, colon) != "TX") continue;
    const key = ref.substring(colon + 1);
    out[i] = new TxRef(key, txHash(key));
  }
  return out;
}

/** The transformation list ids of every prefix of the rule's list, the empty one first (kept on the rule). */
function prefixChainsOf(r: Rule, rules: RuleSet): i32[] {
  let p = r.prefixChains;
  if (p === null) {
    const out = new Array<i32>(r.transforms.length + 1);
    let c = r.transformChain;
    for (let i = r.transforms.length; i >= 0; i--) {
      unchecked(out[i] = c);
      c = c == 0 ? 0 : unchecked(rules.chainParent[c]);
    }
    r.prefixChains = p = out;
  }
  return p!;
}

/** Whether a target's key selector (`:name` or `:/regex/`) selects `key`; no selector selects all. */
function keySelected(t: Target, key: string): bool {
  if (t.keyRegex !== null) return t.keyRegex!.test(key);
  if (t.key.length == 0) return true;
  return t.key == key.toLowerCase();
}

function keySelectedLower(t: Target, key: string, lowerKey: string): bool {
  if (t.keyRegex !== null) return t.keyRegex!.test(key);
  if (t.key.length == 0) return true;
  return t.key == lowerKey;
}

/** Whether the rule has an exclusion (`!VAR...`) on `variable`. */
function excludesVariable(r: Rule, variable: i32): bool {
  for (let t = 0; t < r.targets.length; t++) {
    const x = unchecked(r.targets[t]);
    if (x.exclude && x.variable == variable) return true;
  }
  return false;
}

/**
 * The rule set's per-phase plan (made once, kept on the set): each phase's rules in order and
 * where a matched rule's skipAfter continues. The same walk as going over every rule and marker:
 * a skipAfter passes over everything up to the first later marker of its name (or to the end when
 * there is none), whatever the phase of the rules between, and rules of other phases never run.
 * Also fills each link's fixed facts (constant parameter, direct TX key, constant setvar parts).
 */
export function planOf(set: RuleSet): PhasePlan {
  const known = set.plan;
  if (known !== null && known.madeFor === set.rules) return known;
  const plan = new PhasePlan();
  const rules = set.rules;
  plan.madeFor = rules;
  for (let p = 0; p <= 5; p++) { plan.rules.push(new Array<Rule>()); plan.skipTo.push(new Array<i32>()); }
  // By global index: the rule's position in its phase's list (for markers: the count of their phase's rules before them is not needed).
  const position = new Array<i32>(rules.length).fill(-1);
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.marker.length > 0) continue;
    let link: Rule | null = r;
    while (link !== null) {
      prepareLink(link);
      if (screenGated(link) && link.screenId < HINTED_GROUPS) {
        let vars = link.targetVars;
        while (vars != 0) {
          unchecked(plan.groupsByVar[<i32>ctz(vars)] |= bit(link.screenId));
          vars &= vars - 1;
        }
      }
      link = link.chained;
    }
    if (r.phase < 0 || r.phase > 5) continue;
    position[i] = plan.rules[r.phase].length;
    plan.rules[r.phase].push(r);
    plan.skipTo[r.phase].push(-1);
  }
  for (let i = 0; i < rules.length; i++) {
    const r = rules[i];
    if (r.marker.length > 0 || r.skipAfter.length == 0 || r.phase < 0 || r.phase > 5) continue;
    const list = plan.rules[r.phase];
    // The first rule of the phase after the first later marker of that name; the end when none.
    let to = list.length;
    for (let m = i + 1; m < rules.length; m++) {
      if (rules[m].marker != r.skipAfter) continue;
      to = list.length;
      for (let j = m + 1; j < rules.length; j++) if (position[j] >= 0 && rules[j].phase == r.phase) { to = position[j]; break; }
      break;
    }
    plan.skipTo[r.phase][position[i]] = to;
  }
  for (let p = 0; p <= 5; p++) {
    const list = plan.rules[p], skips = plan.skipTo[p];
    const jumps = new StaticArray<i32>(list.length);
    // `skip:N` passes over the next N rules of the phase (after a skipAfter's marker, if both).
    for (let k = 0; k < list.length; k++) jumps[k] = (skips[k] >= 0 ? skips[k] : k + 1) + max(list[k].skip, 0);
    plan.jumpTo.push(jumps);
  }
  const varLists: u64[] = [~(<u64>0), 0];
  for (let p = 0; p <= 5; p++) {
    const list = plan.rules[p];
    const gates = new StaticArray<u64>(list.length);
    for (let k = 0; k < list.length; k++) {
      const r = list[k];
      const vars = r.targets.length == 0 ? ~(<u64>0) : r.targetVars;
      // 16 bits name a variable set: past 65,535 distinct ones (no real rule set comes near),
      // index 0 (every variable) stands for the rest, which passes the rule to evalLink's checks.
      // Index 1 (no variable) is what settleRules gives a rule that cannot match.
      let vl = varLists.indexOf(vars);
      if (vl < 0 && varLists.length < 0x10000) { vl = varLists.length; varLists.push(vars); }
      gates[k] = <u64>max(vl, 0) << 48;
      if (!screenGated(r) || r.screenId >= HINTED_GROUPS) continue;
      const filter = gateKeyFilter(r);
      let vs = -1;
      for (let i = 0; i < plan.varsets.length && vs < 0; i++) {
        if (plan.varsets[i] == r.targetVars && sameKeyFilter(plan.varsetKeyFilters[i], filter)) vs = i;
      }
      if (vs < 0) {
        if (plan.varsets.length >= 0x10000) continue; // no gate: evalLink screens the rule itself
        vs = plan.varsets.length;
        plan.varsets.push(r.targetVars);
        plan.varsetKeyFilters.push(filter);
      }
      gates[k] |= (<u64>vs << 32) | (<u64>r.screenSlot << 8) | <u64>(r.screenId + 1);
    }
    plan.gates.push(gates);
  }
  plan.varLists = StaticArray.fromArray(varLists);
  for (let p = 0; p <= 5; p++) {
    const list = plan.rules[p];
    const shaped = new StaticArray<u8>(list.length);
    for (let k = 0; k < list.length; k++) shaped[k] = shapeKindOf(list[k], plan);
    plan.shapeRules.push(shaped);
    plan.missAt.push(new Int32Array(list.length));
    plan.missResidue.push(new StaticArray<string | null>(2 * list.length));
  }
  const first = plan.rules[1], firstSkips = plan.skipTo[1];
  let preset = 0;
  while (preset < first.length && firstSkips[preset] < 0 && requestIndependent(first[preset])) preset++;
  plan.presetRules = preset;
  if (preset > 0) findSettleable(plan);
  set.plan = plan;
  return plan;
}

/**
 * Fills plan.settleable: the rules after the set-up ones whose first link tests one TX key (no
 * transformation, constant parameter, no capture) that no other rule writes, so that its value is
 * the set-up rules' in every transaction.
 */
function findSettleable(plan: PhasePlan): void {
  // The keys the rules after the set-up ones write: constant keys, and the literal start of keys
  // built from a macro ("" when the key starts with one: it may be any key).
  const written = new Set<string>();
  const prefixes: string[] = [];
  let captures = false;
  for (let p = 1; p <= 5; p++) {
    const list = plan.rules[p];
    for (let k = p == 1 ? plan.presetRules : 0; k < list.length; k++) {
      let link: Rule | null = list[k];
      while (link !== null) {
        const l = link!;
        if (l.capture) captures = true;
        for (let i = 0; i < l.setvars.length; i++) {
          const sv = unchecked(l.setvars[i]);
          const key = sv.constKey;
          if (key !== null) written.add(key!);
          else prefixes.push(sv.name.parts[0]);
        }
        link = l.chained;
      }
    }
  }
  for (let p = 1; p <= 5; p++) {
    const list = plan.rules[p];
    for (let k = p == 1 ? plan.presetRules : 0; k < list.length; k++) {
      const r = list[k];
      // Parameters made of TX keys only the set-up rules write.
      let link: Rule | null = r;
      while (link !== null) {
        const l = link!;
        const parts = l.op.param.parts;
        let settled = !l.paramConstant && onlyTxRefs(l.op.param);
        for (let i = 1; i < parts.length && settled; i += 2) settled = !txKeyWritten(parts[i].substring(3).toLowerCase(), written, prefixes, captures);
        if (settled) plan.settleableParams.push(l);
        link = l.chained;
      }
      if (r.txKeyTarget === null || !r.paramConstant || r.capture) continue;
      if (!txKeyWritten(r.txKey, written, prefixes, captures)) plan.settleable.push((p << 24) | k);
    }
  }
}

/** Whether TX key `key` may be written by the rules that wrote `written` (constant keys) and `prefixes` (the literal starts of keys built from a macro), or by a capture. */
function txKeyWritten(key: string, written: Set<string>, prefixes: string[], captures: bool): bool {
  if (written.has(key) || (captures && key.length == 1 && isDigit(key.charCodeAt(0)))) return true;
  for (let i = 0; i < prefixes.length; i++) if (key.startsWith(prefixes[i])) return true;
  return false;
}

/**
 * Link `r`'s targets that limit which entries of a collection it inspects by one key: the keys
 * it reads (`REQUEST_HEADERS:User-Agent`) of a collection it does not read whole, and the keys it
 * excludes (`!REQUEST_HEADERS:Referer`); null when there are none. Its screen gate counts only
 * the entries these leave (selectors by key regex are left out of it: a superset).
 */
function gateKeyFilter(r: Rule): StaticArray<Target> | null {
  const out = new Array<Target>();
  for (let t = 0; t < r.targets.length; t++) {
    const x = r.targets[t];
    if (!isCollection(x.variable) || x.count || x.keyRegex !== null || x.key.length == 0) continue;
    if (!x.exclude && readsWhole(r, x.variable)) continue;
    out.push(x);
  }
  return out.length > 0 ? StaticArray.fromArray(out) : null;
}

/** Whether link `r` reads every entry of collection `v` (a target without a key, or with a key regex). */
function readsWhole(r: Rule, v: i32): bool {
  for (let t = 0; t < r.targets.length; t++) {
    const x = r.targets[t];
    if (x.variable == v && !x.exclude && (x.key.length == 0 || x.keyRegex !== null)) return true;
  }
  return false;
}

/** Whether two key filters (gateKeyFilter) are the same targets' kinds, variables and keys, in order. */
function sameKeyFilter(a: StaticArray<Target> | null, b: StaticArray<Target> | null): bool {
  if (a === null || b === null) return a === b;
  if (a.length != b.length) return false;
  for (let i = 0; i < a.length; i++) {
    if (a[i].variable != b[i].variable || a[i].exclude != b[i].exclude || a[i].key != b[i].key) return false;
  }
  return true;
}

/** Whether key filter `f` (gateKeyFilter) names a key of variable `v`. */
function filtersKeysOf(f: StaticArray<Target>, v: i32): bool {
  for (let i = 0; i < f.length; i++) if (unchecked(f[i]).variable == v) return true;
  return false;
}

/** Whether key filter `f` excludes key `lowerKey` of variable `v`. */
function keyExcluded(f: StaticArray<Target>, v: i32, lowerKey: string): bool {
  for (let i = 0, n = f.length; i < n; i++) {
    const x = unchecked(f[i]);
    // (the length first: most names differ in it, and == on strings is a call)
    if (x.exclude && x.variable == v && x.key.length == lowerKey.length && x.key == lowerKey) return true;
  }
  return false;
}

/** Whether key filter `f` includes keys of variable `v` (the link reads only those). */
function includesKeysOf(f: StaticArray<Target>, v: i32): bool {
  for (let i = 0; i < f.length; i++) if (unchecked(f[i]).variable == v && !unchecked(f[i]).exclude) return true;
  return false;
}

/**
 * Whether the outcome of link `r` depends on the request's shape alone (PhasePlan.shapeRules): it
 * reads only REQUEST_METHOD, REQUEST_PROTOCOL, REQUEST_FILENAME, REQUEST_BASENAME and headers by
 * a plain key (their values or count), excludes nothing and has a constant parameter (or one
 * settled on the set-up TX).
 */
function shapeLink(r: Rule): bool {
  if (r.targets.length == 0 || !r.paramConstant) return false;
  for (let t = 0; t < r.targets.length; t++) {
    const x = r.targets[t];
    if (x.exclude) return false;
    if (x.variable == Var.REQUEST_HEADERS) {
      if (x.keyRegex !== null || x.key.length == 0) return false;
    } else if (!isShapeScalar(x.variable) || x.count || x.key.length > 0) {
      return false;
    }
  }
  return true;
}

/** Adds what shape link `r` (shapeLink) reads to the plan's shape (PhasePlan.shapeKeys, shapeScalars). */
function addToShape(r: Rule, plan: PhasePlan): void {
  for (let t = 0; t < r.targets.length; t++) {
    const x = r.targets[t];
    if (x.variable == Var.REQUEST_HEADERS) {
      if (!plan.shapeKeys.includes(x.key)) plan.shapeKeys.push(x.key);
    } else if (!plan.shapeScalars.includes(x.variable)) {
      plan.shapeScalars.push(x.variable);
    }
  }
}

/** PhasePlan.shapeRules: a rule whose first link is a shape link (shapeLink). */
const SHAPE_HEAD: u8 = 1;
/** PhasePlan.shapeRules: ... and so is every link of its chain, none but the last with an action that runs on a match (setvar, ctl, capture). */
const SHAPE_CHAIN: u8 = 2;

/**
 * What rule `r` is to the request's shape (PhasePlan.shapeRules): 0, SHAPE_HEAD (a first link
 * that did not match with a shape does not match again with it: nothing else runs), or
 * SHAPE_CHAIN (a chain that failed with a shape fails again with it, leaving the same last
 * match). Adds the links whose outcome the engine keeps to the plan's shape.
 */
function shapeKindOf(r: Rule, plan: PhasePlan): u8 {
  if (!shapeLink(r)) return 0;
  addToShape(r, plan);
  let link: Rule | null = r;
  while (link !== null) {
    const l = link!;
    if (l.chained !== null && (l.setvars.length > 0 || l.ctls.length > 0 || l.capture)) return SHAPE_HEAD;
    if (!shapeLink(l)) return SHAPE_HEAD;
    link = l.chained;
  }
  for (link = r.chained; link !== null; link = link!.chained) addToShape(link!, plan);
  return SHAPE_CHAIN;
}

/** The scalar variables a request's shape may hold (shapeLink): fixed for the whole request. */
function isShapeScalar(v: i32): bool {
  return v == Var.REQUEST_METHOD || v == Var.REQUEST_PROTOCOL || v == Var.REQUEST_FILENAME || v == Var.REQUEST_BASENAME;
}

/** requestShape's working array (one for the VM: a shape is made at once). */
let shapeScratch = reserved<i32>(64);

/** The index of the empty variable list in PhasePlan.varLists (planOf puts it there). */
const NO_VARIABLES_LIST = 1;

/** A gate's screen byte for a rule settled as matching in every transaction (screens use 1..HINTED_GROUPS). */
const SETTLED_MATCH: u64 = 0xff;

/**
 * Settles plan.settleable's rules on the set-up rules' TX (`tx`): the ones whose first link
 * cannot match get a gate no request passes (their variable list is the empty one); the ones
 * that match and do nothing but that and skip (no log, setvar, ctl, chain, deny or allow) get
 * SETTLED_MATCH, their match kept in plan.settledMatches.
 */
function settleRules(plan: PhasePlan, tx: TxVars): void {
  // Parameters first: a settled one makes its link's verdicts per value, and may make its rule
  // one of the request's shape.
  for (let i = 0; i < plan.settleableParams.length; i++) {
    const l = plan.settleableParams[i];
    l.paramText = expandOnTx(l.op.param, tx);
    l.paramConstant = true;
    noteHeaderKey(l);
  }
  if (plan.settleableParams.length > 0) {
    for (let p = 0; p <= 5; p++) {
      const list = plan.rules[p], shaped = plan.shapeRules[p];
      for (let k = 0; k < list.length; k++) if (shaped[k] != SHAPE_CHAIN) shaped[k] = shapeKindOf(list[k], plan);
    }
  }
  for (let p = 0; p <= 5; p++) plan.settledMatches.push(null);
  for (let i = 0; i < plan.settleable.length; i++) {
    const p = plan.settleable[i] >>> 24, k = plan.settleable[i] & 0xffffff;
    const r = plan.rules[p][k];
    const gates = plan.gates[p];
    const v = txKeyValue(tx, r);
    const matched = changetype<usize>(v) != 0 && evalOperator(r.op, v!, r.paramText, false).matched != r.op.negated;
    if (!matched) {
      gates[k] = <u64>NO_VARIABLES_LIST << 48;
    } else if (!r.log && r.chained === null && r.setvars.length == 0 && r.ctls.length == 0 &&
               r.disruptive != Disruptive.Deny && r.disruptive != Disruptive.Allow) {
      gates[k] = (gates[k] & ~(<u64>0xffffffffffff)) | SETTLED_MATCH;
      let m = plan.settledMatches[p];
      if (m === null) plan.settledMatches[p] = m = new StaticArray<string>(plan.rules[p].length * 2);
      m![2 * k] = r.txKeyTarget!.qualifiedName();
      m![2 * k + 1] = v!;
    }
  }
}

/**
 * Whether rule `r` (with its chain) gives the same outcome in every transaction that reaches it
 * with the same TX: it reads only TX (or nothing), expands only TX references, and leaves nothing
 * but TX and the last match (no log, capture, ctl, skip, deny or allow).
 */
function requestIndependent(r: Rule): bool {
  if (r.log || r.skip != 0 || r.disruptive == Disruptive.Deny || r.disruptive == Disruptive.Allow) return false;
  let link: Rule | null = r;
  while (link !== null) {
    const l = link!;
    if (l.capture || l.ctls.length > 0 || !onlyTxRefs(l.op.param)) return false;
    for (let t = 0; t < l.targets.length; t++) if (unchecked(l.targets[t]).variable != Var.TX) return false;
    for (let i = 0; i < l.setvars.length; i++) {
      const sv = unchecked(l.setvars[i]);
      if (!onlyTxRefs(sv.name) || !onlyTxRefs(sv.value)) return false;
    }
    link = l.chained;
  }
  return true;
}

/** Macro `m` (only TX references: onlyTxRefs) expanded over `tx`, as Transaction.expand would. */
function expandOnTx(m: Macro, tx: TxVars): string {
  const parts = m.parts;
  const refs = txRefsOf(m);
  let out = "";
  for (let i = 0; i < parts.length; i++) out += Macro.isRef(i) ? txRefValue(refs[i]!, tx) : parts[i];
  return out;
}

/** What TX reference `ref` expands to over `tx` ("" when unset). */
function txRefValue(ref: TxRef, tx: TxVars): string {
  const found = tx.getHashed(ref.key, ref.hash);
  return found !== null ? macroValue(found!) : "";
}

/** A reference's value as a macro takes it: its first MAX_MACRO_VALUE units. */
@inline function macroValue(v: string): string {
  return v.length > MAX_MACRO_VALUE ? v.substring(0, MAX_MACRO_VALUE) : v;
}

/** Whether every reference of macro `m` is a `TX:key` one. */
function onlyTxRefs(m: Macro): bool {
  const parts = m.parts;
  for (let i = 1; i < parts.length; i += 2) if (!unchecked(parts[i]).startsWith("TX:")) return false;
  return true;
}

/**
 * Whether evalLink may answer "no match" for link `r` when none of its screen literals occurs in
 * its variables (literalMayOccur): a screened link that is not multiMatch and reads no variable
 * whose entries change while a phase runs.
 */
@inline function screenGated(r: Rule): bool {
  return r.screenId >= 0 && (r.targetVars & CHANGING_VARS) == 0;
}

/** Rule.headerKey for link `r`: its one target when that is a request header by a plain key and its parameter is constant. */
function noteHeaderKey(r: Rule): void {
  if (r.targets.length == 1 && !r.multiMatch && r.paramConstant) {
    const t = r.targets[0];
    if (t.variable == Var.REQUEST_HEADERS && t.keyRegex === null && t.key.length > 0 && !t.exclude && !t.count) r.headerKey = t.key;
  }
}

function prepareLink(r: Rule): void {
  r.paramConstant = r.op.param.constant();
  r.paramText = r.paramConstant ? r.op.param.constantText() : "";
  r.txKeyTarget = null;
  r.headerKey = null;
  if (r.targets.length == 1 && r.transforms.length == 0 && !r.multiMatch) {
    const t = r.targets[0];
    if (t.variable == Var.TX && t.keyRegex === null && t.key.length > 0 && !t.exclude) r.txKeyTarget = t;
  }
  noteHeaderKey(r);
  let vars: u64 = 0;
  for (let t = 0; t < r.targets.length; t++) {
    const x = r.targets[t];
    if (x.variable == Var.TX && x.key.length > 0) {
      x.key = sameTxKey(x.key);
      x.keyHash = txHash(x.key);
    }
    if (x.exclude) continue;
    if (x.count || x.variable < 0 || x.variable >= 64) { vars = ~(<u64>0); break; }
    vars |= (<u64>1) << (<u64>x.variable);
  }
  r.targetVars = vars;
  r.targetCount = r.targets.length;
  // Scalars, counts and single keyed entries (`REQUEST_HEADERS:Host`) give a list of a few
  // entries: collected again by each rule (from the collections' name indexes) rather than kept
  // as a shared list, whose own arrays are more memory to touch than the entries.
  let few = true;
  for (let t = 0; t < r.targets.length; t++) {
    const x = r.targets[t];
    if (!x.exclude && !x.count && isCollection(x.variable) && (x.key.length == 0 || x.keyRegex !== null)) { few = false; break; }
  }
  r.fewTargets = few;
  const txKey = r.txKeyTarget;
  if (txKey !== null) {
    r.txKey = txKey.key;
    r.txKeyHash = txKey.keyHash;
    r.txKeyCount = txKey.count;
  }
  let actions: u8 = r.ctls.length > 0 ? LINK_CTLS : 0;
  for (let i = 0; i < r.setvars.length; i++) {
    const sv = r.setvars[i];
    actions |= sv.perMatch ? LINK_MATCH_SETVARS : LINK_SETVARS;
    const constKey = sv.name.constant() ? sv.name.constantText().toLowerCase() : null;
    // One string per distinct key: lookups by a rule's key find the setvar's string by identity.
    sv.constKey = constKey !== null ? sameTxKey(constKey) : null;
    sv.constKeyHash = constKey !== null ? txHash(constKey) : 0;
    sv.constValue = sv.value.constant() ? sv.value.constantText() : null;
  }
  r.actions = actions;
}

/** The one string kept for each constant TX key of the loaded rule sets (made at load only). */
const txKeyStrings = new Map<string, string>();
function sameTxKey(key: string): string {
  if (txKeyStrings.has(key)) return txKeyStrings.get(key);
  txKeyStrings.set(key, key);
  return key;
}

/**
 * The variables that may give an entry for this request data, one bit each: a collection with
 * entries, REQUEST_BODY / RESPONSE_BODY when there is one, every other scalar, and the ones that
 * change while a phase runs (TX, MATCHED_*), always. The same tests as expandTarget's.
 */
function presentVars(req: RequestData): u64 {
  let m: u64 = ~(<u64>0);
  const args = req.argsGet.length + req.argsPost.length > 0;
  if (!args) m &= ~(bit(Var.ARGS) | bit(Var.ARGS_NAMES));
  if (req.argsGet.length == 0) m &= ~(bit(Var.ARGS_GET) | bit(Var.ARGS_GET_NAMES));
  if (req.argsPost.length == 0) m &= ~(bit(Var.ARGS_POST) | bit(Var.ARGS_POST_NAMES));
  if (req.headers.length == 0) m &= ~(bit(Var.REQUEST_HEADERS) | bit(Var.REQUEST_HEADERS_NAMES));
  if (req.cookies.length == 0) m &= ~(bit(Var.REQUEST_COOKIES) | bit(Var.REQUEST_COOKIES_NAMES));
  if (req.files.length == 0) m &= ~(bit(Var.FILES) | bit(Var.FILES_NAMES));
  if (req.responseHeaders.length == 0) m &= ~(bit(Var.RESPONSE_HEADERS) | bit(Var.RESPONSE_HEADERS_NAMES));
  if (req.bodyLength == 0 && req.body.length == 0) m &= ~bit(Var.REQUEST_BODY);
  if (req.responseBody.length == 0) m &= ~bit(Var.RESPONSE_BODY);
  return m;
}

@inline function bit(v: i32): u64 {
  return (<u64>1) << (<u64>v);
}

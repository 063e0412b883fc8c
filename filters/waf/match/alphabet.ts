// The input alphabet of a dense automaton over UTF-16 code units (the @pm phrase matcher and the
// literal screens): each code unit a pattern uses gets a class of its own, every other unit is
// class 0, so a transition table needs one column per class rather than per code unit. Units
// below 128 are looked up in a table (ASCII letters folded to lowercase when case-insensitive),
// higher ones by binary search among the few the patterns use. The literal screen also folds the
// tab, vertical tab and form feed to the space (a space in its literals stands for any of them).

export class CodeUnitClasses {
  /** Code unit (< 128, folded) -> class; class 0: in no pattern. */
  readonly ascii: Uint8Array = new Uint8Array(128);
  /** Code units >= 128 the patterns use, sorted, and their classes. */
  private highUnits: Int32Array = new Int32Array(0);
  private highClasses: Int32Array = new Int32Array(0);
  /** Classes, class 0 included: the width of a transition table. */
  count: i32 = 1;

  constructor(patterns: string[], readonly caseInsensitive: bool, readonly foldSpaces: bool = false) {
    const high = new Set<i32>();
    for (let p = 0; p < patterns.length; p++) {
      const s = patterns[p];
      for (let i = 0; i < s.length; i++) {
        const c = this.fold(s.charCodeAt(i));
        if (c < 128) {
          if (this.ascii[c] == 0) { this.ascii[c] = <u8>this.count; this.count++; }
        } else high.add(c);
      }
    }
    const hv = high.values();
    hv.sort((a: i32, b: i32): i32 => a - b);
    this.highUnits = new Int32Array(hv.length);
    this.highClasses = new Int32Array(hv.length);
    for (let i = 0; i < hv.length; i++) { this.highUnits[i] = hv[i]; this.highClasses[i] = this.count; this.count++; }
    // Scans read the table without folding spaces: those units get the space's class.
    if (foldSpaces) { const space = this.ascii[0x20]; this.ascii[0x09] = space; this.ascii[0x0b] = space; this.ascii[0x0c] = space; }
  }

  @inline fold(c: i32): i32 {
    if (this.caseInsensitive && c >= 0x41 && c <= 0x5a) return c + 32;
    return this.foldSpaces && (c == 0x09 || c == 0x0b || c == 0x0c) ? 0x20 : c;
  }

  /** The class of code unit c. */
  classOf(c: i32): i32 {
    if (c < 128) return <i32>unchecked(this.ascii[this.fold(c)]);
    const units = this.highUnits;
    let lo = 0, hi = units.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const u = unchecked(units[mid]);
      if (u < c) lo = mid + 1;
      else if (u > c) hi = mid - 1;
      else return unchecked(this.highClasses[mid]);
    }
    return 0;
  }
}

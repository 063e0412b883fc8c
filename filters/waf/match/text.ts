// Small string helpers for the matchers: ASCII-only case folding without the Unicode tables of
// String#toLowerCase (the detectors only compare against ASCII words), in one allocation.

/** s with A-Z folded to a-z; other code units unchanged. */
export function asciiLower(s: string): string {
  const n = s.length;
  const src = changetype<usize>(s);
  let i = 0;
  // Most values are already lower case: return the same string when nothing changes.
  while (i < n) {
    const c = load<u16>(src + (<usize>i << 1));
    if (c >= 0x41 && c <= 0x5a) break;
    i++;
  }
  if (i == n) return s;
  const out = changetype<string>(__new(<usize>n << 1, idof<string>()));
  const dst = changetype<usize>(out);
  memory.copy(dst, src, <usize>i << 1);
  for (; i < n; i++) {
    let c = load<u16>(src + (<usize>i << 1));
    if (c >= 0x41 && c <= 0x5a) c += 32;
    store<u16>(dst + (<usize>i << 1), c);
  }
  return out;
}

/**
 * Index of needle in hay at or after from, or -1. A tight scan for the first code unit, then a
 * compare (String#indexOf calls a memory compare at every position, which dominates on long text).
 */
export function find(hay: string, needle: string, from: i32 = 0): i32 {
  const n = hay.length, m = needle.length;
  if (m == 0) return from <= n ? max(from, 0) : -1;
  if (from < 0) from = 0;
  const h = changetype<usize>(hay), nd = changetype<usize>(needle);
  const first = load<u16>(nd);
  const last = n - m;
  for (let i = from; i <= last; i++) {
    if (load<u16>(h + (<usize>i << 1)) != first) continue;
    let k = 1;
    while (k < m && load<u16>(h + (<usize>(i + k) << 1)) == load<u16>(nd + (<usize>k << 1))) k++;
    if (k == m) return i;
  }
  return -1;
}

/** Whether hay contains needle. */
@inline
export function contains(hay: string, needle: string): bool {
  return find(hay, needle, 0) >= 0;
}

// Operator evaluation on one (transformed) value. Pure: the caller expands macros in the
// parameter and records captures.
import { Op, Operator } from "./seclang/model";
import { detectSQLi } from "./match/sqli";
import { detectXSS } from "./match/xss";
import { parseIp } from "@meshward/sdk/assembly";
import { hexValue, parseIntOr } from "./bytes";

/** The result of one operator run; `captures[0]` is the matched text when the operator has one. */
export class OpResult {
  matched: bool = false;
  captures: string[] | null = null;
}

const result = new OpResult();

/** `param` as an integer, parsed again only when it is another string than last time (a constant one: once). */
function intParamOf(op: Operator, param: string): i64 {
  if (changetype<usize>(op.intParamText) != changetype<usize>(param)) {
    op.intParam = parseIntOr(param, 0);
    op.intParamText = param;
  }
  return op.intParam;
}

/** Evaluates `op` (without its negation) on `value`; `param` is the expanded parameter. The result object is reused: read it before the next call. */
export function evalOperator(op: Operator, value: string, param: string, wantCaptures: bool): OpResult {
  const r = result;
  r.matched = false;
  r.captures = null;
  switch (op.kind) {
    case Op.Rx: {
      const re = op.regex!;
      if (wantCaptures) {
        const m = re.exec(value);
        if (m !== null) { r.matched = true; r.captures = m; }
      } else r.matched = re.test(value);
      break;
    }
    case Op.Pm: {
      if (wantCaptures) {
        const f = op.phrases!.findFirst(value);
        if (f !== null) { r.matched = true; r.captures = [f]; }
      } else r.matched = op.phrases!.matches(value);
      break;
    }
    case Op.Contains: r.matched = value.indexOf(param) >= 0; if (r.matched) r.captures = [param]; break;
    case Op.ContainsWord: r.matched = containsWord(value, param); if (r.matched) r.captures = [param]; break;
    case Op.BeginsWith: r.matched = value.startsWith(param); if (r.matched) r.captures = [param]; break;
    case Op.EndsWith: r.matched = value.endsWith(param); if (r.matched) r.captures = [param]; break;
    case Op.Streq: r.matched = value == param; if (r.matched) r.captures = [param]; break;
    case Op.Eq: r.matched = parseIntOr(value, 0) == intParamOf(op, param); break;
    case Op.Ge: r.matched = parseIntOr(value, 0) >= intParamOf(op, param); break;
    case Op.Gt: r.matched = parseIntOr(value, 0) > intParamOf(op, param); break;
    case Op.Le: r.matched = parseIntOr(value, 0) <= intParamOf(op, param); break;
    case Op.Lt: r.matched = parseIntOr(value, 0) < intParamOf(op, param); break;
    case Op.Within: r.matched = value.length > 0 && param.indexOf(value) >= 0; if (r.matched) r.captures = [value]; break;
    case Op.IpMatch: {
      const ip = parseIp(value.trim());
      r.matched = ip !== null && op.cidrs!.contains(ip);
      break;
    }
    case Op.DetectSQLi: {
      const fp = detectSQLi(value);
      if (fp !== null) { r.matched = true; r.captures = [fp]; }
      break;
    }
    case Op.DetectXSS: r.matched = detectXSS(value); break;
    case Op.ValidateByteRange: {
      // (allowed has 256 entries, and c is a byte: no bounds checks, no call per unit)
      const allowed = changetype<usize>(op.allowedBytes!);
      const p = changetype<usize>(value);
      for (let i = 0, n = value.length; i < n; i++) {
        const c = <i32>load<u16>(p + (<usize>i << 1)) & 0xff;
        if (!load<bool>(allowed + <usize>c)) { r.matched = true; r.captures = [String.fromCharCode(c)]; break; }
      }
      break;
    }
    case Op.ValidateUrlEncoding: r.matched = !validUrlEncoding(value); break;
    case Op.ValidateUtf8Encoding: r.matched = !validUtf8(value); break;
    case Op.UnconditionalMatch: r.matched = true; break;
    case Op.NoMatch: r.matched = false; break;
  }
  return r;
}

function isWordChar(c: i32): bool {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c == 0x5f;
}

/** `param` found with no word character on either side. */
export function containsWord(value: string, word: string): bool {
  if (word.length == 0) return true;
  let from = 0;
  while (true) {
    const at = value.indexOf(word, from);
    if (at < 0) return false;
    const before = at == 0 ? -1 : value.charCodeAt(at - 1);
    const afterPos = at + word.length;
    const after = afterPos >= value.length ? -1 : value.charCodeAt(afterPos);
    if ((before < 0 || !isWordChar(before)) && (after < 0 || !isWordChar(after))) return true;
    from = at + 1;
  }
}

/** Every `%` starts two hex digits. */
export function validUrlEncoding(s: string): bool {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) != 0x25) continue;
    if (i + 2 >= s.length) return false;
    if (hexValue(s.charCodeAt(i + 1)) < 0 || hexValue(s.charCodeAt(i + 2)) < 0) return false;
    i += 2;
  }
  return true;
}

/** Strict UTF-8 over a byte string: no overlong forms, no surrogates, nothing above U+10FFFF. */
export function validUtf8(s: string): bool {
  const n = s.length;
  let i = 0;
  while (i < n) {
    const c = s.charCodeAt(i) & 0xff;
    if (c < 0x80) { i++; continue; }
    let len = 0, min = 0, cp = 0;
    if (c >= 0xc2 && c <= 0xdf) { len = 2; min = 0x80; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { len = 3; min = 0x800; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { len = 4; min = 0x10000; cp = c & 0x07; }
    else return false;
    if (i + len > n) return false;
    for (let k = 1; k < len; k++) {
      const d = s.charCodeAt(i + k) & 0xff;
      if ((d & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (d & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return false;
    i += len;
  }
  return true;
}

// SecLang text → directives (a name and its arguments), as Apache's config reader splits them:
// `#` comment lines, a trailing backslash continues the line, arguments are separated by
// whitespace and may be quoted with " or ' (a backslash escapes the quote; other backslashes
// stay, so regexes keep `\d`).

export class Directive {
  constructor(public line: i32, public name: string, public args: string[]) {}
}

export class LexResult {
  directives: Directive[] = [];
  error: string = "";
}

export function lexSecLang(text: string): LexResult {
  const result = new LexResult();
  const lines = text.split("\n");
  let i = 0;
  while (i < lines.length) {
    const startLine = i + 1;
    let logical = stripCr(lines[i]);
    i++;
    // Continuations: a line ending in a backslash joins the next one.
    while (endsWithContinuation(logical) && i < lines.length) {
      logical = logical.substring(0, logical.length - 1) + stripCr(lines[i]);
      i++;
    }
    if (endsWithContinuation(logical)) logical = logical.substring(0, logical.length - 1);
    const trimmed = logical.trim();
    if (trimmed.length == 0 || trimmed.startsWith("#")) continue;
    const words = splitWords(trimmed);
    if (words === null) {
      result.error = "line " + startLine.toString() + ": unterminated quoted argument";
      return result;
    }
    const name = words.shift();
    result.directives.push(new Directive(startLine, name, words));
  }
  return result;
}

function stripCr(s: string): string {
  return s.endsWith("\r") ? s.substring(0, s.length - 1) : s;
}

function endsWithContinuation(s: string): bool {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) == 0x20 || s.charCodeAt(end - 1) == 0x09)) end--;
  return end > 0 && s.charCodeAt(end - 1) == 0x5c && end == s.length;
}

/** Splits on whitespace outside quotes; null when a quote is not closed. */
export function splitWords(s: string): string[] | null {
  const words = new Array<string>();
  let i = 0;
  const n = s.length;
  while (i < n) {
    while (i < n && (s.charCodeAt(i) == 0x20 || s.charCodeAt(i) == 0x09)) i++;
    if (i >= n) break;
    const q = s.charCodeAt(i);
    if (q == 0x22 || q == 0x27) {
      i++;
      let word = "";
      let closed = false;
      let start = i;
      while (i < n) {
        const c = s.charCodeAt(i);
        if (c == 0x5c && i + 1 < n && s.charCodeAt(i + 1) == q) {
          word += s.substring(start, i) + String.fromCharCode(q);
          i += 2;
          start = i;
          continue;
        }
        if (c == q) { closed = true; break; }
        i++;
      }
      if (!closed) return null;
      word += s.substring(start, i);
      i++;
      words.push(word);
    } else {
      const start = i;
      while (i < n && s.charCodeAt(i) != 0x20 && s.charCodeAt(i) != 0x09) i++;
      words.push(s.substring(start, i));
    }
  }
  return words;
}

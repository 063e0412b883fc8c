// SQL injection detection for @detectSQLi, in the spirit of libinjection (written for this
// project: its own tokenizer, token classes and rules; no fingerprint table).
//
// The input is tokenized as SQL three times: as it stands (a value pasted into a numeric or
// bare context), and as if it followed an opening single or double quote (a value pasted into a
// string literal: the attacker's quote closes the string and what follows runs as SQL). Each
// token sequence is then checked against shapes that real injections need and ordinary text
// does not have: a broken-out string followed by boolean logic and a comparison, UNION SELECT,
// a stacked statement, a comment that cuts off the rest of the query, SQL-only functions
// (sleep, benchmark, load_file, ...) called with arguments, full statements (SELECT ... FROM,
// INSERT INTO, DROP TABLE, ...).
//
// detectSQLi returns a short reason with the token fingerprint ("tautology s&1o1") or null.
// Token letters: s string, 1 number, v null/true/false, b bare word, k keyword, E statement
// keyword, U union, & and/or/xor/&&/||, o operator, f SQL function, @ variable, c comment,
// ; ( ) , and x for other punctuation.

import { asciiLower, contains, find } from "./text";
import { PhraseMatcher } from "./aho-corasick";

const T_STRING: i32 = 0x73; // s
const T_NUMBER: i32 = 0x31; // 1
const T_VALUE: i32 = 0x76; // v
const T_BARE: i32 = 0x62; // b
const T_KEYWORD: i32 = 0x6b; // k
const T_STATEMENT: i32 = 0x45; // E
const T_UNION: i32 = 0x55; // U
const T_LOGIC: i32 = 0x26; // &
const T_OP: i32 = 0x6f; // o
const T_FUNC: i32 = 0x66; // f
const T_VAR: i32 = 0x40; // @
const T_COMMENT: i32 = 0x63; // c
const T_SEMI: i32 = 0x3b; // ;
const T_OPEN: i32 = 0x28; // (
const T_CLOSE: i32 = 0x29; // )
const T_COMMA: i32 = 0x2c; // ,
const T_OTHER: i32 = 0x78; // x

/** Tokens examined per context (injections show themselves early; this bounds the work). */
const MAX_TOKENS: i32 = 64;

// Word classes, built once.
const WORDS = new Map<string, i32>();
/** SQL functions an attacker calls for timing, file access or error-based extraction. */
const DANGEROUS = new Set<string>();

function addWords(list: string, type: i32): void {
  const parts = list.split(" ");
  for (let i = 0; i < parts.length; i++) if (parts[i].length > 0) WORDS.set(parts[i], type);
}

const STATEMENT_WORDS = "select insert update delete drop create alter truncate exec execute declare shutdown waitfor grant revoke merge rename handler prepare deallocate";

/**
 * What every value detectSQLi flags holds (case-insensitively), each needed by one of its
 * checks: a quote (the quote contexts run only then), "(" (functions, subqueries), ";" (stacked
 * queries), "@" (system variables), "&" or "|" (&&, ||), or one of the words the remaining
 * checks start from: UNION, AND/OR/XOR (tautologies and other logic after a break-out), a
 * statement keyword, ORDER/GROUP BY, HAVING, PROCEDURE, INTO and FROM. Words are tokens made of
 * contiguous letters of the input, so each occurs as a substring. A value holding none of these
 * (most words, numbers, identifiers) is clean without tokenizing.
 */
let sqliCues: PhraseMatcher | null = null;

/** The cues (see sqliCues), one of which every value detectSQLi flags holds. */
export function sqliCueList(): string[] {
  return ("' \" ( ; @ & | union and or xor order group having procedure into from " + STATEMENT_WORDS).split(" ");
}

function cues(): PhraseMatcher {
  let m = sqliCues;
  if (m === null) {
    m = new PhraseMatcher(sqliCueList(), true);
    sqliCues = m;
  }
  return m!;
}

/** Whether input holds one of the cues (a necessary condition for detectSQLi). */
export function mayBeSQLi(input: string): bool {
  return cues().matches(input);
}

function initWords(): void {
  if (WORDS.size > 0) return;
  addWords(STATEMENT_WORDS, T_STATEMENT);
  addWords("union", T_UNION);
  addWords("and or xor", T_LOGIC);
  addWords("like rlike regexp glob is in between sounds div mod escape collate ilike similar notnull isnull not match against", T_OP);
  addWords("null true false", T_VALUE);
  addWords(
    "from where into table database databases schema values set limit offset order group by having as on join inner outer cross natural distinct all any some case when then else end procedure analyse top asc desc exists delay outfile dumpfile varchar nvarchar int integer bigint char returns return function tables columns column index view trigger begin commit rollback procedure user_name",
    T_KEYWORD,
  );
  const dangerous =
    "sleep benchmark pg_sleep load_file extractvalue updatexml xp_cmdshell xp_dirtree xp_regread sp_executesql sp_oacreate sp_password sys_eval sys_exec utl_inaddr utl_http dbms_pipe receive_message dbms_lock get_host_address name_const randomblob sqlite_compileoption_used sqlite_compileoption_get xmltype dbms_xmlgen exp_extract pg_read_file pg_ls_dir lo_import copy_from";
  const dp = dangerous.split(" ");
  for (let i = 0; i < dp.length; i++) DANGEROUS.add(dp[i]);
}

/** SQL functions: a bare word is one when followed by "(" and in this list (or DANGEROUS). */
const FUNCS = new Set<string>();

function initFuncs(): void {
  if (FUNCS.size > 0) return;
  const list =
    "concat concat_ws group_concat char chr ascii ord substring substr mid hex unhex md5 sha1 sha2 version user current_user system_user session_user database schema schema_name db_name count cast convert floor ceil ceiling rand if ifnull isnull nullif coalesce length len char_length lower upper lcase ucase elt make_set row_count found_rows last_insert_id uuid now sysdate instr locate position replace reverse left right trim ltrim rtrim lpad rpad space repeat exp pow power sin cos abs round min max sum avg string_agg array_agg to_char to_number unistr starts_with jsonb_pretty json_build_object json_extract json_search json_array json_valid json json_keys likelihood likely unlikely unicode char_length bit_length compress uncompress encode decode aes_encrypt aes_decrypt des_encrypt des_decrypt from_base64 to_base64 conv cot crc32 sqlite_version current_database pg_database_size quote_ident quote_literal has_database_privilege find_in_set field strcmp soundex difference stuff datalength object_id object_name is_srvrolemember serverproperty host_name suser_name waitfor iif choose";
  const parts = list.split(" ");
  for (let i = 0; i < parts.length; i++) FUNCS.add(parts[i]);
}

class Token {
  constructor(public type: i32, public text: string) {}
}

@inline
function isSpace(c: i32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0xa0;
}

@inline
function isDigit(c: i32): bool {
  return c >= 0x30 && c <= 0x39;
}

@inline
function isWordStart(c: i32): bool {
  return (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c == 0x5f || c == 0x24 || c >= 0x80;
}

@inline
function isWordPart(c: i32): bool {
  return isWordStart(c) || isDigit(c) || c == 0x2e /* a.b: qualified names */;
}

/** Tokenizes input as SQL; quote > 0: as if the text followed that opening quote. */
function tokenize(input: string, quote: i32): Array<Token> {
  const out = new Array<Token>();
  const n = input.length;
  let i = 0;
  if (quote > 0) {
    // The attacker's quote is the first one (ANSI SQL: a backslash does not escape it; "\'"
    // payloads target exactly the applications where it does not).
    const end = find(input, String.fromCharCode(quote));
    if (end < 0) return out; // the quote never closes: nothing runs as SQL
    out.push(new Token(T_STRING, input.substring(0, end)));
    i = end + 1;
  }
  while (i < n && out.length < MAX_TOKENS) {
    const c = input.charCodeAt(i);
    if (isSpace(c)) {
      i++;
      continue;
    }
    // Comments.
    if (c == 0x2f && i + 1 < n && input.charCodeAt(i + 1) == 0x2a) {
      // /*! MySQL executable comment: its content is code.
      if (i + 2 < n && input.charCodeAt(i + 2) == 0x21) {
        i += 3;
        while (i < n && isDigit(input.charCodeAt(i))) i++;
        continue;
      }
      const close = find(input, "*/", i + 2);
      if (close < 0) {
        out.push(new Token(T_COMMENT, "/*"));
        break;
      }
      i = close + 2;
      // A comment between tokens is whitespace to SQL; only a trailing one matters.
      if (onlySpaceAfter(input, i)) out.push(new Token(T_COMMENT, "/**/"));
      continue;
    }
    if (c == 0x2a && i + 1 < n && input.charCodeAt(i + 1) == 0x2f) {
      i += 2; // the end of a /*! comment
      continue;
    }
    // "--+": the "+" is a URL-encoded space left undecoded
    if (c == 0x23 /* # */ || (c == 0x2d && i + 1 < n && input.charCodeAt(i + 1) == 0x2d && (i + 2 >= n || isSpace(input.charCodeAt(i + 2)) || input.charCodeAt(i + 2) == 0x2d || input.charCodeAt(i + 2) == 0x2b))) {
      out.push(new Token(T_COMMENT, c == 0x23 ? "#" : "--"));
      // To the end of the line; a newline starts fresh SQL.
      const nl = find(input, "\n", i);
      if (nl < 0) break;
      i = nl + 1;
      continue;
    }
    if (c == 0x27 || c == 0x22) {
      const end = findStringEnd(input, i + 1, c);
      if (end < 0) {
        out.push(new Token(T_STRING, input.substring(i + 1)));
        break;
      }
      out.push(new Token(T_STRING, input.substring(i + 1, end)));
      i = end + 1;
      continue;
    }
    if (c == 0x60 /* ` */) {
      const end = find(input, "`", i + 1);
      if (end < 0) {
        out.push(new Token(T_BARE, input.substring(i + 1)));
        break;
      }
      out.push(new Token(T_BARE, input.substring(i + 1, end)));
      i = end + 1;
      continue;
    }
    if (isDigit(c) || (c == 0x2e && i + 1 < n && isDigit(input.charCodeAt(i + 1)))) {
      let j = i + 1;
      if (c == 0x30 && j < n && (input.charCodeAt(j) | 0x20) == 0x78) {
        j++;
        while (j < n && isHex(input.charCodeAt(j))) j++;
      } else if (c == 0x30 && j < n && (input.charCodeAt(j) | 0x20) == 0x62) {
        j++;
        while (j < n && (input.charCodeAt(j) == 0x30 || input.charCodeAt(j) == 0x31)) j++;
      } else {
        while (j < n && (isDigit(input.charCodeAt(j)) || input.charCodeAt(j) == 0x2e)) j++;
        if (j < n && (input.charCodeAt(j) | 0x20) == 0x65) {
          let k = j + 1;
          if (k < n && (input.charCodeAt(k) == 0x2b || input.charCodeAt(k) == 0x2d)) k++;
          if (k < n && isDigit(input.charCodeAt(k))) {
            j = k;
            while (j < n && isDigit(input.charCodeAt(j))) j++;
          }
        }
      }
      // 123abc is a word, not a number (hashes, ids, postcodes); but after a decimal point or an
      // exponent MySQL ends the number there: "1e0union select", "1.union select".
      const numeric = input.substring(i, j);
      const ended = numeric.indexOf(".") >= 0 || (numeric.length > 1 && (numeric.charCodeAt(numeric.length - 1) | 0x20) != 0x65 && find(numeric, "e") > 0 && !numeric.startsWith("0x"));
      if (!ended && j < n && isWordStart(input.charCodeAt(j)) && input.charCodeAt(j) < 0x80) {
        while (j < n && isWordPart(input.charCodeAt(j))) j++;
        out.push(new Token(T_BARE, input.substring(i, j)));
      } else {
        out.push(new Token(T_NUMBER, input.substring(i, j)));
      }
      i = j;
      continue;
    }
    if (c == 0x40 /* @ */) {
      let j = i + 1;
      if (j < n && input.charCodeAt(j) == 0x40) j++;
      const s = j;
      while (j < n && isWordPart(input.charCodeAt(j))) j++;
      if (j > s) {
        out.push(new Token(T_VAR, asciiLower(input.substring(i, j))));
        i = j;
        continue;
      }
      out.push(new Token(T_OTHER, "@"));
      i = j;
      continue;
    }
    if (isWordStart(c)) {
      let j = i + 1;
      while (j < n && isWordPart(input.charCodeAt(j))) j++;
      const word = input.substring(i, j);
      const lower = asciiLower(word);
      i = j;
      pushWord(out, lower, input, i);
      continue;
    }
    // Operators and punctuation.
    const c2 = i + 1 < n ? input.charCodeAt(i + 1) : -1;
    if (c == 0x28) {
      out.push(new Token(T_OPEN, "("));
      i++;
    } else if (c == 0x29) {
      out.push(new Token(T_CLOSE, ")"));
      i++;
    } else if (c == 0x2c) {
      out.push(new Token(T_COMMA, ","));
      i++;
    } else if (c == 0x3b) {
      out.push(new Token(T_SEMI, ";"));
      i++;
    } else if ((c == 0x26 && c2 == 0x26) || (c == 0x7c && c2 == 0x7c)) {
      out.push(new Token(T_LOGIC, input.substring(i, i + 2)));
      i += 2;
    } else if (c == 0x3d || c == 0x3c || c == 0x3e || c == 0x21 || c == 0x2b || c == 0x2d || c == 0x2a || c == 0x2f || c == 0x25 || c == 0x5e || c == 0x7c || c == 0x26 || c == 0x7e || c == 0x3a) {
      // Runs of operator characters are one operator (<=, <>, !=, <=>, ::, ->>).
      let j = i + 1;
      while (j < n && j - i < 3 && isOpChar(input.charCodeAt(j))) j++;
      const op = input.substring(i, j);
      if (op == ":") out.push(new Token(T_OTHER, op));
      else if (op == "!") out.push(new Token(T_OP, op));
      else out.push(new Token(T_OP, op));
      i = j;
    } else {
      out.push(new Token(T_OTHER, String.fromCharCode(c)));
      i++;
    }
  }
  return out;
}

function pushWord(out: Array<Token>, lower: string, input: string, after: i32): void {
  // Multi-word keywords fold into the first word's token.
  const prev = out.length > 0 ? out[out.length - 1] : null;
  if (prev !== null && prev.type == T_KEYWORD && (prev.text == "order" || prev.text == "group") && lower == "by") {
    prev.text += " by";
    return;
  }
  if (prev !== null && prev.type == T_UNION && (lower == "all" || lower == "distinct")) return;
  if (prev !== null && prev.type == T_OP && (prev.text == "is" || prev.text == "not") && lower == "not") {
    prev.text += " not";
    return;
  }
  const nextOpen = nextNonSpace(input, after) == 0x28;
  if (nextOpen && (DANGEROUS.has(lower) || FUNCS.has(lower))) {
    out.push(new Token(T_FUNC, lower));
    return;
  }
  if (lower == "order" || lower == "group") {
    out.push(new Token(T_KEYWORD, lower));
    return;
  }
  if (WORDS.has(lower)) {
    out.push(new Token(WORDS.get(lower), lower));
    return;
  }
  out.push(new Token(T_BARE, lower));
}

function isOpChar(c: i32): bool {
  return c == 0x3d || c == 0x3c || c == 0x3e || c == 0x21 || c == 0x7c || c == 0x26 || c == 0x3a || c == 0x40 || c == 0x3f;
}

function isHex(c: i32): bool {
  return isDigit(c) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

function nextNonSpace(input: string, i: i32): i32 {
  while (i < input.length) {
    const c = input.charCodeAt(i);
    if (!isSpace(c)) {
      // /**/ between a function name and its "(" is whitespace too.
      if (c == 0x2f && i + 1 < input.length && input.charCodeAt(i + 1) == 0x2a) {
        const close = find(input, "*/", i + 2);
        if (close < 0) return -1;
        i = close + 2;
        continue;
      }
      return c;
    }
    i++;
  }
  return -1;
}

function onlySpaceAfter(input: string, i: i32): bool {
  for (; i < input.length; i++) if (!isSpace(input.charCodeAt(i))) return false;
  return true;
}

/** Index of the quote closing a string that starts at i ('' and \' escape), or -1. */
function findStringEnd(input: string, i: i32, quote: i32): i32 {
  const n = input.length;
  while (i < n) {
    const c = input.charCodeAt(i);
    if (c == 0x5c) {
      i += 2;
      continue;
    }
    if (c == quote) {
      if (i + 1 < n && input.charCodeAt(i + 1) == quote) {
        i += 2;
        continue;
      }
      return i;
    }
    i++;
  }
  return -1;
}

// ---- Rules over a token sequence ----

function fingerprint(t: Array<Token>, from: i32): string {
  let s = "";
  for (let i = from; i < t.length && i < from + 12; i++) s += String.fromCharCode(t[i].type);
  return s;
}

@inline
function typeAt(t: Array<Token>, i: i32): i32 {
  return i >= 0 && i < t.length ? unchecked(t[i]).type : 0;
}

function isOperand(type: i32): bool {
  return type == T_STRING || type == T_NUMBER || type == T_VALUE || type == T_BARE || type == T_VAR;
}

function isLiteral(type: i32): bool {
  return type == T_STRING || type == T_NUMBER || type == T_VALUE;
}

function isComparison(tok: Token): bool {
  if (tok.type != T_OP) return false;
  const s = tok.text;
  return (
    s == "=" || s == "==" || s == "<" || s == ">" || s == "<=" || s == ">=" || s == "<>" || s == "!=" || s == "<=>" || s == "like" ||
    s == "rlike" || s == "regexp" || s == "glob" || s == "is" || s == "is not" || s == "in" || s == "between" || s == "sounds" ||
    s == "ilike" || s == "similar" || s == "not" || s == "not not" || s == "notnull" || s == "isnull" || s == "match"
  );
}

/** The token after an operand at i, skipping a call's parenthesised arguments or a "(...)" group. */
function skipOperand(t: Array<Token>, i: i32): i32 {
  const type = typeAt(t, i);
  if (type == T_FUNC || type == T_OPEN) {
    let j = type == T_FUNC ? i + 1 : i;
    if (typeAt(t, j) != T_OPEN) return j;
    let depth = 0;
    for (; j < t.length; j++) {
      if (t[j].type == T_OPEN) depth++;
      else if (t[j].type == T_CLOSE) {
        depth--;
        if (depth == 0) return j + 1;
      }
    }
    return t.length;
  }
  return i + 1;
}

/** A statement keyword at i that starts SQL an attacker would run. */
function statementAt(t: Array<Token>, i: i32): bool {
  if (typeAt(t, i) != T_STATEMENT) return false;
  const kw = t[i].text;
  const next = typeAt(t, i + 1);
  if (kw == "select") {
    return next == T_OP /* * */ || next == T_NUMBER || next == T_STRING || next == T_VAR || next == T_FUNC || next == T_VALUE || next == T_OPEN || next == T_BARE || next == T_KEYWORD || next == 0;
  }
  if (kw == "waitfor") return next == T_KEYWORD || next == T_BARE; // waitfor delay / time
  if (kw == "shutdown") return next == 0 || next == T_COMMENT || next == T_SEMI || next == T_BARE;
  if (kw == "declare") return next == T_VAR;
  if (kw == "exec" || kw == "execute") return next == T_BARE || next == T_VAR || next == T_FUNC || next == T_OPEN || next == T_STRING;
  return next == T_KEYWORD || next == T_BARE || next == T_VAR;
}

/** After a break-out: a statement keyword followed by SQL rather than prose ('"select" few'). */
function strongStatementAt(t: Array<Token>, i: i32): bool {
  if (!statementAt(t, i)) return false;
  if (t[i].text != "select") return true;
  const next = typeAt(t, i + 1);
  if (next == T_NUMBER || next == T_VAR || next == T_FUNC || next == T_VALUE || next == T_OPEN || (next == T_OP && t[i + 1].text == "*")) return true;
  return statementShape(t, i);
}

/** The full-statement shapes (with no break-out needed): SELECT ... FROM, INSERT INTO, ... */
function statementShape(t: Array<Token>, i: i32): bool {
  const kw = t[i].text;
  if (kw == "select") {
    // SELECT <list> FROM <name>, where the list has SQL in it (*, a call, a number, a comma)
    // or the FROM is followed by WHERE/LIMIT/ORDER BY...: "select a color from the list" is prose.
    let sqlish = false;
    for (let j = i + 1; j < t.length && j < i + 24; j++) {
      const ty = t[j].type;
      if (ty == T_KEYWORD && t[j].text == "from") {
        const after = typeAt(t, j + 1);
        if (after == 0 && sqlish) return true; // "in ( select * from" cut short
        if (after != T_BARE && after != T_OPEN && after != T_VAR) return false;
        if (sqlish || after == T_OPEN) return true;
        const k = after == T_OPEN ? skipOperand(t, j + 1) : j + 2;
        const ty2 = typeAt(t, k);
        if (ty2 == T_KEYWORD && (t[k].text == "where" || t[k].text == "limit" || t[k].text == "order by" || t[k].text == "group by" || t[k].text == "having")) return true;
        return ty2 == T_COMMENT || ty2 == T_SEMI || ty2 == T_CLOSE;
      }
      if (ty == T_FUNC || ty == T_VAR || ty == T_COMMA || ty == T_NUMBER || (ty == T_OP && t[j].text == "*") || ty == T_STRING) sqlish = true;
      if (ty == T_SEMI || ty == T_STATEMENT) return false;
    }
    // SELECT with SQL right after it: "select sleep(5)", "SELECT CHAR(113)", "select @@version",
    // "select 1,2,3", "SELECT (CASE", "select(user(", "select pg_sleep"
    const n1 = typeAt(t, i + 1);
    if (n1 == T_FUNC) return true;
    if (n1 == T_VAR) return true;
    if (n1 == T_OPEN && (typeAt(t, i + 2) == T_STATEMENT || typeAt(t, i + 2) == T_FUNC || (typeAt(t, i + 2) == T_KEYWORD && t[i + 2].text == "case"))) return true;
    if (isLiteral(n1) && (typeAt(t, i + 2) == T_COMMA || (typeAt(t, i + 2) == T_LOGIC && t[i + 2].text == "||") || typeAt(t, i + 2) == T_COMMENT || typeAt(t, i + 2) == T_SEMI)) return true;
    if (n1 == T_BARE && DANGEROUS.has(t[i + 1].text)) return true;
    return false;
  }
  const n1 = typeAt(t, i + 1), n2 = typeAt(t, i + 2), n3 = typeAt(t, i + 3);
  if (kw == "insert" || kw == "replace") return n1 == T_KEYWORD && t[i + 1].text == "into" && (n2 == T_BARE || n2 == T_FUNC || n2 == T_KEYWORD) && (n3 == T_OPEN || n3 == T_KEYWORD || n3 == T_STATEMENT);
  if (kw == "update") return n1 == T_BARE && n2 == T_KEYWORD && t[i + 2].text == "set" && n3 == T_BARE && typeAt(t, i + 4) == T_OP;
  if (kw == "delete") return n1 == T_KEYWORD && t[i + 1].text == "from" && n2 == T_BARE && (n3 == T_SEMI || n3 == T_COMMENT || (n3 == T_KEYWORD && t[i + 3].text == "where"));
  if (kw == "drop" || kw == "create" || kw == "alter" || kw == "truncate") {
    if (n1 != T_KEYWORD && n1 != T_BARE) return false;
    const what = t[i + 1].text;
    const objectKw = what == "table" || what == "database" || what == "schema" || what == "function" || what == "procedure" || what == "view" || what == "index" || what == "trigger" || what == "user";
    return objectKw && (n2 == T_BARE || (n2 == T_KEYWORD && t[i + 2].text != "of"));
  }
  if (kw == "exec" || kw == "execute") {
    if (n1 == T_OPEN && (n2 == T_VAR || n2 == T_STRING)) return true; // exec(@q), exec('...')
    if (n1 == T_FUNC && DANGEROUS.has(t[i + 1].text)) return true;
    return n1 == T_BARE && (t[i + 1].text.startsWith("xp_") || t[i + 1].text.startsWith("sp_") || t[i + 1].text.startsWith("master."));
  }
  if (kw == "declare") return n1 == T_VAR && !t[i + 1].text.startsWith("@@");
  if (kw == "waitfor") return (n1 == T_KEYWORD || n1 == T_BARE) && (t[i + 1].text == "delay" || t[i + 1].text == "time") && n2 == T_STRING;
  if (kw == "shutdown") return (n1 == 0 && i > 0) || n1 == T_COMMENT || (n1 == T_BARE && t[i + 1].text == "with");
  return false;
}

/**
 * What follows a break-out point (the end of the attacker's string, or a leading number) at i:
 * a reason when it is SQL, null otherwise.
 */
function afterBreak(t: Array<Token>, i: i32, quoted: bool): string | null {
  // Closing parentheses: the attacker closes the query's own groups.
  while (typeAt(t, i) == T_CLOSE) i++;
  const ty = typeAt(t, i);
  if (ty == 0) return null;
  // ' -- / ' # / ' /*: cut the rest of the query off (quoted context only: "5 --" is prose).
  if (ty == T_COMMENT) return quoted && i == t.length - 1 ? "comment" : null;
  if (ty == T_SEMI) {
    if (statementAt(t, i + 1)) return "stacked";
    return quoted && typeAt(t, i + 1) == T_COMMENT ? "comment" : null;
  }
  if (ty == T_UNION) return null; // unionSelect looks at every position
  if (ty == T_STATEMENT && quoted && strongStatementAt(t, i)) return "statement";
  if (ty == T_FUNC && DANGEROUS.has(t[i].text) && typeAt(t, i + 1) == T_OPEN) return "function";
  if (ty == T_KEYWORD) {
    const kw = t[i].text;
    if ((kw == "order by" || kw == "group by") && typeAt(t, i + 1) == T_NUMBER) return "order-by";
    if (quoted && (kw == "order by" || kw == "group by") && (typeAt(t, i + 1) == T_BARE || typeAt(t, i + 1) == T_FUNC)) return "order-by";
    if ((kw == "having" || kw == "procedure") && (typeAt(t, i + 1) == T_NUMBER || typeAt(t, i + 1) == T_BARE || typeAt(t, i + 1) == T_FUNC)) return quoted ? "keyword" : null;
    if (quoted && (kw == "into" || kw == "limit") && (typeAt(t, i + 1) == T_KEYWORD || typeAt(t, i + 1) == T_NUMBER)) return "keyword";
    return null;
  }
  if (ty == T_LOGIC) {
    let j = i + 1;
    // OR NOT 1=2 / AND !(...): judge what the negation applies to
    if (typeAt(t, j) == T_OP && (t[j].text == "not" || t[j].text == "!") && typeAt(t, j + 1) != 0 && typeAt(t, j + 1) != T_OP) j++;
    const a = typeAt(t, j);
    if (a == T_FUNC) {
      // ' and sleep(5) / ' or json_valid(id) --
      if (DANGEROUS.has(t[j].text)) return "logic-function";
      const k = skipOperand(t, j);
      const after = typeAt(t, k);
      if (after == T_OP && isComparison(t[k])) return "logic-comparison";
      if (quoted && (after == T_COMMENT || after == T_SEMI || after == 0)) return "logic-function";
      return null;
    }
    if (a == T_OPEN) {
      // ' and (select ...) / 1) or (1=1 / 1)) or ((1=1
      let k = j;
      while (typeAt(t, k) == T_OPEN) k++;
      if (typeAt(t, k) == T_STATEMENT) return "logic-subquery";
      if (isOperand(typeAt(t, k)) && typeAt(t, k + 1) == T_OP && isComparison(t[k + 1])) return "logic-comparison";
      return null;
    }
    if (a == T_KEYWORD && t[j].text == "exists" && typeAt(t, j + 1) == T_OPEN) return "logic-subquery";
    if (isOperand(a)) {
      const k = j + 1;
      const b = typeAt(t, k);
      if (b == T_OP && isComparison(t[k])) {
        const c = typeAt(t, k + 1);
        if (isOperand(c) || c == T_OPEN || c == T_FUNC || c == 0 || c == T_KEYWORD) return "tautology";
        if (quoted && (c == T_COMMENT || c == T_SEMI)) return "tautology";
        return null;
      }
      // ' or 1-- / 1 or true# / ' or 'x (the query's own quote closes 'x)
      if (isLiteral(a) && (b == T_COMMENT || (quoted && (b == T_SEMI || (b == 0 && shortValue(t[j])))))) return "logic-literal";
      if (quoted && a == T_BARE && (b == T_COMMENT || b == T_SEMI)) return "logic-comment";
      // ' or ''-' / ' or '' ' / a'or'a: the attacker's quotes pair up with the query's
      if (quoted && a == T_STRING && (b == T_STRING || (b == T_OP && typeAt(t, k + 1) == T_STRING)) && shortValue(t[t.length - 1])) return "logic-string";
    }
    if (quoted && j > i + 1) return "logic-not";
    // ' or <expression> --: a comparison somewhere before a trailing comment
    if (quoted && typeAt(t, t.length - 1) == T_COMMENT && t.length - i <= 12) {
      for (let k = j; k < t.length - 1; k++) {
        if (t[k].type == T_OP && isComparison(t[k])) return "logic-comment";
        if (t[k].type == T_SEMI) break;
      }
    }
    return null;
  }
  if (ty == T_OP) {
    // ' = 1 -- / '||(select ...) / '+sleep(5)+'
    const j = i + 1;
    const a = typeAt(t, j);
    if (a == T_OPEN && typeAt(t, j + 1) == T_STATEMENT) return "operator-subquery";
    if (a == T_FUNC && DANGEROUS.has(t[j].text)) return "operator-function";
    if (quoted && isComparison(t[i]) && isOperand(a)) {
      const b = typeAt(t, j + 1);
      if (b == T_COMMENT || b == T_SEMI) return "comparison-comment";
      if (b == T_LOGIC && isOperand(typeAt(t, j + 2))) return "comparison-logic";
    }
    return null;
  }
  if (ty == T_OPEN && typeAt(t, i + 1) == T_STATEMENT && statementAt(t, i + 1)) return "subquery";
  return null;
}

/** UNION [ALL] SELECT anywhere, with the select followed by SQL. */
function unionSelect(t: Array<Token>): bool {
  for (let i = 0; i + 1 < t.length; i++) {
    if (t[i].type != T_UNION) continue;
    let j = i + 1;
    // "(" and, in URL paths where "+" stands for a space, "+", "all", "distinct"
    while (typeAt(t, j) == T_OPEN || (typeAt(t, j) == T_OP && t[j].text == "+") || ((typeAt(t, j) == T_BARE || typeAt(t, j) == T_KEYWORD) && (t[j].text == "all" || t[j].text == "distinct"))) j++;
    if (typeAt(t, j) == T_STATEMENT && t[j].text == "select" && selectList(t, j + 1)) return true;
  }
  return false;
}

/** What follows SELECT reads as a select list: a value, *, a call, or a name then , / FROM / the end. */
function selectList(t: Array<Token>, i: i32): bool {
  while (typeAt(t, i) == T_OP && t[i].text == "+") i++; // "+" for spaces in URL paths
  const a = typeAt(t, i);
  if (a == 0 || a == T_NUMBER || a == T_STRING || a == T_VALUE || a == T_VAR || a == T_FUNC || a == T_OPEN || (a == T_OP && t[i].text == "*")) return true;
  if (a == T_BARE || (a == T_KEYWORD && t[i].text == "distinct")) {
    const b = typeAt(t, i + 1);
    return b == 0 || b == T_COMMA || b == T_COMMENT || b == T_SEMI || (b == T_KEYWORD && (t[i + 1].text == "from" || t[i + 1].text == "into")) || (b == T_OP && t[i + 1].text == "+");
  }
  return false;
}

/** A literal short and word-like enough to be an injected operand ('x, 1, a), not a phrase. */
function shortValue(tok: Token): bool {
  const s = tok.text;
  if (s.length > 16) return false;
  for (let i = 0; i < s.length; i++) if (isSpace(s.charCodeAt(i))) return false;
  return true;
}

/** The arguments of the call whose "(" is at open look like SQL (no prose words: "sleep(8 hours)"). */
function sqlArguments(t: Array<Token>, open: i32): bool {
  let depth = 0;
  let count = 0;
  for (let j = open; j < t.length; j++) {
    const ty = t[j].type;
    if (ty == T_OPEN) depth++;
    else if (ty == T_CLOSE) {
      depth--;
      if (depth == 0) return count > 0 || t[open - 1].text != "sleep";
    } else if (ty == T_BARE) {
      // A column or table name is fine next to SQL punctuation, not in a run of words.
      if (typeAt(t, j + 1) == T_BARE || typeAt(t, j - 1) == T_BARE || typeAt(t, j - 1) == T_NUMBER) return false;
      count++;
    } else if (ty == T_COMMENT) {
      return false;
    } else {
      count++;
    }
  }
  return count > 0; // unclosed: load_file('/etc/passwd' ...
}

function isSystemTable(name: string): bool {
  return (
    name.startsWith("information_schema") || name.startsWith("mysql.") || name.startsWith("pg_catalog") || name.startsWith("sys.") ||
    name == "sysobjects" || name == "syscolumns" || name == "msysobjects" || name == "all_tables" || name == "user_tables" ||
    name == "sqlite_master" || name == "pg_shadow" || name == "pg_user" || name.startsWith("master..") || name == "dual"
  );
}

/** A check of one token sequence; the reason or null. */
function checkTokens(t: Array<Token>, quoted: bool): string | null {
  if (t.length == 0) return null;
  if (unionSelect(t)) return "union-select";
  if (quoted) {
    // The first token is the attacker's string, closed by their quote.
    const r = afterBreak(t, 1, true);
    if (r !== null) return r;
    // '=' / '-': an operator between the query's quotes
    if (t.length == 3 && t[0].text.length == 0 && t[1].type == T_OP && t[2].type == T_STRING && t[2].text.length == 0) return "quote-operator";
  } else {
    // A value in a numeric context: 1 or 1=1, -1) union ..., 1;drop table t
    let i = 0;
    if (typeAt(t, 0) == T_OP && t[0].text == "-") i = 1;
    if (typeAt(t, i) == T_NUMBER) {
      const r = afterBreak(t, i + 1, false);
      if (r !== null) return r;
    }
  }
  for (let i = 0; i < t.length; i++) {
    const ty = t[i].type;
    // A dangerous function called with SQL arguments: sleep(5), benchmark(1e7,md5(1)), load_file('/x')
    if (ty == T_FUNC && DANGEROUS.has(t[i].text) && typeAt(t, i + 1) == T_OPEN && sqlArguments(t, i + 1)) return "function";
    // WAITFOR DELAY '0:0:5' (also with "+" for spaces)
    if (ty == T_STATEMENT && t[i].text == "waitfor") {
      let j = i + 1;
      while (typeAt(t, j) == T_OP && t[j].text == "+") j++;
      if ((typeAt(t, j) == T_KEYWORD || typeAt(t, j) == T_BARE) && (t[j].text == "delay" || t[j].text == "time")) return "statement";
    }
    // The rest reads tokens at top level: only meaningful in the bare context, where strings are
    // where the input has them (a quote context shifts them and would expose quoted prose).
    if (quoted) continue;
    if (ty == T_STATEMENT && statementShape(t, i)) return "statement";
    // ;<statement> anywhere: stacked queries
    if (ty == T_SEMI && statementAt(t, i + 1) && statementShape(t, i + 1)) return "stacked";
    // @@version and friends
    if (ty == T_VAR && t[i].text.startsWith("@@") && t[i].text.length > 3) {
      const prev = typeAt(t, i - 1);
      if (i == 0 || prev == T_STATEMENT || prev == T_OPEN || prev == T_COMMA || prev == T_OP || prev == T_LOGIC) return "system-variable";
    }
    // AND/OR literal = literal (1=1, 'a'='a', 526=527) anywhere
    if (ty == T_LOGIC && isLiteral(typeAt(t, i + 1)) && typeAt(t, i + 2) == T_OP && isComparison(t[i + 2]) && isLiteral(typeAt(t, i + 3))) {
      return "tautology";
    }
    if (ty == T_KEYWORD) {
      const kw = t[i].text;
      // INTO OUTFILE / DUMPFILE
      if (kw == "into" && typeAt(t, i + 1) == T_KEYWORD && (t[i + 1].text == "outfile" || t[i + 1].text == "dumpfile")) return "into-outfile";
      // HAVING count(x) > 5 / HAVING 1=1
      if (kw == "having") {
        const k = skipOperand(t, i + 1);
        if ((isOperand(typeAt(t, i + 1)) || typeAt(t, i + 1) == T_FUNC) && typeAt(t, k) == T_OP && isComparison(t[k])) return "having";
      }
      // PROCEDURE ANALYSE (MySQL error-based extraction)
      if (kw == "procedure" && (typeAt(t, i + 1) == T_KEYWORD || typeAt(t, i + 1) == T_BARE || typeAt(t, i + 1) == T_FUNC) && t[i + 1].text == "analyse") return "procedure-analyse";
      // FROM information_schema.tables, FROM mysql.user, ...
      if (kw == "from" && typeAt(t, i + 1) == T_BARE && isSystemTable(t[i + 1].text)) return "system-table";
    }
  }
  return null;
}

/**
 * Whether input looks like SQL injection: a reason with the token fingerprint of the context it
 * was found in (for logs and logdata), or null.
 */
export function detectSQLi(input: string): string | null {
  return mayBeSQLi(input) ? detectSQLiChecks(input) : null;
}

/** detectSQLi without the cue test (the checks themselves; exported for the test that proves the test sound). */
export function detectSQLiChecks(input: string): string | null {
  if (input.length == 0) return null;
  initWords();
  initFuncs();
  // Bare context first, then the quote contexts (only when that quote occurs).
  let t = tokenize(input, 0);
  let r = checkTokens(t, false);
  if (r !== null) return r + " " + fingerprint(t, 0);
  if (find(input, "'") >= 0) {
    t = tokenize(input, 0x27);
    r = checkTokens(t, true);
    if (r !== null) return r + " '" + fingerprint(t, 0);
  }
  if (find(input, '"') >= 0) {
    t = tokenize(input, 0x22);
    r = checkTokens(t, true);
    if (r !== null) return r + ' "' + fingerprint(t, 0);
  }
  return null;
}

// The expression language in one call: text → tokens (lexer.ts) → tree (parser.ts) → typed tree
// (checker.ts), evaluated per request by evaluator.ts. See docs/attributes.md for the language.
import { parseExpression } from "./parser";
import { Checker } from "./checker";
import { Node, Type, typeName } from "./ast";
import { AttrRegistry } from "./activation";

export { Node, Type, typeName } from "./ast";
export { Activation, AttrRegistry, AttrSpec, Source } from "./activation";
export { evaluate } from "./evaluator";
export { Kind, Value, render, fromJson, ABSENT } from "./value";
export { compileRegex, Regex } from "@meshward/sdk/assembly/regex";

export class Compiled {
  node: Node | null = null;
  /** "at <pos>: <what>" when compiling failed. */
  error: string = "";
  ok(): bool { return this.node !== null; }
}

/** Parses and checks `src`; attribute reads are registered in `registry`. */
export function compileExpression(src: string, registry: AttrRegistry, earlier: Array<string>): Compiled {
  const out = new Compiled();
  const parsed = parseExpression(src);
  if (parsed.node === null) {
    out.error = "at " + parsed.errorPos.toString() + ": " + parsed.error;
    return out;
  }
  const checker = new Checker(registry, earlier);
  const node = checker.check(parsed.node!);
  if (node === null || checker.error !== null) {
    const e = checker.error!;
    out.error = "at " + e.pos.toString() + ": " + e.message;
    return out;
  }
  out.node = node;
  return out;
}

/** Compiles an expression that must yield bool (a rule's `when`). */
export function compileCondition(src: string, registry: AttrRegistry, earlier: Array<string>): Compiled {
  const c = compileExpression(src, registry, earlier);
  if (c.node !== null && c.node!.type != Type.Bool && c.node!.type != Type.Dyn) {
    const out = new Compiled();
    out.error = "at 0: expected a bool condition, got " + typeName(c.node!.type);
    return out;
  }
  return c;
}

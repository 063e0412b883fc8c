// Zero-width assertions, decided from the code units on either side of a position (-1 for the
// start or the end of the text). No assertion looks further, which is what keeps both matchers
// one pass over the input.

import { isWordChar } from "./charclass";
import { AssertKind } from "./parser";

export function assertHolds(kind: i32, prev: i32, next: i32): bool {
  switch (kind) {
    case AssertKind.BeginText:
      return prev < 0;
    case AssertKind.EndText:
      return next < 0;
    case AssertKind.BeginLine:
      return prev < 0 || prev == 0x0a;
    case AssertKind.EndLine:
      return next < 0 || next == 0x0a;
    case AssertKind.WordBoundary:
      return (prev >= 0 && isWordChar(prev)) != (next >= 0 && isWordChar(next));
    case AssertKind.NotWordBoundary:
      return (prev >= 0 && isWordChar(prev)) == (next >= 0 && isWordChar(next));
  }
  return false;
}

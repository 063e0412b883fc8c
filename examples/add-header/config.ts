// add-header's plugin configuration:
//   { "response_headers": { "<name>": "<value>", ... }, "log_level": "info" }
import { ConfigContext, readConfigObject, parseLogLevel } from "@meshward/sdk/assembly";
import { isValidHeaderName, isValidHeaderValue } from "./headers";

export class AddHeaderConfig {
  names: Array<string> = new Array<string>();
  values: Array<string> = new Array<string>();
  logLevel: i32 = 2; // info
}

/** Parses and validates; on failure `ctx.error()` names the field. */
export function parseAddHeaderConfig(ctx: ConfigContext, text: string): AddHeaderConfig | null {
  const root = readConfigObject(ctx, text);
  if (root === null) return null;
  const config = new AddHeaderConfig();

  const level = root.oneOf("log_level", ["trace", "debug", "info", "warn", "error", "critical"], "info");
  config.logLevel = parseLogLevel(level);

  const headers = root.object("response_headers", true);
  if (headers !== null) {
    const names = headers.keys();
    if (names.length == 0 && !ctx.failed()) ctx.fail("response_headers", "expected at least one header");
    for (let i = 0; i < names.length && !ctx.failed(); i++) {
      const name = names[i];
      if (!isValidHeaderName(name)) {
        ctx.fail(headers.pathOf(name), "invalid header name (lowercase token characters, no pseudo-headers)");
        break;
      }
      const value = headers.requiredString(name);
      if (!ctx.failed() && !isValidHeaderValue(value)) {
        ctx.fail(headers.pathOf(name), "invalid header value (control characters are not allowed)");
        break;
      }
      config.names.push(name);
      config.values.push(value);
    }
  }
  root.finish();
  return ctx.failed() ? null : config;
}

// The floor of any implementation of the typical attributes configuration: a hand-written wasm
// module (WebAssembly text, compiled with wabt) whose proxy_on_request_headers makes exactly the
// host calls the attributes filter makes for the benchmark's request, and nothing else: no
// evaluation, no allocation (its malloc hands Envoy one fixed address), no context objects.
// Whatever a filter computes, Envoy's side of these calls and the VM entries stay; the filter's
// own share is its time above this module. attributes-envoy.mjs measures it beside the filter,
// attributes-hostcalls.mjs checks in the Node host that it makes the same calls as the filter.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { typical } from './attributes-workload.mjs';

/** WAT string literal for `text` (ASCII; `\0` separates property path segments). */
const watString = (text) => text.replace(/\0/g, '\\00');

/**
 * The host calls of `config` (default: the typical configuration) for the benchmark's request,
 * plaintext, without a JWT: one header-map read; the reads of `connection.uri_san_peer_certificate`
 * and `meshward.jwt.claims` (NotFound there) and of `source.address`; a filter-state write per
 * attribute with a value (spiffe attributes are absent without mTLS, so they write nothing); an
 * append per request-header output (the anti-forgery step removes nothing: no such header arrives).
 */
export function typicalHostCalls(config = typical) {
  const valued = config.attributes.filter((a) => a.spiffe === undefined);
  return {
    headerMapReads: 1,
    propertyReads: ['connection\0uri_san_peer_certificate', 'meshward.jwt.claims', 'source\0address'],
    filterStateKeys: valued.filter((a) => a.outputs?.filter_state !== false).map((a) => `meshward.attr.${a.name}`),
    requestHeaders: valued.map((a) => a.outputs?.header).filter((h) => h !== undefined),
  };
}

/** The module's WebAssembly text. */
export function hostFloorWat(calls = typicalHostCalls()) {
  let offset = 1024;
  const data = [];
  const place = (text) => {
    const at = offset;
    data.push(`(data (i32.const ${at}) "${watString(text)}")`);
    offset += text.length + 8;
    return `(i32.const ${at}) (i32.const ${text.length})`;
  };
  const value = place('value');
  const body = [];
  for (let i = 0; i < calls.headerMapReads; i++) body.push('(drop (call $pairs (i32.const 0) (i32.const 0) (i32.const 4)))');
  for (const path of calls.propertyReads) body.push(`(drop (call $get_property ${place(path)} (i32.const 0) (i32.const 4)))`);
  for (const key of calls.filterStateKeys) body.push(`(drop (call $set_property ${place(key)} ${value}))`);
  for (const name of calls.requestHeaders) body.push(`(drop (call $add_header (i32.const 0) ${place(name)} ${value}))`);
  // The host's buffers (header map, source.address) land at 65536: nothing reads them.
  return `(module
  (import "env" "proxy_get_header_map_pairs" (func $pairs (param i32 i32 i32) (result i32)))
  (import "env" "proxy_get_property" (func $get_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_set_property" (func $set_property (param i32 i32 i32 i32) (result i32)))
  (import "env" "proxy_add_header_map_value" (func $add_header (param i32 i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 4)
  ${data.join('\n  ')}
  (func (export "malloc") (param i32) (result i32) (i32.const 65536))
  (func (export "proxy_abi_version_0_2_0"))
  (func (export "proxy_on_context_create") (param i32 i32))
  (func (export "proxy_on_vm_start") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_configure") (param i32 i32) (result i32) (i32.const 1))
  (func (export "proxy_on_request_headers") (param i32 i32 i32) (result i32)
    ${body.join('\n    ')}
    (i32.const 0)))
`;
}

/** Compiles the module into `dir` and returns its path. */
export async function writeHostFloorModule(dir, calls = typicalHostCalls()) {
  const wabt = await (await import('wabt')).default();
  const path = join(dir, 'attributes-host-floor.wasm');
  writeFileSync(path, wabt.parseWat('attributes-host-floor.wat', hostFloorWat(calls)).toBinary({}).buffer);
  return path;
}

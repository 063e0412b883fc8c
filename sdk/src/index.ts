/**
 * @meshward/sdk: the Node side of the SDK. Subpath exports keep each part importable alone:
 *   @meshward/sdk/host     a Node proxy-wasm host: unit-test any filter .wasm without Envoy
 *   @meshward/sdk/envoy    real-Envoy test harness, config builders, echo upstream
 *   @meshward/sdk/tools    managed Envoy/OPA: resolve, setup, doctor
 *   @meshward/sdk/assembly the AssemblyScript filter library (AssemblyScript sources)
 */
export * as host from './host/index.js';
export * as envoy from './envoy/index.js';
export * as tools from './tools/index.js';

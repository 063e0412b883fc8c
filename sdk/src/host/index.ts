/**
 * @meshward/sdk/host: a Node implementation of the Proxy-Wasm ABI (0.1.0, 0.2.0, 0.2.1) that
 * loads any Proxy-Wasm module and drives it the way Envoy does, so filters can be unit-tested
 * without Envoy.
 *
 *   import { loadFilter } from '@meshward/sdk/host';
 *   const f = await loadFilter('build/add-header.wasm', { config: { response_headers: { 'x-a': 'b' } } });
 *   const res = await f.http({ method: 'GET', path: '/', headers: { 'x-a': '1' } });
 *   res.status; res.headers; res.upstreamRequest?.headers; res.localReply; res.logs; res.trap;
 *   f.logs; f.metrics.get('name'); f.sharedData; f.advanceTime(1000); f.close();
 */
export { loadFilter, ProxyWasmHost } from './host.js';
export type {
  DnsResolver,
  GrpcCallResponder,
  HostOptions,
  HttpCallRecord,
  HttpCallResponder,
  HttpRequestInit,
  HttpResult,
  WasmSource,
} from './host.js';
export { HttpStream } from './stream.js';
export type { FailurePolicy, ForwardedMessage, HttpStreamOptions, LocalReplyInfo, PausePoint, StreamDirection } from './stream.js';
export { WasmVm, compileFilter } from './vm.js';
export type {
  CompiledFilter,
  ForeignFunction,
  GrpcCallRequest,
  GrpcCallResult,
  GrpcStreamState,
  HttpCallOutcome,
  HttpCallRequest,
  HttpCallResponseInit,
} from './vm.js';
export { echoUpstream } from './echo.js';
export type { BodyInit, EchoedRequest, UpstreamHandler, UpstreamRequest, UpstreamResponse } from './echo.js';
export { ManualClock, SystemClock } from './clock.js';
export type { HostClock, ManualClockOptions } from './clock.js';
export { SharedData, SharedQueues } from './shared-data.js';
export type { SharedDataEntry } from './shared-data.js';
export { Metrics, CUSTOM_STAT_PREFIX } from './metrics.js';
export type { MetricInfo, MetricKind } from './metrics.js';
export { HeaderMap, serializePairs, deserializePairs } from './headers.js';
export type { HeaderPair, HeadersInit } from './headers.js';
export { property, decodeProperty, lookupProperty, serializeProperty, TypedProperty } from './properties.js';
export type { PropertyTree, PropertyValue, PropertyKind } from './properties.js';
export type { JsonValue, MetadataInit, NodeInit } from './protobuf.js';
export { ConfigRejectedError, HostError, StreamStalledError, WasmLoadError } from './errors.js';
export type { FailState, LogEntry, TrapInfo } from './errors.js';
export * as abi from './abi.js';

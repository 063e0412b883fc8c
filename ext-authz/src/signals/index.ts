/**
 * Phase 2, signals: evidence about the request beyond who sent it, each signal a module with its
 * own config section (`signals.<name>`) and weight. The risk engine (engine.ts) runs them and
 * turns their scores into one 0-100 risk score with reasons. New signals plug in through the
 * typed API in api.ts (`defineSignal`).
 */
import type { SignalPlugin } from './api.js';
import { attributes } from './attributes.js';
import { failedAuth } from './failed-auth.js';
import { geo } from './geo.js';
import { impossibleTravel } from './impossible-travel.js';
import { ipBlocklist } from './ip-blocklist.js';
import { ipReputation } from './ip-reputation.js';
import { newDevice } from './new-device.js';
import { routeSensitivity } from './route-sensitivity.js';
import { timeOfDay } from './time-of-day.js';
import { velocity } from './velocity.js';
import { waf } from './waf.js';
import { workloadPosture } from './workload-posture.js';

/** Every built-in signal, in the order they appear in the docs. */
export const BUILTIN_SIGNALS: ReadonlyArray<SignalPlugin<unknown>> = [
  ipBlocklist,
  ipReputation,
  geo,
  impossibleTravel,
  newDevice,
  velocity,
  failedAuth,
  waf,
  attributes,
  timeOfDay,
  routeSensitivity,
  workloadPosture,
] as ReadonlyArray<SignalPlugin<unknown>>;

export * from './api.js';
export { RiskEngine, type RiskAssessment, type RiskInput, type SignalReport } from './engine.js';
export { IpBlocklistSignal, ipBlocklist } from './ip-blocklist.js';
export { ipReputation } from './ip-reputation.js';
export { geo } from './geo.js';
export { impossibleTravel, distanceKm, parseLatLon, BUILTIN_CITIES } from './impossible-travel.js';
export { newDevice, deviceFingerprint, DEFAULT_DEVICE_HEADERS } from './new-device.js';
export { velocity, retryAfter } from './velocity.js';
export { failedAuth } from './failed-auth.js';
export { waf } from './waf.js';
export { attributes } from './attributes.js';
export { timeOfDay, localTime, inWindow } from './time-of-day.js';
export { routeSensitivity } from './route-sensitivity.js';
export { workloadPosture } from './workload-posture.js';
export { parseCidrText } from './helpers.js';
export { MmdbReader, MmdbError, countryOf, decodeMmdbValue, type MmdbMetadata } from './mmdb.js';

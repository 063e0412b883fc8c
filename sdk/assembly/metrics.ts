// Counters, gauges and histograms. Define a metric once (e.g. in onConfigure, or lazily: the
// helpers below cache by name) and update it on every request. Names are used as given; Envoy
// shows them with the `wasmcustom.` prefix (`wasmcustom.<name>` in /stats).
//
// Nothing traps: a metric that could not be defined is null, updates return the host's status.
// Reading a histogram back is not supported by Envoy (BadArgument).
import * as imports from "@solo-io/proxy-runtime/assembly/imports";
import { MetricTypeValues, WasmResultValues } from "@solo-io/proxy-runtime/assembly/runtime";
import { clearOut, outValue, utf8 } from "./internal";
import { Box } from "./status";

/** A metric value read back, or the status explaining why not. */
export class MetricReading {
  constructor(public result: WasmResultValues, public value: u64) {}
  ok(): bool { return this.result == WasmResultValues.Ok; }
}

/** `proxy_define_metric`; the id, or null when the host refused. */
export function defineMetric(type: MetricTypeValues, name: string): Box<u32> | null {
  const n = utf8(name);
  clearOut();
  const r = imports.proxy_define_metric(type, changetype<usize>(n), n.byteLength, outValue);
  if (r != WasmResultValues.Ok) return null;
  return new Box<u32>(load<u32>(outValue));
}

export function incrementMetric(id: u32, delta: i64): WasmResultValues {
  return imports.proxy_increment_metric(id, delta);
}

export function recordMetric(id: u32, value: u64): WasmResultValues {
  return imports.proxy_record_metric(id, value);
}

export function getMetric(id: u32): MetricReading {
  clearOut();
  const r = imports.proxy_get_metric(id, outValue);
  if (r != WasmResultValues.Ok) return new MetricReading(r, 0);
  return new MetricReading(r, load<u64>(outValue));
}

abstract class Metric {
  constructor(public readonly name: string, public readonly id: u32) {}
  /** The current value (counters and gauges). */
  read(): MetricReading { return getMetric(this.id); }
}

export class CounterMetric extends Metric {
  /** Defines (or finds) the counter; null when the host refuses. */
  static define(name: string): CounterMetric | null {
    const id = defineMetric(MetricTypeValues.Counter, name);
    return id === null ? null : new CounterMetric(name, id.value);
  }
  /** Adds `delta` (counters only go up: a negative delta is BadArgument in Envoy). */
  increment(delta: i64 = 1): WasmResultValues { return incrementMetric(this.id, delta); }
}

export class GaugeMetric extends Metric {
  static define(name: string): GaugeMetric | null {
    const id = defineMetric(MetricTypeValues.Gauge, name);
    return id === null ? null : new GaugeMetric(name, id.value);
  }
  /** Adds `delta` (may be negative). */
  add(delta: i64): WasmResultValues { return incrementMetric(this.id, delta); }
  /** Sets the gauge to `value`. */
  set(value: u64): WasmResultValues { return recordMetric(this.id, value); }
}

export class HistogramMetric extends Metric {
  static define(name: string): HistogramMetric | null {
    const id = defineMetric(MetricTypeValues.Histogram, name);
    return id === null ? null : new HistogramMetric(name, id.value);
  }
  /** Records one sample. */
  record(value: u64): WasmResultValues { return recordMetric(this.id, value); }
}

const counters = new Map<string, CounterMetric>();
const gauges = new Map<string, GaugeMetric>();
const histograms = new Map<string, HistogramMetric>();

/** The counter `name`, defined on first use and cached; null when the host refuses. */
export function counter(name: string): CounterMetric | null {
  if (counters.has(name)) return counters.get(name);
  const m = CounterMetric.define(name);
  if (m !== null) counters.set(name, m);
  return m;
}

export function gauge(name: string): GaugeMetric | null {
  if (gauges.has(name)) return gauges.get(name);
  const m = GaugeMetric.define(name);
  if (m !== null) gauges.set(name, m);
  return m;
}

export function histogram(name: string): HistogramMetric | null {
  if (histograms.has(name)) return histograms.get(name);
  const m = HistogramMetric.define(name);
  if (m !== null) histograms.set(name, m);
  return m;
}

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { wasmHttpFilter, type Json } from '@meshward/sdk/envoy';

/** One piece of the demo chain; each Meshward filter and server adds its entry here. */
export interface DemoPlugin {
  name: string;
  /** What the user can try, shown at start. */
  tryIt: Array<{ what: string; curl: string }>;
  /** The http filter entries it adds, in chain order. */
  httpFilters: Json[];
}

/** Plugins whose build output exists, in filter-chain order. */
export function demoPlugins(buildDir: string, listenUrl: string): DemoPlugin[] {
  const plugins: DemoPlugin[] = [];
  const addHeader = join(buildDir, 'add-header.wasm');
  if (existsSync(addHeader)) {
    plugins.push({
      name: 'add-header (example filter built with @meshward/sdk)',
      tryIt: [{ what: 'the example filter adds x-meshward-demo to every response', curl: `curl -si ${listenUrl}/anything | grep -i x-meshward` }],
      httpFilters: [
        wasmHttpFilter({
          name: 'add-header',
          wasmPath: addHeader,
          config: { response_headers: { 'x-meshward-demo': 'hello from add-header' } },
        }),
      ],
    });
  }
  return plugins;
}

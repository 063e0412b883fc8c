// Types of what TypeScript tests import from waf-workload.mjs.
export declare const hostileBodies: Record<string, (n: number, i?: number) => [contentType: string, body: string]>;

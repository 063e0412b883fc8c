export * from './harness.js';
export * from './bootstrap.js';
export * from './echo-upstream.js';
export * from './ports.js';
export * from './template.js';

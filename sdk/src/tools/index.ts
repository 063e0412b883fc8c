export * from './versions.js';
export * from './paths.js';
export * from './resolve.js';
export * from './setup.js';
export * from './doctor.js';
export * from './demo-issuer.js';

/**
 * Runs once before all tests: says which Envoy and OPA the suite uses, so every test log shows
 * the exact binaries. Under CI=true a missing tool fails the run here instead of letting
 * end-to-end tests skip.
 */
import { isResolved, resolveTool, toolVersion, type ToolName } from '../sdk/src/tools/resolve.js';

export default function setup(): void {
  const ci = process.env['CI'] === 'true' || process.env['CI'] === '1';
  const problems: string[] = [];
  for (const name of ['envoy', 'opa', 'redis'] as ToolName[]) {
    const tool = resolveTool(name);
    if (!isResolved(tool)) {
      problems.push(`${name}: ${tool.reason}`);
      continue;
    }
    const v = toolVersion(tool);
    if (!v) {
      problems.push(`${name}: ${tool.path} does not run`);
      continue;
    }
    console.log(`[meshward tests] ${name}: ${tool.path} (${tool.source})`);
    console.log(`[meshward tests] ${name === 'opa' ? '`opa version`' : `\`${name === 'redis' ? 'redis-server' : name} --version\``}: ${v.line}`);
  }
  if (problems.length > 0) {
    const msg = `missing tools for end-to-end tests:\n  ${problems.join('\n  ')}\nrun \`npx meshward setup\` or see \`npx meshward doctor\``;
    if (ci) throw new Error(msg);
    console.warn(`[meshward tests] WARNING: ${msg}`);
  }
}

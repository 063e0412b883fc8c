/**
 * Fills `{{name}}` placeholders (dots allowed: `{{port.listener}}`). An unknown placeholder is
 * an error that names it, so a typo in a config template never reaches Envoy.
 */
export function renderTemplate(template: string, vars: Record<string, string | number>): string {
  return template.replace(/\{\{\s*([A-Za-z_][\w.-]*)\s*\}\}/g, (_, name: string) => {
    const value = vars[name];
    if (value === undefined) {
      throw new Error(`config template: no value for placeholder {{${name}}} (known: ${Object.keys(vars).sort().join(', ')})`);
    }
    return String(value);
  });
}

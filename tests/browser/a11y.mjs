// The automated accessibility check of the browser tests: axe-core (a
// devDependency of tests/browser) run in a page or frame against WCAG 2.1
// A and AA (labels, names, live regions' roles, contrast, ...). The pages'
// Content-Security-Policy forbids injected scripts, so axe goes in through
// the DevTools protocol (playwright's evaluate), which the policy does not
// govern.

import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';

const axePath = createRequire(import.meta.url).resolve('axe-core/axe.min.js');
let source = null;

/**
 * Runs axe in `target` (a playwright Page or Frame) and fails, naming each
 * violation, its elements and how to fix it, unless there are none.
 * `what` names the screen in the message.
 */
export async function checkA11y(target, what) {
  source ??= await readFile(axePath, 'utf8');
  await target.evaluate(source);
  const violations = await target.evaluate(async () => {
    const result = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] },
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({
      id: v.id,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary.replace(/\s+/g, ' ')}`),
    }));
  });
  if (violations.length) {
    const text = violations.map((v) => `${v.id} (${v.help}): ${v.nodes.join(' | ')}`).join('\n  ');
    throw new Error(`accessibility violations on ${what}:\n  ${text}`);
  }
}

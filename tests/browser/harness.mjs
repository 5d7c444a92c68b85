// What the browser scenarios share: Debian's Chromium launched headless,
// one `step:` line per step, the agent's sign-in, and requests to the Rust
// test that started the script (tests/e2e/browser.rs) for what happens
// outside the browser.
//
// Environment: CHAT_URL, DESK_URL, CHROMIUM_PATH, DESK_PASSWORD (of the
// test accounts); SCREENSHOTS=dir saves pictures where a scenario takes them.

import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const chatUrl = process.env.CHAT_URL;
export const deskUrl = process.env.DESK_URL;
export const shots = process.env.SCREENSHOTS;
/** How long one visible result may take to show. */
export const timeout = 15000;

const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';

/** The value of a required environment variable; exits if it is unset. */
export function required(name) {
  const value = process.env[name];
  if (!value) {
    console.error(`${name} is required`);
    process.exit(2);
  }
  return value;
}

let step = 'start';
/** Starts a step: the failure message names the last one started. */
export function log(s) {
  step = s;
  console.log(`step: ${s}`);
}

/** Content-Security-Policy violations the pages reported, by page name. */
export const cspViolations = [];

/**
 * A new page in its own browser context (its own storage), with page
 * errors printed and Content-Security-Policy violations collected.
 */
export async function newPage(browser, name) {
  const page = await (await browser.newContext()).newPage();
  page.on('pageerror', (e) => console.error(`${name} page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && /Content Security Policy/i.test(m.text())) {
      cspViolations.push(`${name}: ${m.text()}`);
      console.error(`${name} csp violation: ${m.text()}`);
    }
  });
  return page;
}

/**
 * Checks that `response` (a page load) carries a strict
 * Content-Security-Policy and that the browser enforces it on `page`: an
 * inline script added to the page does not run.
 */
export async function checkCsp(page, response) {
  const csp = response.headers()['content-security-policy'] || '';
  for (const part of ["default-src 'self'", "script-src 'self'", "connect-src 'self'"]) {
    if (!csp.includes(part)) throw new Error(`the page's CSP lacks ${part}: ${JSON.stringify(csp)}`);
  }
  if (csp.includes('unsafe-inline') || csp.includes('unsafe-eval')) {
    throw new Error(`the page's CSP allows inline script: ${JSON.stringify(csp)}`);
  }
  const ran = await page.evaluate(() => {
    const s = document.createElement('script');
    s.textContent = 'window.__inlineRan = true';
    document.head.appendChild(s);
    s.remove();
    return window.__inlineRan === true;
  });
  if (ran) throw new Error('an inline script ran despite the CSP');
  // The check's own blocked script is expected; nothing else may be.
  cspViolations.length = 0;
}

/** Fails if any page reported a CSP violation (a module, style or socket blocked). */
export function noCspViolations() {
  if (cspViolations.length) throw new Error(`CSP violations: ${cspViolations.join('; ')}`);
}

/**
 * Runs `body(browser)` in a fresh headless Chromium, prints "browser
 * scenario passed" or the failing step, and exits 0 or 1.
 */
export async function scenario(body) {
  required('CHAT_URL');
  required('DESK_URL');
  required('DESK_PASSWORD');
  const browser = await chromium.launch({
    executablePath,
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
  });
  let code = 0;
  try {
    await body(browser);
    console.log('browser scenario passed');
  } catch (e) {
    console.error(`browser scenario failed at step "${step}": ${e.message}`);
    code = 1;
  }
  await browser.close();
  process.exit(code);
}

/** The password the test harness gave every test account (DESK_PASSWORD). */
export const password = process.env.DESK_PASSWORD || '';

/** Signs `agentId` in on the desk and waits for the agent's name to show. */
export async function signIn(desk, agentId, name) {
  await desk.goto(deskUrl);
  await desk.getByTestId('agent-id-input').fill(agentId);
  await desk.getByTestId('password-input').fill(password);
  await desk.getByTestId('signin-button').click();
  await desk.getByTestId('agent-name').filter({ hasText: name }).waitFor({ timeout });
}

/** Sets the signed-in agent available and waits until the desk says so. */
export async function goAvailable(desk) {
  await desk.getByTestId('presence-select').selectOption('available');
  await desk.waitForFunction(
    () => document.querySelector('[data-testid="presence-select"]')?.value === 'available',
    null, { timeout });
}

let answers = null;
/**
 * Asks the Rust test to do `action` (with `args`) and waits for its
 * answer: one JSON line on stdin. An answer with `error` throws.
 */
export async function ask(action, args = {}) {
  answers ??= createInterface({ input: process.stdin })[Symbol.asyncIterator]();
  console.log(`ask: ${JSON.stringify({ action, ...args })}`);
  const { value, done } = await answers.next();
  if (done) throw new Error(`no answer to ${action}: the test closed stdin`);
  const answer = JSON.parse(value);
  if (answer.error) throw new Error(`${action}: ${answer.error}`);
  return answer;
}

/** Opens the chat page, fills the start form (`topic` picked if given) and
 * starts; resolves once the page is connected. */
export async function startChat(chat, name, topic) {
  await chat.goto(chatUrl);
  await chat.getByTestId('name-input').fill(name);
  if (topic) await chat.getByTestId('topic-select').selectOption(topic);
  await chat.getByTestId('start-button').click();
  await chat.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
}

/** Types `text` in the chat page and sends it with Enter. */
export async function typeInChat(chat, text) {
  await chat.getByTestId('chat-input').fill(text);
  await chat.getByTestId('chat-input').press('Enter');
}

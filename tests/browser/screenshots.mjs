// The README's screenshots: each entry of PAGES (comma-separated; all of
// them by default) writes SCREENSHOTS/<entry>.png:
// - `desk`: an agent holding several chat conversations, at 1366x768;
// - `widget-desktop`: the chat widget open on a website, at 1280x800;
// - `widget-phone`: the chat widget on a phone, at 390x844;
// - `chat`: the standalone chat page;
// - `wall`: the supervisor's wall (the desk's /wall), at 1366x768; where
//   this build has no wall yet it is reported and skipped.
//
// Run by `scripts/screenshots` (into docs/screenshots) through the Rust
// e2e test `browser::screenshots::screenshots_in_chromium` (into a
// temporary directory), which starts the app and gives HOST_PORT, the
// port of the widget's host page (the configured site's origin).

import { goAvailable, log, newPage, required, scenario, signIn, startChat, timeout, typeInChat } from './harness.mjs';
import { hostPage, scriptTag, serve, widget } from './widget-host.mjs';

const out = required('SCREENSHOTS');
const chatUrl = required('CHAT_URL');
const deskUrl = required('DESK_URL');
const host = `http://127.0.0.2:${required('HOST_PORT')}`;
const wanted = (process.env.PAGES || 'desk,widget-desktop,widget-phone,chat,wall').split(',').map((p) => p.trim()).filter(Boolean);

/** A page of its own at `viewport`. */
async function page(browser, name, viewport) {
  const p = await newPage(browser, name);
  await p.setViewportSize(viewport);
  return p;
}

/** Writes `<name>.png` of `p` and says so. */
async function shoot(p, name) {
  await p.screenshot({ path: `${out}/${name}.png` });
  console.log(`wrote ${out}/${name}.png`);
}

const SHOTS = {
  async desk(browser) {
    const desk = await page(browser, 'desk', { width: 1366, height: 768 });
    await signIn(desk, 'alice', 'Alice Martin');
    await goAvailable(desk);
    const customers = [
      ['Robin Fischer', 'Hello, can I change my plan to the yearly one?'],
      ['Sam Okoye', 'My order 1042 has not arrived yet.'],
      ['Lee Moreau', 'Do you ship to Canada?'],
    ];
    for (const [name, text] of customers) {
      const chat = await newPage(browser, name);
      await startChat(chat, name, 'sales');
      await typeInChat(chat, text);
      const offer = desk.getByTestId('offer').first();
      await offer.waitFor({ timeout });
      await offer.getByTestId('accept-button').click();
      const item = desk.getByTestId('conversation-item').filter({ hasText: name });
      await item.waitFor({ timeout });
      await item.click();
      await desk.getByTestId('timeline-message').filter({ hasText: text }).waitFor({ timeout });
    }
    await desk.getByTestId('reply-input').fill('Yes, we ship to Canada: 3 to 5 working days.');
    await shoot(desk, 'desk');
  },

  async 'widget-desktop'(browser) {
    const p = await page(browser, 'widget', { width: 1280, height: 800 });
    await p.goto(`${host}/`);
    const w = widget(p);
    await w.launcher.click();
    await w.frame.getByTestId('name-input').fill('Ana');
    await w.frame.getByTestId('start-button').click();
    await w.frame.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
    await w.frame.getByTestId('chat-input').fill('Hi! Which anvil is best for beginners?');
    await w.frame.getByTestId('chat-input').press('Enter');
    await w.frame.locator('[data-testid="chat-message"][data-state="sent"]').first().waitFor({ timeout });
    await shoot(p, 'widget-desktop');
  },

  async 'widget-phone'(browser) {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const p = await context.newPage();
    await p.goto(`${host}/`);
    const w = widget(p);
    await w.launcher.click();
    await w.frame.getByTestId('start-button').waitFor({ timeout });
    await w.frame.getByTestId('greeting').waitFor({ timeout });
    await shoot(p, 'widget-phone');
  },

  async chat(browser) {
    const p = await page(browser, 'chat', { width: 1280, height: 800 });
    await p.goto(chatUrl);
    await p.getByTestId('start-button').waitFor({ timeout });
    await shoot(p, 'chat');
  },

  async wall(browser) {
    const p = await page(browser, 'wall', { width: 1366, height: 768 });
    await signIn(p, 'supervisor', 'supervisor');
    const response = await p.goto(`${deskUrl}/wall`);
    if (!response || response.status() === 404) {
      console.log('skipped wall: this build has no /wall page');
      return;
    }
    await p.waitForLoadState('networkidle');
    await shoot(p, 'wall');
  },
};

await scenario(async (browser) => {
  const unknown = wanted.filter((w) => !SHOTS[w]);
  if (unknown.length) throw new Error(`no such screenshot: ${unknown.join(', ')}; known: ${Object.keys(SHOTS).join(', ')}`);
  const server = await serve('127.0.0.2', Number(required('HOST_PORT')), { '/': hostPage(scriptTag(chatUrl, 'data-site="acme"')) });
  try {
    for (const name of wanted) {
      log(`screenshot ${name}`);
      await SHOTS[name](browser);
    }
  } finally {
    server.close();
  }
});

// The chat widget on another website, in a real Chromium:
// - a host page on another origin (served here, HOST_PORT on 127.0.0.2,
//   the site's configured origin) embeds `/widget.js` with one script tag;
//   the launcher opens the chat in a frame, keyboard only, and the
//   customer chats with an agent; the host page's own styles and globals
//   are untouched;
// - the customer attaches a PNG (the agent sees it in the timeline and
//   downloads the same bytes) and a file named .pdf that is not one
//   (refused, with the reason on the page);
// - a Spanish browser sees the widget in Spanish (the site's Spanish
//   title, greeting and topic label too); `data-lang="fr"` sets French;
// - on a phone (390x844) the chat fills the screen and stays usable;
// - a page of another origin (127.0.0.3) gets no chat: the widget script
//   adds nothing, its frame is refused by the server (403) and, without a
//   Referer, by the browser (frame-ancestors); an unknown site gets none;
// - the accessibility check (axe-core) passes on the widget's frame, the
//   standalone chat page and the desk at 1366x768.
//
// Started by the Rust e2e test `browser::widget::widget_in_chromium`.

import { readFile } from 'node:fs/promises';
import { checkA11y } from './a11y.mjs';
import { hostPage, scriptTag, serve, widget } from './widget-host.mjs';
import {
  chatUrl, deskUrl, goAvailable, log, noCspViolations, required, scenario, shots, signIn, timeout,
} from './harness.mjs';

const hostPort = Number(required('HOST_PORT'));
const allowed = `http://127.0.0.2:${hostPort}`;
// A PNG's signature and header chunk: the server checks the type by these bytes.
const PNG = Buffer.concat([
  Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]),
  Buffer.from('IHDR picture bytes'),
]);

const script = (attrs) => scriptTag(chatUrl, attrs);

/** A page in a context of its own, with errors printed. */
async function open(browser, name, options) {
  const context = await browser.newContext(options);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`${name} page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') console.error(`${name} console: ${m.text()}`);
  });
  return page;
}

await scenario(async (browser) => {
  const hosts = [
    await serve('127.0.0.2', hostPort, {
      '/': hostPage(script('data-site="acme"')),
      '/fr': hostPage(script('data-site="acme" data-lang="fr"')),
      '/unknown': hostPage(script('data-site="nosuch"')),
    }),
  ];
  const other = await serve('127.0.0.3', 0, {
    '/': hostPage(script('data-site="acme"')
      + `<iframe id="with-referer" title="framed chat" src="${chatUrl}/widget/frame?site=acme"></iframe>`
      + `<iframe id="no-referer" title="framed chat without referer" referrerpolicy="no-referrer" src="${chatUrl}/widget/frame?site=acme"></iframe>`),
  });
  hosts.push(other);
  const otherOrigin = `http://127.0.0.3:${other.address().port}`;

  try {
    log('an agent signs in on a laptop screen (1366x768) and goes available');
    const desk = await open(browser, 'desk', { viewport: { width: 1366, height: 768 } });
    await signIn(desk, 'alice', 'Alice Martin');
    await goAvailable(desk);

    log('the host page on another origin shows the launcher, its own styles untouched');
    const customer = await open(browser, 'customer', { locale: 'en-US', viewport: { width: 1280, height: 800 } });
    await customer.goto(`${allowed}/`);
    const w = widget(customer);
    await w.launcher.waitFor({ timeout });
    const label = await w.launcher.textContent();
    if (label !== 'Acme help') throw new Error(`launcher says ${JSON.stringify(label)}`);
    const launcherColor = await w.launcher.evaluate((b) => getComputedStyle(b).backgroundColor);
    if (launcherColor !== 'rgb(11, 87, 208)') throw new Error(`launcher color ${launcherColor}, not the site's accent`);
    const hostButtonRule = await customer.evaluate(() => window.launcher);
    if (hostButtonRule !== 'the host page\'s own') throw new Error('the widget changed a global of the host page');

    log('keyboard only: Tab to the launcher, Enter opens the chat');
    await customer.keyboard.press('Tab');
    const focused = await customer.evaluate(() => {
      const host = document.querySelector('[data-omniroute-widget]');
      return host && host.shadowRoot && host.shadowRoot.activeElement && host.shadowRoot.activeElement.tagName;
    });
    if (focused !== 'BUTTON') throw new Error(`Tab focused ${focused}, not the launcher`);
    await customer.keyboard.press('Enter');
    await w.iframe.waitFor({ state: 'visible', timeout });
    const f = w.frame;
    await f.getByTestId('greeting').filter({ hasText: 'Hi! Ask us anything.' }).waitFor({ timeout });
    await f.getByTestId('chat-title').filter({ hasText: 'Acme help' }).waitFor({ timeout });
    const topicsOffered = await f.locator('[data-testid="topic-select"] option').evaluateAll(
      (os) => os.map((o) => [o.value, o.textContent]));
    if (JSON.stringify(topicsOffered) !== JSON.stringify([['sales', 'Buying']])) {
      throw new Error(`the site offers ${JSON.stringify(topicsOffered)}`);
    }

    log('the accessibility check passes on the widget');
    const frame = customer.frames().find((x) => x.url().includes('/widget/frame'));
    if (!frame) throw new Error('no widget frame');
    await checkA11y(frame, 'the widget (start form)');

    log('keyboard only: name, topic, start, message');
    await f.getByTestId('name-input').waitFor({ timeout });
    await frame.waitForFunction(() => document.activeElement && document.activeElement.id === 'name-input', null, { timeout });
    await customer.keyboard.type('Kim Keyboard');
    await customer.keyboard.press('Tab');   // topic
    await customer.keyboard.press('Tab');   // start
    await customer.keyboard.press('Enter');
    await f.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
    await frame.waitForFunction(() => document.activeElement && document.activeElement.id === 'chat-input', null, { timeout });
    await customer.keyboard.type('Hello from the widget');
    await customer.keyboard.press('Enter');
    await f.locator('[data-testid="chat-message"][data-state="sent"]').filter({ hasText: 'Hello from the widget' }).waitFor({ timeout });

    log('the agent accepts and answers; the answer shows in the widget');
    const offer = desk.getByTestId('offer').first();
    await offer.waitFor({ timeout });
    await offer.getByTestId('accept-button').click();
    await desk.getByTestId('timeline-message').filter({ hasText: 'Hello from the widget' }).waitFor({ timeout });
    // The name and the topic picked in the frame reach the desk (a frame
    // on another site's page may have no storage to keep them in).
    await desk.getByTestId('customer-name').filter({ hasText: 'Kim Keyboard' }).waitFor({ timeout });
    await desk.getByTestId('conversation-queue').filter({ hasText: 'sales' }).waitFor({ timeout });
    await desk.getByTestId('reply-input').fill('Hello Kim, how can I help?');
    await desk.getByTestId('reply-button').click();
    await f.locator('[data-testid="chat-message"][data-direction="outbound"]')
      .filter({ hasText: 'Hello Kim, how can I help?' }).waitFor({ timeout });
    await checkA11y(frame, 'the widget (conversation)');

    log('the customer attaches a picture; the agent sees it and downloads the same bytes');
    await f.getByTestId('attach-button').waitFor({ timeout });
    await f.getByTestId('attach-input').setInputFiles({ name: 'receipt.png', mimeType: 'image/png', buffer: PNG });
    await f.locator('[data-testid="chat-message"][data-state="sent"]').filter({ hasText: 'receipt.png' }).waitFor({ timeout });
    const attachment = desk.getByTestId('attachment').filter({ hasText: 'receipt.png' });
    await attachment.waitFor({ timeout });
    const shown = await attachment.textContent();
    if (!shown.includes('image/png')) throw new Error(`the desk shows ${JSON.stringify(shown)}`);
    const [download] = await Promise.all([
      desk.waitForEvent('download', { timeout }),
      attachment.getByRole('button').click(),
    ]);
    const got = await readFile(await download.path());
    if (!got.equals(PNG)) throw new Error(`the agent downloaded ${got.length} bytes, not the picture`);

    log('a file named .pdf that is no PDF is refused, with the reason');
    await f.getByTestId('attach-input').setInputFiles({
      name: 'invoice.pdf', mimeType: 'application/pdf', buffer: Buffer.from('MZ this is a program'),
    });
    await f.getByTestId('error-text').filter({ hasText: 'Only images (PNG, JPEG, GIF, WebP) and PDF files can be sent.' }).waitFor({ timeout });
    await f.locator('[data-testid="chat-message"][data-state="failed"]').filter({ hasText: 'invoice.pdf' }).waitFor({ timeout });
    if (shots) await customer.screenshot({ path: `${shots}/widget-desktop.png` });

    log('Close in the frame folds the chat away and gives the launcher the focus');
    await f.getByTestId('close-chat').click();
    await w.iframe.waitFor({ state: 'hidden', timeout });
    await customer.waitForFunction(() => {
      const host = document.querySelector('[data-omniroute-widget]');
      return host.shadowRoot.activeElement && host.shadowRoot.activeElement.tagName === 'BUTTON';
    }, null, { timeout });

    log('a Spanish browser sees the widget in Spanish');
    const es = await open(browser, 'spanish customer', { locale: 'es-ES', viewport: { width: 1280, height: 800 } });
    await es.goto(`${allowed}/`);
    const we = widget(es);
    await we.launcher.filter({ hasText: 'Ayuda de Acme' }).waitFor({ timeout });
    await we.launcher.click();
    await we.frame.getByTestId('start-button').filter({ hasText: 'Empezar el chat' }).waitFor({ timeout });
    await we.frame.getByRole('heading', { name: '¿En qué podemos ayudarte?' }).waitFor({ timeout });
    await we.frame.getByTestId('greeting').filter({ hasText: '¡Hola! Pregúntanos lo que quieras.' }).waitFor({ timeout });
    await we.frame.locator('[data-testid="topic-select"] option', { hasText: 'Compras' }).waitFor({ state: 'attached', timeout });
    const htmlLang = await es.frames().find((x) => x.url().includes('/widget/frame')).evaluate(() => document.documentElement.lang);
    if (htmlLang !== 'es') throw new Error(`the frame's language is ${htmlLang}`);

    log('data-lang="fr" on the script tag sets French');
    const fr = await open(browser, 'french page', { locale: 'en-US' });
    await fr.goto(`${allowed}/fr`);
    await widget(fr).launcher.click();
    await widget(fr).frame.getByTestId('start-button').filter({ hasText: 'Commencer la discussion' }).waitFor({ timeout });

    log('on a phone (390x844) the chat fills the screen and can be used');
    const phone = await open(browser, 'phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true, locale: 'en-US' });
    await phone.goto(`${allowed}/`);
    const wp = widget(phone);
    await wp.launcher.click();
    await wp.iframe.waitFor({ state: 'visible', timeout });
    const box = await wp.iframe.boundingBox();
    if (!box || box.width < 389 || box.height < 700) throw new Error(`the phone's frame is ${JSON.stringify(box)}`);
    await wp.frame.getByTestId('name-input').fill('Pat Phone');
    await wp.frame.getByTestId('start-button').click();
    const input = wp.frame.getByTestId('chat-input');
    await input.waitFor({ timeout });
    const send = await wp.frame.getByTestId('send-button').boundingBox();
    if (!send || send.x + send.width > 390 || send.y + send.height > 844) {
      throw new Error(`the send button is off the phone's screen: ${JSON.stringify(send)}`);
    }
    if (shots) await phone.screenshot({ path: `${shots}/widget-phone.png` });

    log('a page of another origin gets no chat');
    const stranger = await open(browser, 'stranger', { locale: 'en-US' });
    const refusals = [];
    stranger.on('response', (r) => { if (r.url().includes('/widget/frame')) refusals.push(r.status()); });
    const warned = stranger.waitForEvent('console', {
      predicate: (m) => m.type() === 'warning' && m.text().includes('no chat for site "acme" on ' + otherOrigin), timeout,
    });
    await stranger.goto(`${otherOrigin}/`);
    await warned;
    if (await stranger.locator('[data-omniroute-widget]').count()) throw new Error('the widget showed on another origin');
    await stranger.waitForFunction(() => document.readyState === 'complete', null, { timeout });
    if (!refusals.includes(403)) throw new Error(`the server did not refuse the frame: ${JSON.stringify(refusals)}`);
    for (const id of ['with-referer', 'no-referer']) {
      const chatShown = await stranger.frameLocator(`#${id}`).getByTestId('start-form').count();
      if (chatShown) throw new Error(`the frame #${id} shows the chat on another origin`);
    }
    const blocked = stranger.frames().find((x) => x.name() === '' && x !== stranger.mainFrame() && x.url().startsWith('chrome-error:'));
    if (!blocked) {
      throw new Error(`the frame without a Referer was not blocked by frame-ancestors: ${stranger.frames().map((x) => x.url()).join(', ')}`);
    }

    log('an unknown site gets no chat');
    const unknown = await open(browser, 'unknown site', { locale: 'en-US' });
    const warnedUnknown = unknown.waitForEvent('console', {
      predicate: (m) => m.type() === 'warning' && m.text().includes('no chat for site "nosuch"'), timeout,
    });
    await unknown.goto(`${allowed}/unknown`);
    await warnedUnknown;
    if (await unknown.locator('[data-omniroute-widget]').count()) throw new Error('an unknown site got a widget');

    log('the accessibility check passes on the standalone chat page and the desk');
    const page = await open(browser, 'chat page', { locale: 'en-US', viewport: { width: 390, height: 844 } });
    await page.goto(chatUrl);
    await page.getByTestId('start-button').waitFor({ timeout });
    await checkA11y(page, 'the chat page (start form)');
    await checkA11y(desk, 'the desk (a conversation open)');
    noCspViolations();
  } finally {
    hosts.forEach((h) => h.close());
  }
});

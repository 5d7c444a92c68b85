// Offers on the agent desk: a new offer's card names the customer, how
// long they have waited and the seconds left; it plays a tone (WebAudio)
// and, with notifications allowed, shows a desktop notification naming the
// customer, channel and queue. Alice lets the countdown run out: the offer
// leaves her desk and goes to Bob, who accepts it with Alt+Shift+A. The
// next offer Alice declines with Alt+Shift+D, and it goes to Bob too.
//
// Started by the Rust e2e test `browser::offers` with CHAT_URL, DESK_URL
// and CHROMIUM_PATH (see harness.mjs); offers there run out after 8 s.

import {
  deskUrl, goAvailable, log, newPage, scenario, signIn, startChat, timeout, typeInChat,
} from './harness.mjs';

/**
 * A desk page whose browser records what the alerts did: notifications
 * shown (`window.__notes`) and tones started (`window.__tones`).
 */
async function recordingDesk(browser, name, allowNotifications) {
  const context = await browser.newContext();
  if (allowNotifications) await context.grantPermissions(['notifications'], { origin: new URL(deskUrl).origin });
  await context.addInitScript(() => {
    window.__notes = [];
    window.__tones = 0;
    const Real = window.Notification;
    if (Real) {
      class Recorded extends Real {
        constructor(title, options) {
          window.__notes.push({ title, body: (options && options.body) || '' });
          super(title, options);
        }
      }
      Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
      Recorded.requestPermission = (...a) => Real.requestPermission(...a);
      window.Notification = Recorded;
    }
    const start = OscillatorNode.prototype.start;
    OscillatorNode.prototype.start = function (...a) { window.__tones++; return start.apply(this, a); };
  });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`${name} page error: ${e.message}`));
  return page;
}

/** The one offer card on `desk`, once it names customer `who`. */
async function offerFor(desk, who) {
  const card = desk.getByTestId('offer').filter({ has: desk.getByTestId('offer-customer').filter({ hasText: who }) });
  await card.waitFor({ timeout });
  return card;
}

await scenario(async (browser) => {
  const alice = await recordingDesk(browser, 'alice', true);
  const bob = await recordingDesk(browser, 'bob', false);

  log('alice and bob sign in and go available; the panel shows the shortcuts and the alert settings');
  await signIn(alice, 'alice', 'Alice Martin');
  await goAvailable(alice);
  await signIn(bob, 'bob', 'Bob Okafor');
  await goAvailable(bob);
  await alice.getByTestId('offer-shortcuts').filter({ hasText: 'Alt+Shift+A' }).waitFor({ timeout });
  await alice.getByTestId('offer-notify-state').filter({ hasText: 'Desktop alerts on' }).waitFor({ timeout });
  // Bob has not allowed notifications: the page offers to ask (a click is the gesture browsers need).
  await bob.getByTestId('offer-notify-enable').waitFor({ timeout });
  // Audio may start only after a gesture: the agent has clicked already (sign-in, presence).
  await alice.getByTestId('offer-sound').filter({ hasText: 'Sound on' }).waitFor({ timeout });

  log('a customer writes to sales: alice (sales 9) gets the offer, with the customer, the wait and a countdown');
  const chat = await newPage(browser, 'customer');
  await startChat(chat, 'Priya Patel', 'sales');
  await typeInChat(chat, 'Is the blue one in stock?');
  const card = await offerFor(alice, 'Priya Patel');
  await card.getByTestId('offer-waited').filter({ hasText: /^waiting \d+s$/ }).waitFor({ timeout });
  await card.getByTestId('offer-countdown').filter({ hasText: /^\d+s$/ }).waitFor({ timeout });
  await card.getByTestId('offer-channel').filter({ hasText: 'chat' }).waitFor({ timeout });
  const shortcut = await card.getByTestId('accept-button').getAttribute('aria-keyshortcuts');
  if (shortcut !== 'Alt+Shift+A') throw new Error(`the first offer's Accept has aria-keyshortcuts ${shortcut}`);

  log('the offer played a tone and showed a desktop notification naming the customer');
  await alice.waitForFunction(() => window.__tones > 0, null, { timeout });
  await alice.waitForFunction(() => window.__notes.some((n) => n.title === 'New offer' && n.body.includes('Priya Patel')
    && n.body.includes('chat') && n.body.includes('queue sales') && /waiting \d+s/.test(n.body)), null, { timeout });
  const bobNotes = await bob.evaluate(() => window.__notes.length);
  if (bobNotes !== 0) throw new Error('bob, who did not allow notifications, got one');

  log('alice lets the countdown run out: the offer leaves her desk and goes to bob');
  await card.getByTestId('offer-countdown').filter({ hasText: /^(expiring…|[1-5]s)$/ }).waitFor({ timeout });
  await alice.getByTestId('offer').waitFor({ state: 'detached', timeout });
  const bobCard = await offerFor(bob, 'Priya Patel');
  await bobCard.getByTestId('offer-waited').filter({ hasText: /^waiting \d+s$/ }).waitFor({ timeout });
  // The wait is the customer's, counted from the start: more than alice's 8 s offer.
  const waited = Number((await bobCard.getByTestId('offer-waited').textContent()).match(/(\d+)s$/)[1]);
  if (!(waited >= 8)) throw new Error(`bob's card says the customer waited ${waited}s, less than alice's offer lasted`);

  log('bob accepts with Alt+Shift+A: the conversation is his');
  await bob.keyboard.press('Alt+Shift+KeyA');
  await bob.getByTestId('conversation-item').filter({ hasText: 'Priya Patel' }).waitFor({ timeout });
  await bob.getByTestId('customer-name').filter({ hasText: 'Priya Patel' }).waitFor({ timeout });
  await bob.getByTestId('offer').waitFor({ state: 'detached', timeout });

  log('the next customer is offered to alice, who declines with Alt+Shift+D: it goes to bob');
  const chat2 = await newPage(browser, 'customer 2');
  await startChat(chat2, 'Tomás Silva', 'sales');
  await typeInChat(chat2, 'Can I change my order?');
  await offerFor(alice, 'Tomás Silva');
  await alice.keyboard.press('Alt+Shift+KeyD');
  await alice.getByTestId('offer').waitFor({ state: 'detached', timeout });
  await offerFor(bob, 'Tomás Silva');
});

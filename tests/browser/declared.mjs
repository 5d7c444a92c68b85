// Drives the desk through a channel declared only in the configuration,
// `app` (its adapter runs apart; the Rust test publishes what it would):
// the customer's message on `app` reaches Bob, the one agent with room on
// it; the timeline marks it `app`; the customer then writes on web chat,
// and the reply picker offers `app` (declared with the chat visitor kind:
// the page learns that from the server's list, not from names of its own);
// a reply picked for `app` goes out on it.
//
// Started by the Rust e2e test `browser::declared::declared_channel_in_chromium`
// with DESK_URL and CHROMIUM_PATH (see harness.mjs); it answers the `ask`
// request `inject` (an inbound message on `omni.inbound.<channel>`, app by
// default).

import {
  ask, goAvailable, log, newPage, scenario, signIn, timeout,
} from './harness.mjs';

await scenario(async (browser) => {
  const desk = await newPage(browser, 'desk');

  log('bob signs in and goes available');
  await signIn(desk, 'bob', 'Bob Okafor');
  await goAvailable(desk);

  log('a customer writes on the declared channel app; bob accepts');
  await ask('inject', { text: 'Hello from the app' });
  const offer = desk.getByTestId('offer').first();
  await offer.waitFor({ timeout });
  await offer.locator('[data-channel="app"]').first().waitFor({ timeout });
  await offer.getByTestId('accept-button').click({ timeout });
  await desk.getByTestId('conversation-view').waitFor({ state: 'visible', timeout });
  await desk.locator('[data-testid="timeline-message"][data-channel="app"]')
    .filter({ hasText: 'Hello from the app' }).waitFor({ timeout });

  log('the same customer writes on web chat: the conversation goes on');
  await ask('inject', { channel: 'chat', text: 'And now from the chat' });
  await desk.locator('[data-testid="timeline-message"][data-channel="chat"]')
    .filter({ hasText: 'And now from the chat' }).waitFor({ timeout });

  log('the reply picker offers app, from the list the server declared for a chat visitor');
  const picker = desk.getByTestId('reply-channel');
  await picker.waitFor({ state: 'visible', timeout });
  const want = JSON.stringify([['', 'Same channel (chat)'], ['app', 'app']]);
  await desk.waitForFunction((w) => JSON.stringify([...document.querySelectorAll('[data-testid="reply-channel"] option')]
    .map((o) => [o.value, o.textContent])) === w, want, { timeout })
    .catch(async () => {
      const options = await picker.locator('option').evaluateAll((os) => os.map((o) => [o.value, o.textContent]));
      throw new Error(`reply picker offers ${JSON.stringify(options)}, not ${want}`);
    });

  log("bob's reply goes out on app");
  await picker.selectOption('app');
  const input = desk.getByTestId('reply-input');
  await input.fill('Hi, app user');
  await input.press('Enter');
  await desk.locator('[data-testid="timeline-message"][data-direction="outbound"][data-channel="app"]')
    .filter({ hasText: 'Hi, app user' }).waitFor({ timeout });
});

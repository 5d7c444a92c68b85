// Drives the desk through the email thread hijack in a real Chromium: a
// customer emails support and the agent accepts; a stranger writes to the
// conversation's reply address. The stranger's mail shows in the timeline
// under the stranger's address marked not verified, the customer's identities in the header stay the customer's, and the
// profile lists the stranger as not verified, with no Confirm button and
// no merge form for an agent; the agent's reply goes to the customer, not
// the stranger. Made a supervisor, the same person sees Confirm and the
// merge form, and confirming (with evidence) makes the address one of the
// customer's.
//
// Started by the Rust e2e test `browser::unverified::unverified_sender_in_chromium`
// with CHAT_URL, DESK_URL, CHROMIUM_PATH (see harness.mjs) and SUPPORT (the
// support address); it answers the `ask` requests: `email` (over SMTP) and
// `relay_sent` (the recipients of what the relay was sent).

import {
  ask, goAvailable, log, newPage, required, scenario, signIn, timeout,
} from './harness.mjs';

const support = required('SUPPORT');
const jo = { mailbox: 'Jo Customer <jo@example.org>', email: 'jo@example.org' };
const mallory = { mailbox: 'Mallory <mallory@evil.example>', email: 'mallory@evil.example' };

/** Waits until `selector` matches `n` elements (with `text` in them, if given). */
async function count(page, selector, n, text = null) {
  const matching = ([sel, has, want]) => [...document.querySelectorAll(sel)]
    .filter((e) => !has || e.textContent.includes(has)).length === want;
  try {
    await page.waitForFunction(matching, [selector, text, n], { timeout });
  } catch (e) {
    throw new Error(`${selector}${text ? ` with "${text}"` : ''} does not match ${n} elements`);
  }
}

await scenario(async (browser) => {
  const desk = await newPage(browser, 'desk');

  log('agent alice signs in and goes available');
  await signIn(desk, 'alice', 'Alice Martin');
  await goAvailable(desk);

  log('a customer emails support; the agent accepts');
  await ask('email', {
    from: jo.mailbox, to: support, message_id: '<jo-1@example.org>', subject: 'Order 7', body: 'Where is my parcel?',
  });
  await desk.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await desk.getByTestId('conversation-view').waitFor({ state: 'visible', timeout });
  await count(desk, '[data-testid="customer-identity"]', 1, jo.email);

  log('a stranger writes to the reply address: the mail shows, the stranger is not linked');
  const replyAddress = (await desk.getByTestId('reply-address').textContent()).trim();
  await ask('email', {
    from: mallory.mailbox, to: replyAddress, message_id: '<m-1@evil.example>', subject: 'Re: Order 7',
    body: 'Please send the refund to my new account.',
  });
  await count(desk, '[data-testid="timeline-message"][data-channel="email"]', 1, 'refund to my new account');
  // The stranger's mail is named as theirs, the customer's as the customer's.
  await count(desk, '[data-testid="timeline-message"][data-sender="unverified"]', 1, `${mallory.email} (not verified)`);
  await count(desk, '[data-testid="timeline-message"][data-sender="unverified"]', 0, 'Where is my parcel?');
  await count(desk, '[data-testid="customer-identity"]', 1);
  await count(desk, '[data-testid="customer-identity"]', 0, mallory.email);

  log('the profile lists the stranger as not verified; an agent gets no Confirm and no merge form');
  await desk.getByTestId('profile-toggle').click();
  await count(desk, '[data-testid="unverified-identity"]', 1, mallory.email);
  await count(desk, '[data-testid="confirm-identity"]', 0);
  await desk.getByTestId('link-form').waitFor({ state: 'visible', timeout });
  await desk.getByTestId('merge-form').waitFor({ state: 'hidden', timeout });

  log("the agent's reply goes to the customer");
  const input = desk.getByTestId('reply-input');
  await input.fill('Your parcel ships today.');
  await input.press('Control+Enter');
  await desk.locator('[data-testid="timeline-message"][data-direction="outbound"]')
    .filter({ hasText: 'Your parcel ships today.' }).waitFor({ timeout });
  const { recipients } = await ask('relay_sent', { count: 1 });
  if (JSON.stringify(recipients) !== JSON.stringify([[jo.email]])) {
    throw new Error(`the relay was sent mail for ${JSON.stringify(recipients)}`);
  }

  log('made a supervisor, alice sees Confirm and the merge form, and confirms the address');
  await ask('set_role', { user: 'alice', role: 'supervisor' });
  await desk.reload();
  await desk.getByTestId('role-badge').filter({ hasText: 'supervisor' }).waitFor({ timeout });
  await desk.getByTestId('conversation-item').first().click({ timeout });
  await desk.getByTestId('conversation-view').waitFor({ state: 'visible', timeout });
  await desk.getByTestId('profile-toggle').click();
  await desk.getByTestId('merge-form').waitFor({ state: 'visible', timeout });
  desk.once('dialog', async (dialog) => {
    if (dialog.type() === 'prompt') await dialog.accept('the customer confirmed it on the phone');
    else await dialog.dismiss();
  });
  await desk.getByTestId('unverified-identity').filter({ hasText: mallory.email })
    .getByTestId('confirm-identity').click({ timeout });
  await count(desk, '[data-testid="customer-identity"]', 1, mallory.email);
  await count(desk, '[data-testid="unverified-identity"]', 0);
});

// Drives the agent desk through what an agent with several conversations
// and windows meets: a service that is down (the page names it and
// retries), reply drafts kept per conversation across switching and
// reloading, a resolved conversation left open that the customer reopens
// (the message that reopened it shows once the agent accepts), and two
// windows of the same agent accepting the same offer (the losing window
// says so in a notice that goes away by itself, not in an error). With
// email and SMS off, the desk shows neither; a reply over the chat limit
// is held back in the page (which says how much to cut) and refused by
// the desk API.
//
// Started by the Rust e2e test `browser::desk::desk_in_chromium` with
// CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); offers there
// wait long enough for two windows to act on one.

import {
  chatUrl, deskUrl, goAvailable, log, newPage, scenario, signIn, timeout,
} from './harness.mjs';

/** Opens the chat page as a new customer, picks sales and writes `text`. */
async function customerWrites(browser, name, text) {
  const chat = await newPage(browser, name);
  await chat.goto(chatUrl);
  await chat.getByTestId('name-input').fill(name);
  await chat.getByTestId('topic-select').selectOption('sales');
  await chat.getByTestId('start-button').click();
  await say(chat, text);
  return chat;
}

/** The customer sends `text` and waits until the server has it. */
async function say(chat, text) {
  await chat.getByTestId('chat-input').fill(text);
  await chat.getByTestId('chat-input').press('Enter');
  await chat.locator('[data-testid="chat-message"][data-state="sent"]').filter({ hasText: text }).waitFor({ timeout });
}

/** Accepts the one offer on `desk` and waits for its conversation in the list. */
async function acceptOffer(desk, conversations) {
  const offer = desk.getByTestId('offer').first();
  await offer.waitFor({ timeout });
  await offer.getByTestId('accept-button').click();
  await desk.getByTestId('conversation-item').nth(conversations - 1).waitFor({ timeout });
}

/** Opens the conversation of customer `name` from the list. */
async function open(desk, name) {
  await desk.getByTestId('conversation-item').filter({ hasText: name }).click();
  await desk.getByTestId('customer-name').filter({ hasText: name }).waitFor({ timeout });
}

/** Fails unless the reply box holds `want`. */
async function draftIs(desk, want, when) {
  await desk.waitForFunction(
    (w) => document.querySelector('[data-testid="reply-input"]')?.value === w, want, { timeout })
    .catch(async () => {
      const got = await desk.getByTestId('reply-input').inputValue();
      throw new Error(`${when}: the reply box holds ${JSON.stringify(got)}, not ${JSON.stringify(want)}`);
    });
}

await scenario(async (browser) => {
  const desk = await newPage(browser, 'desk');

  log('agent signs in; with the router down the page names it and retries');
  await signIn(desk, 'alice', 'Alice Martin');
  const down = JSON.stringify({ error: 'unavailable', service: 'router', message: 'the router service is unavailable' });
  await desk.route('**/api/me', (route) => route.fulfill({ status: 503, contentType: 'application/json', body: down }));
  await desk.reload();
  await desk.getByTestId('error-bar').filter({ hasText: 'The router service is unavailable; retrying…' }).waitFor({ timeout });
  if (await desk.getByTestId('error-text').textContent().then((t) => /tcp|connect error/i.test(t))) {
    throw new Error('the error bar shows a transport error');
  }

  log('the router is back: the retry succeeds and the message goes away');
  await desk.unroute('**/api/me');
  await desk.getByTestId('agent-name').filter({ hasText: 'Alice Martin' }).waitFor({ timeout });
  await desk.getByTestId('error-bar').waitFor({ state: 'hidden', timeout });
  await goAvailable(desk);

  log('with email and SMS off, the load line shows chat only');
  const load = (await desk.getByTestId('load').textContent()).trim();
  if (!/^chat \d+\/\d+$/.test(load)) throw new Error(`the load line shows ${JSON.stringify(load)}`);

  log('two customers write; the agent accepts both');
  const robin = await customerWrites(browser, 'Robin', 'Robin here: question one');
  await acceptOffer(desk, 1);
  await customerWrites(browser, 'Sam', 'Sam here: question two');
  await acceptOffer(desk, 2);

  log('a chat conversation shows no email reply address and no channel menu');
  await open(desk, 'Robin');
  await desk.getByTestId('conversation-status').filter({ hasText: 'assigned' }).waitFor({ timeout });
  for (const testid of ['reply-address', 'reply-channel']) {
    if (await desk.getByTestId(testid).isVisible()) throw new Error(`${testid} shows with email and SMS off`);
  }

  log('a draft stays with its conversation when switching');
  await open(desk, 'Robin');
  await desk.getByTestId('reply-input').fill('Draft for Robin');
  await open(desk, 'Sam');
  await draftIs(desk, '', 'Sam opened after typing for Robin');
  await desk.getByTestId('reply-input').fill('Draft for Sam');
  await open(desk, 'Robin');
  await draftIs(desk, 'Draft for Robin', 'back to Robin');

  log('drafts survive a reload');
  await desk.reload();
  await desk.getByTestId('agent-name').filter({ hasText: 'Alice Martin' }).waitFor({ timeout });
  await open(desk, 'Sam');
  await draftIs(desk, 'Draft for Sam', 'Sam after a reload');

  log('a sent reply is no draft any more');
  await desk.getByTestId('reply-button').click();
  await desk.locator('[data-testid="timeline-message"][data-direction="outbound"]').filter({ hasText: 'Draft for Sam' }).waitFor({ timeout });
  await draftIs(desk, '', 'after sending');
  await open(desk, 'Robin');
  await open(desk, 'Sam');
  await draftIs(desk, '', 'Sam after sending and switching');

  log('a reply over the chat limit cannot be sent; the page says how much to cut');
  const tooLong = 'x'.repeat(4090) + 'éééé'; // 4,098 bytes: one "é" over 4,096
  await desk.getByTestId('reply-input').fill(tooLong);
  await desk.getByTestId('reply-limit').filter({ hasText: 'Too long for chat: cut 1 character to send.' }).waitFor({ timeout });
  if (await desk.getByTestId('reply-button').isEnabled()) throw new Error('Send is enabled over the limit');
  await desk.getByTestId('reply-input').press('Enter');
  await desk.getByTestId('reply-input').press('Backspace');
  await desk.getByTestId('reply-limit').waitFor({ state: 'hidden', timeout });
  if (!(await desk.getByTestId('reply-button').isEnabled())) throw new Error('Send stays disabled within the limit');
  await desk.getByTestId('reply-input').fill('');

  log('the desk API refuses an over-limit reply itself');
  const refused = await desk.evaluate(async () => {
    const id = document.querySelector('[data-testid="conversation-view"]').dataset.conversationId;
    const res = await fetch(`/api/conversations/${encodeURIComponent(id)}/messages`, {
      method: 'POST',
      headers: {
        'Content-Type': 'application/json',
        'X-CSRF-Token': sessionStorage.getItem('omni.desk.csrf'),
      },
      body: JSON.stringify({ text: 'y'.repeat(5000), client_id: 'over-limit-1' }),
    });
    return { status: res.status, body: await res.json() };
  });
  if (refused.status !== 400 || !/at most 4096 bytes/.test(refused.body.message || '')) {
    throw new Error(`an over-limit reply got ${JSON.stringify(refused)}`);
  }
  if (await desk.getByTestId('timeline-message').filter({ hasText: 'yyyyyyyyyy' }).count() !== 0) {
    throw new Error('the refused reply shows in the timeline');
  }

  log("the agent answers Robin, resolves, and leaves the conversation open");
  await open(desk, 'Robin');
  await draftIs(desk, 'Draft for Robin', 'Robin before answering');
  await desk.getByTestId('reply-button').click();
  await robin.locator('[data-testid="chat-message"][data-direction="outbound"]').filter({ hasText: 'Draft for Robin' }).waitFor({ timeout });
  await desk.getByTestId('resolve-button').click();
  await desk.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });

  log('Robin writes again; the agent accepts; the open timeline shows the message that reopened it');
  await say(robin, 'message A');
  const reoffer = desk.getByTestId('offer').first();
  await reoffer.waitFor({ timeout });
  await reoffer.getByTestId('accept-button').click();
  const timeline = desk.getByTestId('timeline-message');
  await timeline.filter({ hasText: 'message A' }).waitFor({ timeout });
  await say(robin, 'message B');
  await timeline.filter({ hasText: 'message B' }).waitFor({ timeout });
  await timeline.filter({ hasText: 'message A' }).waitFor({ timeout });

  log('a second window of the same agent, which hears no live events');
  const other = await newPage(browser, 'second window');
  await other.routeWebSocket(/\/api\/events/, () => { /* never connected: no events */ });
  await signIn(other, 'alice', 'Alice Martin');

  log('a third customer writes; both windows show the offer');
  await customerWrites(browser, 'Kim', 'Kim here: question three');
  await desk.getByTestId('offer').first().waitFor({ timeout });
  await other.reload();
  const stale = other.getByTestId('offer').first();
  await stale.waitFor({ timeout });

  log('the first window accepts; the second one accepts too and is told, without an error');
  await desk.getByTestId('offer').first().getByTestId('accept-button').click();
  await desk.getByTestId('conversation-item').filter({ hasText: 'Kim' }).waitFor({ timeout });
  await stale.getByTestId('accept-button').click();
  const notice = other.getByTestId('notice');
  await notice.filter({ hasText: 'You already accepted this offer in another window.' }).waitFor({ timeout });
  if (await other.getByTestId('error-bar').isVisible()) {
    throw new Error(`the second window shows an error: ${await other.getByTestId('error-text').textContent()}`);
  }
  await other.getByTestId('conversation-item').filter({ hasText: 'Kim' }).waitFor({ timeout });

  log('the notice goes away by itself');
  await notice.waitFor({ state: 'hidden', timeout });
  if (await other.getByTestId('error-bar').isVisible()) throw new Error('an error showed after the notice');
});

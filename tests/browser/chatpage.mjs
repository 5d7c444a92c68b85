// Drives the customer chat page in a real Chromium through what it tells
// the customer on its own:
// - the topic menu lists the configured topics, `?topic=` preselects one,
//   and an unknown one gets a visible note;
// - a message over the limit is counted in characters, says how much to
//   cut, and cannot be sent;
// - a message the server could not take (`unavailable`) goes again by
//   itself with the same client id, and is stored once;
// - the conversation's status: waiting for an agent, the agent who joined
//   (by first name), resolved;
// - read receipts for the agent's replies the page showed while visible;
// - "New conversation" asks before it clears the page.
//
// Started by the Rust e2e test `browser::chatpage::chat_page_in_chromium`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); SCREENSHOTS=dir
// saves pictures.

import {
  chatUrl,
  goAvailable,
  log,
  newPage,
  noCspViolations,
  scenario,
  shots,
  signIn,
  startChat,
  typeInChat,
  timeout,
} from './harness.mjs';

/** Sends `text` and waits until the page shows it sent. */
async function send(chat, text) {
  await typeInChat(chat, text);
  await chat.locator('[data-testid="chat-message"][data-state="sent"]').filter({ hasText: text }).waitFor({ timeout });
}

/** Fails unless `actual` equals `expected` (compared as JSON). */
function same(actual, expected, what) {
  if (JSON.stringify(actual) !== JSON.stringify(expected)) {
    throw new Error(`${what}: ${JSON.stringify(actual)}, expected ${JSON.stringify(expected)}`);
  }
}

/**
 * The JSON frames `page` sends on its WebSockets, and `until(test, what)`,
 * which waits for one that passes `test`.
 */
function sentFrames(page) {
  const frames = [];
  let wake = () => {};
  page.on('websocket', (ws) => ws.on('framesent', ({ payload }) => {
    try { frames.push(JSON.parse(payload)); } catch { /* not JSON */ }
    wake();
  }));
  return {
    frames,
    async until(test, what) {
      const deadline = Date.now() + timeout;
      for (;;) {
        const found = frames.find(test);
        if (found) return found;
        const left = deadline - Date.now();
        if (left <= 0) throw new Error(`no frame sent ${what}; sent: ${JSON.stringify(frames).slice(0, 500)}`);
        await new Promise((resolve) => { wake = resolve; setTimeout(resolve, left); });
      }
    },
  };
}

await scenario(async (browser) => {
  log('the topic menu lists the configured topics');
  const chat = await newPage(browser, 'chat');
  await chat.goto(chatUrl);
  const options = chat.locator('[data-testid="topic-select"] option');
  await options.first().waitFor({ state: 'attached', timeout });
  same(await options.evaluateAll((os) => os.map((o) => [o.value, o.textContent])),
    [['sales', 'Sales'], ['support', 'Support']], 'topic menu');
  if (await chat.getByTestId('topic-note').isVisible()) throw new Error('a note shows without ?topic=');

  log('?topic=support preselects Support');
  await chat.goto(new URL('/?topic=support', chatUrl).href);
  await chat.waitForFunction(() => document.querySelector('[data-testid="topic-select"]').value === 'support', null, { timeout });
  if (await chat.getByTestId('topic-note').isVisible()) throw new Error('a note shows for a configured topic');

  log('?topic=billing (not configured) gets a visible note');
  await chat.goto(new URL('/?topic=billing', chatUrl).href);
  await chat.getByTestId('topic-note').filter({ hasText: '“billing”' }).waitFor({ timeout });
  if (shots) await chat.screenshot({ path: `${shots}/chat-unknown-topic.png` });

  log('a message over the limit is counted in characters and cannot be sent');
  await startChat(chat, 'Casey Long', 'support');
  const input = chat.getByTestId('chat-input');
  const counter = chat.getByTestId('char-counter');
  const long = 'a'.repeat(10250);
  await input.fill(long);
  await counter.filter({ hasText: '10250 characters — too long: remove 6154 characters' }).waitFor({ timeout });
  if (!(await chat.getByTestId('send-button').isDisabled())) throw new Error('Send is enabled over the limit');
  if (shots) await chat.screenshot({ path: `${shots}/chat-too-long.png` });
  await input.press('Enter');
  same(await input.inputValue(), long, 'the text in the box after Enter');
  same(await chat.getByTestId('chat-message').count(), 0, 'messages after Enter over the limit');

  log('characters that take several bytes are counted as characters');
  await input.fill('😀'.repeat(1100));
  await counter.filter({ hasText: '1100 characters — too long: remove 76 characters' }).waitFor({ timeout });
  await input.fill('héllo');
  await counter.filter({ hasText: '5 / 4095 characters' }).waitFor({ timeout });
  if (await chat.getByTestId('send-button').isDisabled()) throw new Error('Send is disabled under the limit');

  log('the new conversation waits for an agent');
  await send(chat, 'Is anyone there?');
  await chat.locator('[data-testid="conversation-status"][data-status="waiting"]')
    .filter({ hasText: 'Waiting for an agent' }).waitFor({ timeout });
  await chat.close();

  log('a message the server could not take goes again by itself, same client id');
  const flaky = await newPage(browser, 'flaky chat');
  const messages = [];
  let refused = 0;
  await flaky.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((text) => {
      const frame = JSON.parse(text);
      if (frame.type === 'message') {
        messages.push(frame.client_id);
        if (refused < 2) {
          refused++;
          ws.send(JSON.stringify({
            type: 'error', code: 'unavailable', client_id: frame.client_id,
            message: 'the message could not be accepted right now; send it again (same client_id)',
          }));
          return;
        }
      }
      server.send(text);
    });
    server.onMessage((text) => ws.send(text));
  });
  await startChat(flaky, 'Robin Retry', 'support');
  // Every state the bubble goes through, recorded in the page.
  await flaky.evaluate(() => {
    window.__states = [];
    new MutationObserver((records) => records.forEach((r) => {
      if (r.target.dataset && r.target.dataset.testid === 'chat-message') window.__states.push(r.target.dataset.state);
    })).observe(document.getElementById('chat-log'), { subtree: true, attributes: true, attributeFilter: ['data-state'] });
  });
  await send(flaky, 'Please resend me');
  same(messages.length, 3, 'message frames sent (two refused, one taken)');
  same(new Set(messages).size, 1, 'distinct client ids among them');
  const states = await flaky.evaluate(() => window.__states);
  if (!states.includes('retrying')) throw new Error(`the bubble never showed retrying: ${states}`);
  if (await flaky.getByTestId('error-bar').isVisible()) throw new Error('an error shows for a message that went through');
  await flaky.reload();
  await flaky.getByTestId('chat-message').filter({ hasText: 'Please resend me' }).first().waitFor({ timeout });
  same(await flaky.getByTestId('chat-message').filter({ hasText: 'Please resend me' }).count(), 1,
    'copies of the resent message after a reload');
  await flaky.close();

  // bob has sales skills only: the earlier customers (support) are never offered to him.
  log('agent bob signs in and goes available');
  const desk = await newPage(browser, 'desk');
  await signIn(desk, 'bob', 'Bob Okafor');
  await goAvailable(desk);
  const customer = await newPage(browser, 'customer');
  const frames = sentFrames(customer);

  log('a sales customer writes and waits for an agent');
  await startChat(customer, 'Jo Waiting', 'sales');
  await send(customer, 'I need help with my plan');
  const status = customer.getByTestId('conversation-status');
  await status.filter({ hasText: 'Waiting for an agent' }).waitFor({ timeout });

  log('the agent accepts: the customer sees Bob join');
  await desk.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await customer.locator('[data-testid="conversation-status"][data-status="assigned"]')
    .filter({ hasText: 'You are chatting with Bob.' }).waitFor({ timeout });
  await customer.getByTestId('system-note').filter({ hasText: 'Bob joined the conversation' }).waitFor({ timeout });

  log('the agent replies; the page reports it read');
  await desk.getByTestId('conversation-view').waitFor({ state: 'visible', timeout });
  await desk.getByTestId('reply-input').fill('Hi Jo, I am on it.');
  await desk.getByTestId('reply-button').click();
  const reply = customer.locator('[data-testid="chat-message"][data-direction="outbound"]').filter({ hasText: 'Hi Jo, I am on it.' });
  await reply.waitFor({ timeout });
  const replyId = await reply.getAttribute('data-message-id');
  await frames.until((f) => f.type === 'read' && f.message_ids.includes(replyId), `read for ${replyId}`);
  if (shots) await customer.screenshot({ path: `${shots}/chat-assigned.png` });

  log('a reply that comes while the page is hidden is reported once it is visible');
  await customer.evaluate(() => Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true }));
  await desk.getByTestId('reply-input').fill('Are you still there?');
  await desk.getByTestId('reply-button').click();
  const second = customer.locator('[data-testid="chat-message"][data-direction="outbound"]').filter({ hasText: 'Are you still there?' });
  await second.waitFor({ timeout });
  const secondId = await second.getAttribute('data-message-id');
  // Longer than the page's batching delay: a read would be out by now.
  await customer.waitForTimeout(600);
  if (frames.frames.some((f) => f.type === 'read' && f.message_ids.includes(secondId))) {
    throw new Error('a reply was reported read while the page was hidden');
  }
  await customer.evaluate(() => {
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
  });
  await frames.until((f) => f.type === 'read' && f.message_ids.includes(secondId), `read for ${secondId}`);

  log('the agent resolves: the customer sees it');
  await desk.getByTestId('resolve-button').click();
  await customer.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });
  await customer.getByTestId('system-note').filter({ hasText: 'The conversation was resolved' }).waitFor({ timeout });

  log('a reload shows the same status');
  await customer.reload();
  await customer.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });

  log('"New conversation" asks first; "Keep this one" keeps the messages');
  await customer.getByTestId('new-conversation').click();
  await customer.getByTestId('new-conversation-confirm').waitFor({ timeout });
  if (shots) await customer.screenshot({ path: `${shots}/chat-resolved-new.png` });
  await customer.getByTestId('new-conversation-cancel').click();
  await customer.getByTestId('new-conversation-confirm').waitFor({ state: 'hidden', timeout });
  await customer.getByTestId('chat-message').filter({ hasText: 'Hi Jo, I am on it.' }).waitFor({ timeout });

  log('"Start new" clears the page and shows the start form');
  await customer.getByTestId('new-conversation').click();
  await customer.getByTestId('new-conversation-yes').click();
  await customer.getByTestId('start-form').waitFor({ timeout });
  same(await customer.getByTestId('chat-message').count(), 0, 'messages after a new conversation');

  log('nothing the page needed was blocked by its CSP');
  noCspViolations();
});

// The agent's tools in a real Chromium: bob answers with a canned response
// (typing `/gr` opens the list, Enter inserts it with its placeholders
// filled), writes an internal note the customer's page never shows (live
// or after a reload), and transfers the conversation to alice with a note;
// alice reads the note and the whole history and resolves with one of the
// queue's wrap-up codes (Resolve asks for it); bob goes away for lunch and
// the header says so, with the time in that state.
//
// Started by the Rust e2e test `browser::desktools::desk_tools_in_chromium`
// with CHAT_URL, DESK_URL, CHROMIUM_PATH (see harness.mjs); `sales` has the
// wrap-up codes `sold` and `no_sale`, and the shared canned response
// `greet` exists.

import {
  goAvailable, log, newPage, noCspViolations, scenario, signIn, startChat, timeout, typeInChat,
} from './harness.mjs';

const NOTE = 'Secret: refund code 4711';
const HANDOVER = 'Alice: refund approved, just confirm';

await scenario(async (browser) => {
  const bob = await newPage(browser, 'bob');
  const chat = await newPage(browser, 'chat');

  log('bob signs in; a customer writes on sales; bob accepts');
  await signIn(bob, 'bob', 'Bob Okafor');
  await goAvailable(bob);
  await startChat(chat, 'Jo Customer', 'sales');
  await typeInChat(chat, 'I want a refund');
  await bob.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await bob.getByTestId('timeline-message').filter({ hasText: 'I want a refund' }).waitFor({ timeout });
  await bob.getByTestId('customer-name').filter({ hasText: 'Jo Customer' }).waitFor({ timeout });
  const conversation = await bob.getByTestId('conversation-view').getAttribute('data-conversation-id');

  log('bob types /gr: the canned list opens; Enter inserts greet with its placeholders filled');
  const input = bob.getByTestId('reply-input');
  await input.click();
  await input.pressSequentially('/gr');
  await bob.getByTestId('canned-picker').waitFor({ state: 'visible', timeout });
  await bob.getByTestId('canned-option').filter({ hasText: '/greet' }).waitFor({ timeout });
  await input.press('Enter');
  const expected = `Hello Jo Customer, this is Bob Okafor about ${conversation} in sales.`;
  await bob.waitForFunction(
    (want) => document.querySelector('[data-testid="reply-input"]').value === want,
    expected, { timeout });
  await bob.getByTestId('canned-picker').waitFor({ state: 'hidden', timeout });
  await input.press('Enter');
  await chat.locator('[data-testid="chat-message"][data-direction="outbound"]')
    .filter({ hasText: expected }).waitFor({ timeout });

  log('bob writes an internal note: marked in his timeline, never on the customer\'s page');
  await bob.getByTestId('note-input').fill(NOTE);
  await bob.getByTestId('note-button').click();
  await bob.locator('[data-testid="timeline-message"][data-internal="true"]')
    .filter({ hasText: NOTE }).waitFor({ timeout });
  await bob.locator('[data-testid="timeline-message"][data-internal="true"]')
    .filter({ hasText: 'Internal note' }).first().waitFor({ timeout });
  // A reply after the note reaches the page: the note, before it, did not.
  await input.fill('One moment please');
  await input.press('Enter');
  await chat.locator('[data-testid="chat-message"]').filter({ hasText: 'One moment please' }).waitFor({ timeout });
  if ((await chat.locator('body').textContent()).includes('4711')) throw new Error('the chat page shows the note');
  await chat.reload();
  await chat.locator('[data-testid="chat-message"]').filter({ hasText: 'One moment please' }).waitFor({ timeout });
  if ((await chat.locator('body').textContent()).includes('4711')) throw new Error('the chat history shows the note');

  log('alice signs in; bob transfers the conversation to her with a note');
  const alice = await newPage(browser, 'alice');
  await signIn(alice, 'alice', 'Alice Martin');
  await goAvailable(alice);
  await bob.getByTestId('transfer-button').click();
  await bob.getByTestId('transfer-kind').selectOption('agent');
  await bob.getByTestId('transfer-target').fill('alice');
  await bob.getByTestId('transfer-note').fill(HANDOVER);
  await bob.getByTestId('transfer-submit').click();
  await bob.getByTestId('transfer-form').waitFor({ state: 'hidden', timeout });
  await bob.waitForFunction(
    (id) => ![...document.querySelectorAll('[data-testid="conversation-item"]')]
      .some((b) => b.dataset.conversationId === id),
    conversation, { timeout });

  log('alice accepts: she reads the note and the whole history');
  await alice.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  const internal = alice.locator('[data-testid="timeline-message"][data-internal="true"]');
  await internal.filter({ hasText: HANDOVER }).waitFor({ timeout });
  await internal.filter({ hasText: NOTE }).waitFor({ timeout });
  await internal.filter({ hasText: 'transferred to agent alice' }).waitFor({ timeout });
  await alice.getByTestId('timeline-message').filter({ hasText: 'I want a refund' }).waitFor({ timeout });
  await alice.getByTestId('timeline-message').filter({ hasText: expected }).waitFor({ timeout });

  log('alice resolves: Resolve asks for a wrap-up code, she picks sold and adds a note');
  await alice.getByTestId('resolve-button').click();
  await alice.getByTestId('wrapup-form').waitFor({ state: 'visible', timeout });
  await alice.getByTestId('wrapup-code').selectOption('sold');
  await alice.getByTestId('wrapup-note').fill('refunded, customer happy');
  await alice.getByTestId('wrapup-submit').click();
  await alice.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });
  await alice.getByTestId('wrapup-form').waitFor({ state: 'hidden', timeout });

  log('bob goes away for lunch: the header shows the reason and the time in that state');
  await bob.getByTestId('away-reason-select').selectOption('lunch');
  await bob.getByTestId('presence-select').selectOption('away');
  await bob.getByTestId('away-reason').filter({ hasText: 'lunch' }).waitFor({ timeout });
  await bob.waitForFunction(
    () => /^\d+:\d\d$/.test(document.querySelector('[data-testid="presence-time"]')?.textContent || ''),
    null, { timeout });

  log('nothing any page needed was blocked by its CSP');
  noCspViolations();
});

// Drives the customer chat page in a real Chromium through the chat's
// bound on new conversations per address: with a bound of one, a second
// customer from the same address types a message; the page does not show
// it sent, marks it not sent, and shows the server's reason with when to
// retry.
//
// Started by the Rust e2e test `browser::chatlimits::chat_page_shows_a_refused_conversation`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs) and an app
// whose `limits.conversations_per_address` is 1; SCREENSHOTS=dir saves
// pictures.

import {
  log,
  newPage,
  noCspViolations,
  scenario,
  shots,
  startChat,
  timeout,
  typeInChat,
} from './harness.mjs';

await scenario(async (browser) => {
  log('the first customer from the address starts a conversation');
  const first = await newPage(browser, 'first chat');
  await startChat(first, 'Ada First');
  await typeInChat(first, 'Hello, I need help');
  await first.locator('[data-testid="chat-message"][data-state="sent"]')
    .filter({ hasText: 'Hello, I need help' }).waitFor({ timeout });

  log('a second customer from the same address is told why, and when to retry');
  const second = await newPage(browser, 'second chat');
  await startChat(second, 'Bo Second');
  await typeInChat(second, 'Me too');
  await second.locator('[data-testid="chat-message"][data-state="failed"]')
    .filter({ hasText: 'Me too' }).waitFor({ timeout });
  await second.getByTestId('error-text')
    .filter({ hasText: /too many new conversations from your address; retry in \d+ s/ })
    .waitFor({ timeout });
  if (shots) await second.screenshot({ path: `${shots}/chat-conversation-bound.png` });
  if (await second.locator('[data-testid="chat-message"][data-state="sent"]').count() !== 0) {
    throw new Error('the refused message shows as sent');
  }
  noCspViolations();
});

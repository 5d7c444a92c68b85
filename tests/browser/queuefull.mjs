// Drives the customer chat page in a real Chromium through a full queue:
// with room for one waiting conversation, a second customer's message is
// kept (shown sent) and the page shows the automatic answer as a system
// line, not as an agent's bubble; the conversation shows resolved.
//
// Started by the Rust e2e test `browser::queuefull::chat_page_shows_the_full_queue_answer`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs) and an app
// whose `limits.max_waiting_per_queue` is 1 and `limits.queue_full_answer`
// is ANSWER below; SCREENSHOTS=dir saves pictures.

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

const ANSWER = 'Every line is busy: please write again in a few minutes.';

await scenario(async (browser) => {
  log('the first customer waits in the queue');
  const first = await newPage(browser, 'first chat');
  await startChat(first, 'Ada First');
  await typeInChat(first, 'Hello, I need help');
  await first.locator('[data-testid="chat-message"][data-state="sent"]')
    .filter({ hasText: 'Hello, I need help' }).waitFor({ timeout });

  log('the second customer is answered automatically: the queue is full');
  const second = await newPage(browser, 'second chat');
  await startChat(second, 'Bo Second');
  await typeInChat(second, 'Me too');
  await second.locator('[data-testid="chat-message"][data-state="sent"]')
    .filter({ hasText: 'Me too' }).waitFor({ timeout });
  await second.locator('[data-testid="system-note"][data-kind="automatic"]')
    .filter({ hasText: ANSWER }).waitFor({ timeout });
  if (await second.locator('[data-testid="chat-message"][data-direction="outbound"]').count() !== 0) {
    throw new Error('the automatic answer shows as an agent\'s message');
  }

  log('after a reload the answer is still a system line in the history');
  await second.reload();
  await second.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
  await second.locator('[data-testid="system-note"][data-kind="automatic"]')
    .filter({ hasText: ANSWER }).waitFor({ timeout });
  if (shots) await second.screenshot({ path: `${shots}/chat-queue-full.png` });
  noCspViolations();
});

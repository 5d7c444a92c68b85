// Drives the web chat page and the agent desk in a real Chromium through one
// conversation: customer writes, agent goes available, accepts the offer,
// reads, replies (the reply appears in the customer's page), and resolves.
// Both pages are served with a strict Content-Security-Policy, which the
// browser enforces, and nothing they need is blocked by it.
//
// Started by the Rust e2e test `browser::chat::chat_page_and_desk_in_chromium`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); SCREENSHOTS=dir
// saves pictures. Prints one line per step; exits non-zero with the failing step.

import {
  chatUrl, checkCsp, deskUrl, goAvailable, log, newPage, noCspViolations, scenario, shots,
  signIn, timeout,
} from './harness.mjs';

await scenario(async (browser) => {
  const desk = await newPage(browser, 'desk');
  const chat = await newPage(browser, 'chat');

  log('both pages come with a strict Content-Security-Policy that the browser enforces');
  await checkCsp(chat, await chat.goto(chatUrl));
  await checkCsp(desk, await desk.goto(deskUrl));

  log('agent signs in and goes available');
  await signIn(desk, 'alice', 'Alice Martin');
  await goAvailable(desk);

  log('an unknown account sees a clear error');
  const other = await newPage(browser, 'other desk');
  await other.goto(deskUrl);
  await other.getByTestId('agent-id-input').fill('mallory');
  await other.getByTestId('password-input').fill('a guess at a password');
  await other.getByTestId('signin-button').click();
  await other.getByTestId('error-bar').filter({ hasText: 'unknown account or wrong password' }).waitFor({ timeout });
  await other.close();

  log('customer opens the chat, picks sales and writes');
  await chat.goto(chatUrl);
  await chat.getByTestId('name-input').fill('Robin Customer');
  await chat.getByTestId('topic-select').selectOption('sales');
  await chat.getByTestId('start-button').click();
  await chat.getByTestId('chat-input').fill('Hello, can I change my plan?');
  await chat.getByTestId('chat-input').press('Enter');
  await chat.locator('[data-testid="chat-message"][data-state="sent"]').first().waitFor({ timeout });

  log('agent sees the offer and accepts');
  const offer = desk.getByTestId('offer').first();
  await offer.waitFor({ timeout });
  await offer.getByTestId('accept-button').click();
  await desk.getByTestId('conversation-item').first().waitFor({ timeout });

  log('agent reads the conversation');
  const view = desk.getByTestId('conversation-view');
  await view.waitFor({ state: 'visible', timeout });
  await desk.getByTestId('timeline-message').filter({ hasText: 'Hello, can I change my plan?' }).waitFor({ timeout });
  await desk.getByTestId('customer-name').filter({ hasText: 'Robin Customer' }).waitFor({ timeout });
  if (shots) await desk.screenshot({ path: `${shots}/desk.png`, fullPage: true });

  log('agent replies; the reply appears in the customer page');
  await desk.getByTestId('reply-input').fill('Of course! Which plan would you like?');
  await desk.getByTestId('reply-button').click();
  await chat.locator('[data-testid="chat-message"][data-direction="outbound"]')
    .filter({ hasText: 'Of course! Which plan would you like?' }).waitFor({ timeout });
  if (shots) await chat.screenshot({ path: `${shots}/chat.png`, fullPage: true });

  log('customer answers; the agent sees it live');
  await chat.getByTestId('chat-input').fill('The premium one, please');
  await chat.getByTestId('send-button').click();
  await desk.getByTestId('timeline-message').filter({ hasText: 'The premium one, please' }).waitFor({ timeout });

  log('agent resolves');
  await desk.getByTestId('resolve-button').click();
  await desk.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });

  log('customer reloads: the history is still there');
  await chat.reload();
  await chat.locator('[data-testid="chat-message"]').filter({ hasText: 'Of course! Which plan would you like?' }).waitFor({ timeout });

  log('nothing either page needed was blocked by its CSP');
  noCspViolations();
});

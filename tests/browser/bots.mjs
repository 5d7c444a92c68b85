// Drives a bot-held chat and the agent's desk in a real Chromium: the chat
// page says the assistant is answering (not "waiting for an agent"), shows
// the bot's message as the assistant's with its quick replies as buttons;
// a click on one sends it; the bot hands off, and the desk shows the bot's
// messages marked as the bot's and, at the top, the handoff's summary,
// intent, reason and the collected attributes.
//
// Started by the Rust e2e test `browser::bots::a_bot_answers_and_the_desk_shows_its_handoff`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs) and a
// scripted bot `faq` in front of the Sales queue; SCREENSHOTS=dir saves
// pictures.

import {
  goAvailable,
  log,
  newPage,
  noCspViolations,
  scenario,
  shots,
  signIn,
  startChat,
  timeout,
  typeInChat,
} from './harness.mjs';

await scenario(async (browser) => {
  log('the customer writes; the bot answers with quick replies');
  const chat = await newPage(browser, 'chat');
  await startChat(chat, 'Ada Bot', 'sales');
  await typeInChat(chat, 'Hi there');
  const status = chat.locator('[data-testid="conversation-status"][data-status="bot"]');
  await status.waitFor({ timeout });
  if (/waiting for an agent/i.test(await status.textContent())) {
    throw new Error('a bot-held chat says it waits for an agent');
  }
  const answer = chat.locator('[data-testid="chat-message"][data-bot="faq"]')
    .filter({ hasText: 'What can I do for you?' });
  await answer.waitFor({ timeout });
  if (await chat.locator('[data-testid="system-note"]').filter({ hasText: 'What can I do for you?' }).count() !== 0) {
    throw new Error('the bot\'s message shows as a system line');
  }
  if (shots) await chat.screenshot({ path: `${shots}/chat-bot.png` });

  log('a quick reply sends its option; the bot hands off');
  const desk = await newPage(browser, 'desk');
  await signIn(desk, 'bob', 'Bob Okafor');
  await goAvailable(desk);
  await answer.getByTestId('option-button').filter({ hasText: 'Refunds' }).click();
  await chat.locator('[data-testid="chat-message"][data-direction="inbound"]')
    .filter({ hasText: 'Refunds' }).waitFor({ timeout });

  log('the agent accepts and sees the handoff and the bot\'s turns');
  const offer = desk.getByTestId('offer').filter({ has: desk.getByTestId('offer-customer').filter({ hasText: 'Ada Bot' }) });
  await offer.waitFor({ timeout });
  await offer.getByTestId('accept-button').click();
  await desk.getByTestId('customer-name').filter({ hasText: 'Ada Bot' }).waitFor({ timeout });
  await desk.getByTestId('handoff-summary').filter({ hasText: 'wants a refund for order 12345' }).waitFor({ timeout });
  await desk.getByTestId('handoff-reason').filter({ hasText: 'Intent: refund' }).waitFor({ timeout });
  await desk.locator('[data-testid="handoff-attributes"] dd[data-attribute="order_number"]')
    .filter({ hasText: '12345' }).waitFor({ timeout });
  const byBot = desk.locator('[data-testid="timeline-message"][data-bot="faq"]');
  await byBot.first().waitFor({ timeout });
  const sender = await byBot.first().locator('.tm-sender').textContent();
  if (sender !== 'Bot · faq') throw new Error(`the bot's message is marked "${sender}"`);
  if (await byBot.count() !== 2) throw new Error(`expected the bot's two messages, got ${await byBot.count()}`);
  if (shots) await desk.screenshot({ path: `${shots}/desk-bot-handoff.png` });
  noCspViolations();
});

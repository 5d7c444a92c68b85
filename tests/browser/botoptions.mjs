// Drives the customer chat page in a real Chromium through a bot's
// message with quick-reply options: the message shows the bot's name (as
// the bot's, not an agent's or an automatic line), its options show as
// buttons under it, a keyboard press on one sends the option's text as
// the customer's message and the spent options go; the page passes the
// accessibility check with the options on screen, and a page in Spanish
// names the bot and the options in Spanish.
//
// Started by the Rust e2e test `browser::botoptions::chat_page_shows_a_bots_options`
// with CHAT_URL and CHROMIUM_PATH (see harness.mjs). It asks the test to
// `bot_message` (`visitor`, `lang`): publish an outbound chat message with
// `bot` = "faq" and options on the bus, as the context service would.

import { checkA11y } from './a11y.mjs';
import {
  ask,
  chatUrl,
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
  log('a customer writes');
  const chat = await newPage(browser, 'chat');
  await startChat(chat, 'Ada Options');
  await typeInChat(chat, 'Hello');
  await chat.locator('[data-testid="chat-message"][data-state="sent"]')
    .filter({ hasText: 'Hello' }).waitFor({ timeout });

  log('the bot answers with options');
  const visitor = await chat.evaluate(() => localStorage.getItem('omni.visitor'));
  await ask('bot_message', { visitor, lang: 'en' });
  const bubble = chat.locator('[data-testid="chat-message"][data-bot="faq"]');
  await bubble.waitFor({ timeout });
  const sender = await bubble.locator('.sender').textContent();
  if (sender !== 'faq (automated assistant)') throw new Error(`the bot's name shows as ${JSON.stringify(sender)}`);
  if (await chat.locator('[data-testid="system-note"][data-kind="automatic"]').count() !== 0) {
    throw new Error('the bot\'s message shows as an automatic line');
  }
  const group = bubble.getByRole('group', { name: 'Replies you can choose' });
  const buttons = group.getByRole('button');
  const labels = await buttons.allTextContents();
  if (JSON.stringify(labels) !== JSON.stringify(['Opening hours', 'Talk to a person'])) {
    throw new Error(`options shown: ${JSON.stringify(labels)}`);
  }
  await checkA11y(chat, 'the chat page with a bot\'s options');
  if (shots) await chat.screenshot({ path: `${shots}/chat-bot-options.png` });

  log('the customer picks an option with the keyboard');
  await buttons.first().focus();
  await chat.keyboard.press('Enter');
  await chat.locator('[data-testid="chat-message"][data-direction="inbound"][data-state="sent"]')
    .filter({ hasText: 'Opening hours' }).waitFor({ timeout });
  await chat.getByTestId('message-options').waitFor({ state: 'detached', timeout });
  const focused = await chat.evaluate(() => document.activeElement && document.activeElement.id);
  if (focused !== 'chat-input') throw new Error(`after picking, the focus is on ${focused}`);

  log('in Spanish the bot and its options are named in Spanish');
  // A browser whose language is Spanish.
  const es = await (await browser.newContext({ locale: 'es-ES' })).newPage();
  es.on('pageerror', (e) => console.error(`chat es page error: ${e.message}`));
  await es.goto(chatUrl);
  await es.getByTestId('name-input').fill('Bea Opciones');
  await es.getByTestId('start-button').click();
  await es.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
  await typeInChat(es, 'Hola');
  await es.locator('[data-testid="chat-message"][data-state="sent"]')
    .filter({ hasText: 'Hola' }).waitFor({ timeout });
  const esVisitor = await es.evaluate(() => localStorage.getItem('omni.visitor'));
  await ask('bot_message', { visitor: esVisitor, lang: 'es' });
  const esBubble = es.locator('[data-testid="chat-message"][data-bot="faq"]');
  await esBubble.waitFor({ timeout });
  const esSender = await esBubble.locator('.sender').textContent();
  if (esSender !== 'faq (asistente automático)') throw new Error(`in Spanish the bot shows as ${JSON.stringify(esSender)}`);
  await esBubble.getByRole('group', { name: 'Respuestas que puedes elegir' })
    .getByRole('button', { name: 'Horario' }).waitFor({ timeout });
  noCspViolations();
});

// The desk's customer-experience view in a real Chromium: a customer who
// thanks, then writes an angry message about a refund; the agent sees the
// intent (from an `[[enrichment.intents]]` rule), the language and a
// negative sentiment with its trend (a dot per message, oldest first, with
// a text alternative) in the conversation's head, and the intent with a
// sentiment marker in "My conversations". Resolving with a "check in on"
// date shows the follow-up scheduled by the agent, and when the customer
// writes first the open desk shows it cancelled, live (no reload). Before that, the
// supervisor's wall shows each waiting contact's intent, sentiment and
// language, and filters the waiting list by them.
//
// Started by the Rust e2e test `browser::deskcx::the_desk_shows_intent_sentiment_and_the_followup`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); SCREENSHOTS=dir
// saves pictures.

import {
  deskUrl,
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
  log('the customer thanks, then writes angrily about a refund');
  const chat = await newPage(browser, 'chat');
  await startChat(chat, 'Cy Angry', 'sales');
  await typeInChat(chat, 'Hello, thanks, you have been great and very helpful!');
  await typeInChat(chat, 'This is terrible and I am furious! I want a refund now!');
  await chat.locator('[data-testid="chat-message"][data-direction="inbound"]')
    .filter({ hasText: 'I want a refund now' }).waitFor({ timeout });

  log('another customer thanks; the wall filters the waiting contacts');
  const calm = await newPage(browser, 'calm');
  await startChat(calm, 'Dee Calm', 'sales');
  await typeInChat(calm, 'Thank you so much, the product works great and I love it!');
  const wall = await newPage(browser, 'wall');
  await signIn(wall, 'supervisor', 'supervisor');
  await wall.goto(`${deskUrl}/wall`);
  const rows = wall.locator('[data-testid="contacts"] li');
  await wall.locator('[data-testid="contacts"] li[data-intent="refund"][data-sentiment="negative"][data-lang="en"]')
    .waitFor({ timeout });
  await wall.locator('[data-testid="contacts"] li[data-sentiment="positive"]').waitFor({ timeout });
  await wall.locator('[data-testid^="facts-"][data-sentiment="negative"]').filter({ hasText: 'refund · negative · en' })
    .waitFor({ timeout });
  await wall.getByTestId('filter-intent').selectOption('refund');
  await wall.getByTestId('contact-count').filter({ hasText: /^1 of 2$/ }).waitFor({ timeout });
  let shown = await rows.evaluateAll((ls) => ls.filter((l) => !l.hidden).map((l) => l.dataset.intent));
  if (shown.join(',') !== 'refund') throw new Error(`intent refund shows ${shown}`);
  await wall.getByTestId('filter-intent').selectOption('');
  await wall.getByTestId('filter-sentiment').selectOption('positive');
  shown = await rows.evaluateAll((ls) => ls.filter((l) => !l.hidden).map((l) => l.dataset.sentiment));
  if (shown.join(',') !== 'positive') throw new Error(`sentiment positive shows ${shown}`);
  await wall.getByTestId('filter-sentiment').selectOption('');
  await wall.getByTestId('contact-count').filter({ hasText: /^2$/ }).waitFor({ timeout });
  if (shots) await wall.screenshot({ path: `${shots}/wall-filter.png` });

  log('the agent accepts and sees intent, language and the sentiment trend');
  const desk = await newPage(browser, 'desk');
  await signIn(desk, 'bob', 'Bob Okafor');
  await goAvailable(desk);
  const offer = desk.getByTestId('offer').filter({ has: desk.getByTestId('offer-customer').filter({ hasText: 'Cy Angry' }) });
  await offer.waitFor({ timeout });
  await offer.getByTestId('accept-button').click();
  await desk.getByTestId('customer-name').filter({ hasText: 'Cy Angry' }).waitFor({ timeout });
  await desk.getByTestId('conversation-intent').filter({ hasText: /^refund$/ }).waitFor({ timeout });
  await desk.getByTestId('conversation-lang').filter({ hasText: /^en$/ }).waitFor({ timeout });
  await desk.locator('[data-testid="sentiment-label"][data-tone="negative"]')
    .filter({ hasText: 'Negative' }).waitFor({ timeout });
  const dots = desk.locator('[data-testid="sentiment-trend"] .cx-dot');
  await desk.waitForFunction(
    () => document.querySelectorAll('[data-testid="sentiment-trend"] .cx-dot').length === 2,
    null, { timeout });
  const tones = await dots.evaluateAll((ds) => ds.map((d) => d.dataset.tone));
  if (tones.join(',') !== 'positive,negative') throw new Error(`the trend is ${tones}, expected positive then negative`);
  const alt = await desk.getByTestId('sentiment-trend').getAttribute('aria-label');
  if (!/last 2 messages, oldest first: .*positive, .*negative$/.test(alt || '')) {
    throw new Error(`the trend's text alternative says "${alt}"`);
  }
  // The bot's handoff box is for a bot's attributes, not enrichment's.
  if (await desk.getByTestId('bot-handoff').isVisible()) throw new Error('enrichment facts show as a handoff');

  log('"My conversations" shows the intent and a sentiment marker');
  await desk.getByTestId('conversation-item')
    .filter({ hasText: 'Cy Angry' })
    .locator('[data-testid="conversation-cx"][data-sentiment="negative"]')
    .filter({ hasText: 'refund · negative' })
    .waitFor({ timeout });
  if (shots) await desk.screenshot({ path: `${shots}/desk-sentiment.png` });

  log('a resolve with a check-in date shows the scheduled follow-up');
  const day = new Date();
  day.setDate(day.getDate() + 3);
  const iso = `${day.getFullYear()}-${String(day.getMonth() + 1).padStart(2, '0')}-${String(day.getDate()).padStart(2, '0')}`;
  await desk.getByTestId('followup-date').fill(iso);
  await desk.getByTestId('resolve-button').click();
  await desk.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });
  const followup = desk.locator('[data-testid="conversation-followup"][data-state="pending"]');
  await followup.filter({ hasText: 'Check-in scheduled for' }).filter({ hasText: 'by Bob Okafor' }).waitFor({ timeout });
  const text = await followup.textContent();
  const dayOfMonth = String(day.getDate());
  if (!text.includes(dayOfMonth)) throw new Error(`the follow-up says "${text}", not day ${dayOfMonth}`);
  // The follow-up's live event may draw its line before the resolve's
  // answer clears the field: wait for the field, then say if it stayed.
  await desk.waitForFunction(
    () => document.querySelector('[data-testid="followup-date"]')?.value === '',
    null, { timeout },
  ).catch(() => { throw new Error('the check-in date stays after resolve'); });
  if (shots) await desk.screenshot({ path: `${shots}/desk-followup.png` });

  log('the customer writes first: the open desk shows the check-in cancelled, without a reload');
  await desk.evaluate(() => { window.__sameDesk = true; });
  await typeInChat(chat, 'One more thing about my order');
  await desk.locator('[data-testid="conversation-followup"][data-state="cancelled"]')
    .filter({ hasText: 'not sent: the customer wrote first' })
    .waitFor({ timeout });
  if (!(await desk.evaluate(() => window.__sameDesk === true))) throw new Error('the desk page was reloaded');
  noCspViolations();
});

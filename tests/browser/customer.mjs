// Drives the agent desk's customer screens in a real Chromium: a chat
// customer writes and the agent accepts; in the customer profile the agent
// links the email address and phone number the customer gave; a text from
// that phone and an email to the conversation's reply address join the
// timeline with their channels, in order; the agent answers the email
// (Enter is a new line there, Ctrl+Enter sends) and replies by SMS chosen
// in the reply menu, and Twilio's status callbacks show on the reply; the
// agent merges in the customer known by another number, then undoes it.
// Verified links and merges are a supervisor's: the Rust test makes bob a
// supervisor (who still takes conversations) before the script starts.
//
// Started by the Rust e2e test `browser::customer::customer_screens_in_chromium`
// with CHAT_URL, DESK_URL, CHROMIUM_PATH (see harness.mjs), SMS_FROM (the
// contact center's number) and REPLY_DOMAIN; it answers the `ask` requests
// for what happens outside the browser: texts, emails and Twilio.

import {
  ask, chatUrl, goAvailable, log, newPage, required, scenario, shots, signIn, timeout,
} from './harness.mjs';

const smsFrom = required('SMS_FROM');
const replyDomain = required('REPLY_DOMAIN');

const jo = {
  name: 'Jo Customer',
  mailbox: 'Jo Customer <jo@example.org>',
  typedEmail: 'jo@Example.ORG',
  email: 'jo@example.org',
  typedPhone: '(415) 555-0123',
  phone: '+14155550123',
};
const workPhone = { typed: '(415) 555-0188', e164: '+14155550188' };
const firstWords = 'Hi, my order 1042 is late';
const contact = `You can reach me at ${jo.email} or ${jo.typedPhone}`;
const text = 'Texting from my phone now';
const mail = { subject: 'Order 1042', body: 'It still has not arrived.\n\n-- \nJo', shown: 'It still has not arrived.' };
const reply = 'It ships today, tracking follows.';
const emailReply = 'Dear Jo,\n\nthe parcel left our warehouse.';

/**
 * In the page: how many elements match `selector` (with `has` in their
 * text, if given), or with `want`, whether that many do.
 */
function matching([selector, has, want]) {
  const n = [...document.querySelectorAll(selector)]
    .filter((e) => !has || e.textContent.includes(has)).length;
  return want === undefined ? n : n === want;
}

/** Waits until `selector` matches `n` elements (with `text` in them, if given). */
async function count(page, selector, n, text = null) {
  try {
    await page.waitForFunction(matching, [selector, text, n], { timeout });
  } catch (e) {
    const got = await page.evaluate(matching, [selector, text]);
    throw new Error(`${got} elements match ${selector}${text ? ` with "${text}"` : ''}, not ${n}`);
  }
}

/**
 * In the page: the timeline as [channel badge, direction, text] rows, or
 * with `want`, whether it shows exactly those rows, in that order.
 */
function timelineRows(want) {
  const rows = [...document.querySelectorAll('[data-testid="timeline-message"]')].map((li) => [
    li.querySelector('[data-testid="channel-badge"]').textContent,
    li.dataset.direction,
    li.querySelector('[data-testid="message-text"]').textContent,
  ]);
  return want ? JSON.stringify(rows) === JSON.stringify(want) : rows;
}

/** Waits until the timeline shows exactly `rows`, in that order. */
async function timelineIs(desk, rows) {
  try {
    await desk.waitForFunction(timelineRows, rows, { timeout });
  } catch (e) {
    const got = await desk.evaluate(timelineRows, null);
    throw new Error(`the timeline shows ${JSON.stringify(got)}, not ${JSON.stringify(rows)}`);
  }
}

/** Links an identity through the profile's link form and waits for it in the header. */
async function link(desk, kind, typed, shown, evidence) {
  await desk.getByTestId('link-kind').selectOption(kind);
  await desk.getByTestId('link-value').fill(typed);
  await desk.getByTestId('link-evidence').fill(evidence);
  await desk.getByTestId('link-button').click();
  await desk.locator(`[data-testid="customer-identity"][data-kind="${kind}"]`)
    .filter({ hasText: shown }).waitFor({ timeout });
  await desk.getByTestId('identity-source')
    .filter({ hasText: `${shown}: ${evidence} (bob,` }).waitFor({ timeout });
}

await scenario(async (browser) => {
  const desk = await newPage(browser, 'desk');
  const chat = await newPage(browser, 'chat');

  // bob has sales skills only: the work phone's text (support queue) is never offered to him.
  log('bob, a supervisor who takes conversations, signs in and goes available');
  await signIn(desk, 'bob', 'Bob Okafor');
  await desk.getByTestId('role-badge').filter({ hasText: 'supervisor' }).waitFor({ timeout });
  await goAvailable(desk);

  log('a chat customer writes; the agent accepts');
  await chat.goto(chatUrl);
  await chat.getByTestId('name-input').fill(jo.name);
  await chat.getByTestId('topic-select').selectOption('sales');
  await chat.getByTestId('start-button').click();
  await chat.getByTestId('chat-input').fill(firstWords);
  await chat.getByTestId('chat-input').press('Enter');
  await desk.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await desk.getByTestId('conversation-view').waitFor({ state: 'visible', timeout });
  await desk.getByTestId('customer-name').filter({ hasText: jo.name }).waitFor({ timeout });
  await chat.getByTestId('chat-input').fill(contact);
  await chat.getByTestId('chat-input').press('Enter');
  await timelineIs(desk, [['chat', 'inbound', firstWords], ['chat', 'inbound', contact]]);
  await count(desk, '[data-testid="customer-identity"]', 1);
  await count(desk, '[data-testid="customer-identity"][data-kind="chat_visitor"]', 1);

  log('the agent opens the customer profile and links the email address');
  await desk.getByTestId('profile-toggle').click();
  await desk.getByTestId('link-form').waitFor({ state: 'visible', timeout });
  await link(desk, 'email', jo.typedEmail, jo.email, 'given by the customer in chat');

  log('the agent links the phone number');
  await link(desk, 'phone', jo.typedPhone, jo.phone, 'given by the customer in chat');
  await count(desk, '[data-testid="customer-identity"]', 3);
  // Both can now be chosen for a reply.
  await count(desk, '[data-testid="reply-channel"] option[value="email"]', 1);
  await count(desk, '[data-testid="reply-channel"] option[value="sms"]', 1);

  log('a text from that phone joins the conversation');
  await ask('text', { from: jo.phone, body: text });
  await timelineIs(desk, [
    ['chat', 'inbound', firstWords], ['chat', 'inbound', contact], ['SMS', 'inbound', text],
  ]);
  // bob's load line counts the conversation on SMS now, where he has no
  // capacity but keeps it (continuity first).
  await count(desk, '[data-testid="load"]', 1, 'chat 0/2 · email 0/5 · sms 1/0');

  log('an email to the reply address joins it too, after the text');
  const replyAddress = (await desk.getByTestId('reply-address').textContent()).trim();
  if (!replyAddress.startsWith('reply+') || !replyAddress.endsWith(`@${replyDomain}`)) {
    throw new Error(`the desk shows the reply address ${JSON.stringify(replyAddress)}`);
  }
  for (const width of [1024, 390]) {
    await desk.setViewportSize({ width, height: 800 });
    const overflow = await desk.evaluate(() => {
      const address = document.querySelector('[data-testid="reply-address"]').getBoundingClientRect();
      const head = document.querySelector('.cv-head');
      return address.right > document.documentElement.clientWidth || head.scrollWidth > head.clientWidth;
    });
    if (overflow) throw new Error(`the reply address overflows the header at ${width} px`);
  }
  await desk.setViewportSize({ width: 1280, height: 720 });
  await ask('email', {
    from: jo.mailbox, to: replyAddress, message_id: '<jo-1@example.org>', subject: mail.subject, body: mail.body,
  });
  await timelineIs(desk, [
    ['chat', 'inbound', firstWords],
    ['chat', 'inbound', contact],
    ['SMS', 'inbound', text],
    ['email', 'inbound', mail.shown],
  ]);
  await desk.locator('[data-testid="timeline-message"][data-channel="email"]')
    .getByTestId('message-subject').filter({ hasText: mail.subject }).waitFor({ timeout });
  await desk.locator('[data-testid="conversation-channel"] [data-channel="email"]').waitFor({ timeout });
  // ... and on email after the email, SMS gone from the line.
  await count(desk, '[data-testid="load"]', 1, 'chat 0/2 · email 1/5');
  await count(desk, '[data-testid="load"]', 0, 'sms');
  if (shots) await desk.screenshot({ path: `${shots}/desk-timeline.png`, fullPage: true });

  log('an email reply: Enter is a new line, Ctrl+Enter sends it; the hint says so');
  const input = desk.getByTestId('reply-input');
  const outbound = desk.locator('[data-testid="timeline-message"][data-direction="outbound"]');
  await desk.getByTestId('reply-hint').filter({ hasText: 'Enter for a new line · Ctrl+Enter to send' }).waitFor({ timeout });
  await input.fill('Dear Jo,');
  await input.press('Enter');
  await input.press('Enter');
  await input.pressSequentially('the parcel left our warehouse.');
  const written = await input.inputValue();
  if (written !== emailReply) throw new Error(`Enter did not make new lines: ${JSON.stringify(written)}`);
  if (await outbound.count() !== 0) throw new Error('Enter sent a half-written email');
  await input.press('Control+Enter');
  await outbound.filter({ hasText: 'the parcel left our warehouse.' }).locator('[data-channel="email"]').waitFor({ timeout });

  log('the agent replies by SMS, chosen in the reply menu');
  // The default follows the channel the customer used last.
  await count(desk, '[data-testid="reply-channel"] option[value=""]', 1, 'Same channel (email)');
  await desk.getByTestId('reply-channel').selectOption('sms');
  await desk.getByTestId('reply-hint').filter({ hasText: 'Enter to send · Shift+Enter for a new line' }).waitFor({ timeout });
  // 671 Cyrillic letters are UCS-2: 11 segments of 67, one over sms.max_segments (10).
  await desk.getByTestId('reply-input').fill('ж'.repeat(671));
  await desk.getByTestId('reply-limit').filter({ hasText: 'Too long for SMS: cut 1 character to send.' }).waitFor({ timeout });
  if (await desk.getByTestId('reply-button').isEnabled()) throw new Error('Send is enabled over the SMS limit');
  await desk.getByTestId('reply-input').fill(reply);
  await desk.getByTestId('reply-limit').waitFor({ state: 'hidden', timeout });
  await desk.getByTestId('reply-button').click();
  const sent = desk.locator('[data-testid="timeline-message"][data-direction="outbound"]').filter({ hasText: reply });
  await sent.locator('[data-channel="sms"]').waitFor({ timeout });
  await sent.locator('[data-testid="message-delivery"][data-delivery="queued"]').waitFor({ timeout });

  log('the reply reaches Twilio, to the linked number');
  const { messages } = await ask('twilio_sent', { count: 1 });
  const [sms] = messages;
  if (messages.length !== 1 || sms.to !== jo.phone || sms.from !== smsFrom || sms.body !== reply) {
    throw new Error(`Twilio was sent ${JSON.stringify(messages)}`);
  }

  log("Twilio's status callbacks show on the reply: sent, then delivered");
  await ask('twilio_status', { sid: sms.sid, status: 'sent' });
  await sent.locator('[data-testid="message-delivery"][data-delivery="sent"]').filter({ hasText: 'sent' }).waitFor({ timeout });
  await ask('twilio_status', { sid: sms.sid, status: 'delivered' });
  await sent.locator('[data-testid="message-delivery"][data-delivery="delivered"]').filter({ hasText: 'delivered' }).waitFor({ timeout });
  // Every message of the conversation, in order: the merge and its undoing
  // leave it as it is.
  const wholeTimeline = [
    ['chat', 'inbound', firstWords],
    ['chat', 'inbound', contact],
    ['SMS', 'inbound', text],
    ['email', 'inbound', mail.shown],
    ['email', 'outbound', emailReply],
    ['SMS', 'outbound', reply],
  ];
  await timelineIs(desk, wholeTimeline);

  log('a customer known by another number is merged into this one');
  await ask('text', { from: workPhone.e164, body: 'Jo here, from my work phone' });
  await count(desk, '[data-testid="profile-conversation"]', 1);
  await desk.getByTestId('merge-kind').selectOption('phone');
  await desk.getByTestId('merge-value').fill(workPhone.typed);
  await desk.getByTestId('merge-evidence').fill('the customer says the work phone is theirs');
  await desk.getByTestId('merge-button').click();
  await desk.getByTestId('customer-identity').filter({ hasText: workPhone.e164 }).waitFor({ timeout });
  await desk.getByTestId('profile-merge').filter({ hasText: `Merged ${workPhone.e164}` }).waitFor({ timeout });
  await count(desk, '[data-testid="customer-identity"]', 4);
  await count(desk, '[data-testid="profile-conversation"]', 2);
  if (shots) await desk.screenshot({ path: `${shots}/desk-merged.png`, fullPage: true });

  log('the agent undoes the merge');
  desk.once('dialog', async (dialog) => {
    if (dialog.type() === 'prompt') await dialog.accept('the work phone is a colleague, not Jo');
    else await dialog.dismiss();
  });
  await desk.getByTestId('unmerge-button').click();
  await count(desk, '[data-testid="profile-merge"]', 0);
  await count(desk, '[data-testid="customer-identity"]', 0, workPhone.e164);
  await count(desk, '[data-testid="customer-identity"]', 3);
  await count(desk, '[data-testid="profile-conversation"]', 1);
  await timelineIs(desk, wholeTimeline);
});

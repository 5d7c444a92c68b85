// An agent's desk through a shift: Alice holds three conversations at once
// on two channels (two chats and an email), each with its channel badge;
// a message in a conversation she is not looking at marks it unread until
// she opens it; switching keeps each conversation's draft; she sees the
// customer typing, and the customer sees her typing and that she has read
// their messages. She attaches a file to her email reply to Ana: the
// customer's mailbox gets it as a MIME attachment of the threaded reply
// ("Re:" subject, her message quoted under it),
// and a chat reply cannot carry one.
//
// Started by the Rust e2e test `browser::deskflow` with CHAT_URL, DESK_URL,
// CHROMIUM_PATH and SUPPORT_ADDRESS (the email adapter's address); it asks
// the test to send mail (`email`) and for the mails the relay got
// (`relay_mail`).

import {
  ask, goAvailable, log, newPage, required, scenario, signIn, startChat, timeout, typeInChat,
} from './harness.mjs';

const supportAddress = required('SUPPORT_ADDRESS');

/** The conversation list's item for customer `name`. */
const item = (desk, name) => desk.getByTestId('conversation-item').filter({ hasText: name });

/** Accepts the offer for customer `name` and waits for it in the list. */
async function accept(desk, name) {
  const offer = desk.getByTestId('offer').filter({ has: desk.getByTestId('offer-customer').filter({ hasText: name }) });
  await offer.waitFor({ timeout });
  await offer.getByTestId('accept-button').click();
  await item(desk, name).waitFor({ timeout });
}

/** Opens the conversation of customer `name` from the list. */
async function open(desk, name) {
  await item(desk, name).click();
  await desk.getByTestId('customer-name').filter({ hasText: name }).waitFor({ timeout });
}

/** Waits until `name`'s list item is (or is not) marked unread. */
async function unread(desk, name, want) {
  await desk.locator(`[data-testid="conversation-item"][data-unread="${want}"]`).filter({ hasText: name }).waitFor({ timeout });
  const marker = item(desk, name).locator('.conv-unread');
  if (await marker.isHidden() === want) throw new Error(`${name}'s "(unread)" label is ${want ? 'hidden' : 'shown'}`);
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
  log('alice signs in and goes available');
  await signIn(desk, 'alice', 'Alice Martin');
  await goAvailable(desk);

  log('two chat customers and one email: alice accepts all three');
  const priya = await newPage(browser, 'priya');
  await startChat(priya, 'Priya Patel', 'sales');
  await typeInChat(priya, 'Hello, I need help with my order');
  await accept(desk, 'Priya Patel');
  // The first conversation accepted opens by itself.
  await desk.getByTestId('customer-name').filter({ hasText: 'Priya Patel' }).waitFor({ timeout });

  const tomas = await newPage(browser, 'tomas');
  await startChat(tomas, 'Tomás Silva', 'sales');
  await typeInChat(tomas, 'Do you ship to Lisbon?');
  await accept(desk, 'Tomás Silva');

  await ask('email', {
    from: 'Ana Costa <ana@example.net>', to: supportAddress, message_id: '<ana-1@example.net>',
    subject: 'Invoice for order 42', body: 'Could you send me the invoice again?',
  });
  await accept(desk, 'Ana Costa');
  await desk.getByTestId('conversation-count').filter({ hasText: '3' }).waitFor({ timeout });

  log('each conversation shows its channel badge');
  for (const [name, channel] of [['Priya Patel', 'chat'], ['Tomás Silva', 'chat'], ['Ana Costa', 'email']]) {
    await item(desk, name).locator(`.badge[data-channel="${channel}"]`).waitFor({ timeout });
  }
  await desk.getByTestId('load').filter({ hasText: 'chat 2/3' }).waitFor({ timeout });

  log('a message in a conversation alice is not looking at marks it unread, until she opens it');
  await open(desk, 'Priya Patel');
  await typeInChat(tomas, 'Also, is there a warranty?');
  await unread(desk, 'Tomás Silva', true);
  await unread(desk, 'Priya Patel', false);

  log('switching conversations keeps each draft');
  await desk.getByTestId('reply-input').fill('Your order left on Monday');
  await open(desk, 'Tomás Silva');
  await unread(desk, 'Tomás Silva', false);
  await draftIs(desk, '', 'Tomás opened');
  await desk.getByTestId('reply-input').fill('Yes, two years');
  await open(desk, 'Ana Costa');
  await draftIs(desk, '', 'Ana opened');
  await desk.getByTestId('reply-input').fill('Here is your invoice');
  await open(desk, 'Priya Patel');
  await draftIs(desk, 'Your order left on Monday', 'back to Priya');
  await open(desk, 'Tomás Silva');
  await draftIs(desk, 'Yes, two years', 'back to Tomás');
  await open(desk, 'Ana Costa');
  await draftIs(desk, 'Here is your invoice', 'back to Ana');

  log('alice has seen Priya\'s message: Priya\'s page marks it read');
  await open(desk, 'Priya Patel');
  const first = priya.locator('[data-testid="chat-message"][data-direction="inbound"]').filter({ hasText: 'Hello, I need help' });
  await first.getByTestId('read-mark').waitFor({ timeout });

  log('Priya types: alice sees it in Priya\'s conversation, not in another');
  await priya.getByTestId('chat-input').pressSequentially('One more thing', { delay: 20 });
  await desk.getByTestId('customer-typing').filter({ hasText: 'Priya Patel is typing…' }).waitFor({ timeout });
  await open(desk, 'Tomás Silva');
  await desk.getByTestId('customer-typing').waitFor({ state: 'hidden', timeout });
  await open(desk, 'Priya Patel');

  log('Priya sends it: the indicator goes, the message is read at once since alice has it open');
  await priya.getByTestId('chat-input').press('Enter');
  await desk.getByTestId('timeline').filter({ hasText: 'One more thing' }).waitFor({ timeout });
  await desk.getByTestId('customer-typing').waitFor({ state: 'hidden', timeout });
  const second = priya.locator('[data-testid="chat-message"][data-direction="inbound"]').filter({ hasText: 'One more thing' });
  await second.getByTestId('read-mark').waitFor({ timeout });
  // Tomás's new message was read too once alice opened his conversation; Ana's is an email (no read receipts).
  await tomas.locator('[data-testid="chat-message"][data-direction="inbound"]').filter({ hasText: 'warranty' })
    .getByTestId('read-mark').waitFor({ timeout });

  log('alice types: Priya sees "Alice Martin is typing…", gone once the reply arrives');
  await desk.getByTestId('reply-input').pressSequentially(' and should arrive today', { delay: 20 });
  await priya.getByTestId('agent-typing').filter({ hasText: 'Alice Martin is typing…' }).waitFor({ timeout });
  const tomasTyping = await tomas.getByTestId('agent-typing').isVisible();
  if (tomasTyping) throw new Error('Tomás sees alice typing in Priya\'s conversation');
  await desk.getByTestId('reply-input').press('Enter');
  await priya.locator('[data-testid="chat-message"][data-direction="outbound"]').filter({ hasText: 'should arrive today' }).waitFor({ timeout });
  await priya.getByTestId('agent-typing').waitFor({ state: 'hidden', timeout });

  log('the attach button shows only for an email reply; a chat reply cannot carry a file');
  await desk.getByTestId('attach-button').waitFor({ state: 'hidden', timeout });
  const invoice = '%PDF-1.4\n% invoice 42 for Ana Costa\n%%EOF\n';
  const refused = await desk.evaluate(async ([text]) => {
    const csrf = sessionStorage.getItem('omni.desk.csrf');
    const id = document.querySelector('[data-testid="conversation-view"]').dataset.conversationId;
    const res = await fetch('/api/conversations/' + encodeURIComponent(id) + '/messages', {
      method: 'POST', credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrf },
      body: JSON.stringify({ text: 'see file', client_id: 'file-on-chat', attachments: [{ name: 'a.pdf', content_type: 'application/pdf', data: btoa(text) }] }),
    });
    return { status: res.status, body: await res.json() };
  }, [invoice]);
  if (refused.status !== 409 || !/chat replies cannot carry files/.test(refused.body.message || '')) {
    throw new Error(`a file on a chat reply: ${JSON.stringify(refused)}`);
  }

  log('alice attaches the invoice to her email reply to Ana and sends it');
  await open(desk, 'Ana Costa');
  await desk.getByTestId('attach-button').waitFor({ timeout });
  await desk.getByTestId('attach-input').setInputFiles({ name: 'invoice-42.pdf', mimeType: 'application/pdf', buffer: Buffer.from(invoice) });
  await desk.getByTestId('attached-file').filter({ hasText: 'invoice-42.pdf' }).waitFor({ timeout });
  await desk.getByTestId('reply-input').fill('Here is your invoice, attached.');
  await desk.getByTestId('reply-button').click();
  await desk.getByTestId('timeline').getByTestId('attachment').filter({ hasText: 'invoice-42.pdf' }).waitFor({ timeout });
  await desk.getByTestId('attached-file').waitFor({ state: 'detached', timeout });

  log('the customer\'s mailbox gets the threaded reply with the file attached');
  const { mails } = await ask('relay_mail', { count: 1 });
  const mail = mails[0];
  if (!mail.to.includes('ana@example.net')) throw new Error(`the reply went to ${mail.to}`);
  if (mail.subject !== 'Re: Invoice for order 42') throw new Error(`subject ${JSON.stringify(mail.subject)}`);
  if (!/^multipart\/mixed/.test(mail.content_type)) throw new Error(`content type ${mail.content_type}`);
  if (!mail.text.includes('Here is your invoice, attached.')) throw new Error(`text ${JSON.stringify(mail.text)}`);
  // Under the reply, the customer's message it answers, quoted as mail programs do.
  if (!/^On \d{4}-\d{2}-\d{2}, ana@example\.net wrote:\n> Could you send me the invoice again\?/.test(mail.quoted)) {
    throw new Error(`quoted ${JSON.stringify(mail.quoted)}`);
  }
  const file = mail.attachments[0] || {};
  if (mail.attachments.length !== 1 || file.name !== 'invoice-42.pdf' || file.content_type !== 'application/pdf'
    || Buffer.from(file.content_base64, 'base64').toString() !== invoice) {
    throw new Error(`the mail's attachments: ${JSON.stringify(mail.attachments)}`);
  }
});

// Drives the customer chat page in a real Chromium through the place in
// line a waiting customer sees:
// - three customers write to Sales while no agent is available: each sees
//   their number in line (1, 2, 3), and no estimate (the queue has
//   answered nobody yet);
// - Bob goes available (room for one chat): the first is offered and the
//   others move up;
// - Bob accepts: the first customer sees Bob join and no place any more;
// - Bob resolves: the next is offered and the last moves up to number 1;
// - an estimate, when the router sends one, shows as "about N minutes".
//
// Started by the Rust e2e test `browser::queuepos::queue_position_in_chromium`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); SCREENSHOTS=dir
// saves pictures.

import {
  chatUrl, goAvailable, log, newPage, noCspViolations, scenario, shots, signIn, timeout,
} from './harness.mjs';

/** Opens the chat as `name` on the Sales topic and sends `text`. */
async function write(chat, name, text) {
  await chat.goto(chatUrl);
  await chat.getByTestId('name-input').fill(name);
  await chat.getByTestId('topic-select').selectOption('sales');
  await chat.getByTestId('start-button').click();
  await chat.locator('[data-testid="connection-status"][data-state="connected"]').waitFor({ timeout });
  await chat.getByTestId('chat-input').fill(text);
  await chat.getByTestId('chat-input').press('Enter');
  await chat.locator('[data-testid="chat-message"][data-state="sent"]').filter({ hasText: text }).waitFor({ timeout });
}

/** The place-in-line text at `n`, exactly as the customer reads it. */
function place(chat, n, text = `You are number ${n} in line.`) {
  return chat.locator(`[data-testid="conversation-status"][data-status="waiting"] [data-testid="queue-position"][data-position="${n}"]`)
    .filter({ hasText: text });
}

await scenario(async (browser) => {
  log('three Sales customers write while no agent is available');
  const ann = await newPage(browser, 'ann');
  await write(ann, 'Ann First', 'First in line');
  await place(ann, 1).waitFor({ timeout });
  const bea = await newPage(browser, 'bea');
  await write(bea, 'Bea Second', 'Second in line');
  await place(bea, 2).waitFor({ timeout });
  const cal = await newPage(browser, 'cal');
  await write(cal, 'Cal Third', 'Third in line');
  await place(cal, 3).waitFor({ timeout });
  await ann.getByTestId('conversation-status').filter({ hasText: 'Waiting for an agent' }).waitFor({ timeout });
  if (shots) await cal.screenshot({ path: `${shots}/chat-queue-position.png` });

  log('Bob goes available: Ann is offered, Bea and Cal move up');
  const desk = await newPage(browser, 'desk');
  await signIn(desk, 'bob', 'Bob Okafor');
  await goAvailable(desk);
  await place(bea, 1).waitFor({ timeout });
  await place(cal, 2).waitFor({ timeout });

  log('Bob accepts: Ann sees Bob join and no place in line');
  await desk.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await ann.locator('[data-testid="conversation-status"][data-status="assigned"]')
    .filter({ hasText: 'You are chatting with Bob.' }).waitFor({ timeout });
  if (await ann.getByTestId('queue-position').count() !== 0) {
    throw new Error('the place in line still shows after the agent joined');
  }

  log('an estimate from the router shows as "about N minutes"');
  // The router estimates once the queue has answered a few; here the page
  // gets each real position frame with an estimate added.
  const dan = await newPage(browser, 'dan');
  await dan.routeWebSocket(/\/ws$/, (ws) => {
    const server = ws.connectToServer();
    ws.onMessage((text) => server.send(text));
    server.onMessage((text) => {
      const frame = JSON.parse(text);
      ws.send(frame.type === 'position' ? JSON.stringify({ ...frame, expected_wait_secs: 130 }) : text);
    });
  });
  await write(dan, 'Dan Fourth', 'Fourth, with an estimate');
  await place(dan, 3, 'You are number 3 in line (about 2 minutes).').waitFor({ timeout });

  log('Bob resolves Ann: Bea is offered, Cal and Dan move up');
  await desk.getByTestId('resolve-button').click();
  await ann.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });
  await place(cal, 1).waitFor({ timeout });
  await place(dan, 2, 'You are number 2 in line (about 2 minutes).').waitFor({ timeout });

  log('nothing the page needed was blocked by its CSP');
  noCspViolations();
});

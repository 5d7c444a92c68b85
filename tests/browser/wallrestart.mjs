// The supervisor's wall across a restart of the desk, in a real Chromium:
// - the wall is live: Ann writes to Sales and the waiting count shows 1;
//   Support, closed on holidays, shows when it opens (SUPPORT_HOURS, e.g.
//   "closed, opens Wed 09:00 Europe/Madrid"); Sales, always open, shows no
//   hours;
// - the app (the desk with it) stops: the open wall says "reconnecting";
// - the app starts again on the same ports: the same page, not reloaded,
//   is live again with the waiting count restored (1), and it rises to 2
//   when Bea writes after the restart; Support's hours show again.
//
// Started by the Rust e2e test `browser::wallrestart::wall_recovers_after_a_restart`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); it asks the
// test to `stop` and `start` the app.

import {
  ask, deskUrl, log, newPage, required, scenario, signIn, startChat, timeout, typeInChat,
} from './harness.mjs';

const supportHours = required('SUPPORT_HOURS');

/** Waits until the wall's cell `testid` reads exactly `text`. */
async function cell(wall, testid, text) {
  await wall.locator(`[data-testid="${testid}"]`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout });
}

/** Waits until the wall's connection state is `state` and returns its text. */
async function state(wall, state) {
  const status = wall.locator(`[data-testid="wall-status"][data-state="${state}"]`);
  await status.waitFor({ timeout });
  return status.textContent();
}

await scenario(async (browser) => {
  log('the supervisor opens the wall; Ann writes to Sales');
  const wall = await newPage(browser, 'wall');
  await signIn(wall, 'supervisor', 'supervisor');
  await wall.goto(`${deskUrl}/wall`);
  await state(wall, 'connected');
  await cell(wall, 'waiting-sales', '0');
  await cell(wall, 'hours-support', supportHours);
  const salesHours = await wall.getByTestId('hours-sales').count();
  if (salesHours !== 0) throw new Error('Sales, without hours, shows hours');
  const ann = await newPage(browser, 'ann');
  await startChat(ann, 'Ann Restart', 'sales');
  await typeInChat(ann, 'Ann asks before the restart');
  await cell(wall, 'waiting-sales', '1');
  // Marks this page: a reload would lose the mark.
  await wall.evaluate(() => { window.sameWall = true; });

  log('the desk stops: the wall says reconnecting');
  await ask('stop');
  const down = await state(wall, 'reconnecting');
  if (!/reconnecting/i.test(down)) throw new Error(`the wall while the desk is down says "${down}"`);

  log('the desk starts again: the same page is live with the numbers restored');
  await ask('start');
  await state(wall, 'connected');
  await cell(wall, 'waiting-sales', '1');
  if (!(await wall.evaluate(() => window.sameWall === true))) throw new Error('the wall was reloaded');

  log('Bea writes after the restart: the count rises live');
  const bea = await newPage(browser, 'bea');
  await startChat(bea, 'Bea Restart', 'sales');
  await typeInChat(bea, 'Bea asks after the restart');
  await cell(wall, 'waiting-sales', '2');
  await cell(wall, 'hours-support', supportHours);
});

// Drives the supervisor's wall (/wall) in a real Chromium:
// - nobody signed in is sent to sign in; an agent is refused (403); the
//   wall's strict Content-Security-Policy holds;
// - Ann and Bea write to Sales while nobody is available: the wall's
//   waiting count rises to 2, live;
// - Bob (one chat at a time) goes available: Ann is offered to him and the
//   waiting count falls to 1; he accepts: answered today shows 1;
// - Carmen (no Sales skill) goes available; the supervisor moves Bea to
//   her from the wall: the count falls to 0, Carmen accepts, the wall shows
//   Bea's conversation held by Carmen;
// - the supervisor sets Bob away with a reason: the wall and Bob's desk
//   show it;
// - the wall passes the accessibility check (axe-core) at 1366x768;
// - the supervisor reads Ann's conversation (its text, its trace id) and
//   why it went to Bob: the router's decisions with the rule that won;
// - Bob resolves Ann's chat, Ann answers its survey with 5 (a button):
//   the wall's survey section shows Sales and Bob at 100% CSAT and a
//   100% response rate (one sent, one answered), and the
//   export form links the CSV of a period.
//
// Started by the Rust e2e test `browser::wall::wall_in_chromium` with
// CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); SCREENSHOTS=dir
// saves a picture of the wall.

import {
  checkCsp, deskUrl, goAvailable, log, newPage, noCspViolations, scenario, shots, signIn,
  startChat, timeout, typeInChat,
} from './harness.mjs';
import { checkA11y } from './a11y.mjs';

/** Waits until the wall's cell `testid` reads exactly `text`. */
async function cell(wall, testid, text) {
  await wall.locator(`[data-testid="${testid}"]`).filter({ hasText: new RegExp(`^${text}$`) }).waitFor({ timeout });
}

/** The conversation ids of the wall's waiting list, oldest first. */
async function waitingIds(wall) {
  return wall.locator('[data-testid="contacts"] li .id').allTextContents();
}

await scenario(async (browser) => {
  log('nobody signed in is sent to sign in; an agent is refused');
  const anon = await newPage(browser, 'anon');
  await anon.goto(`${deskUrl}/wall`);
  if (new URL(anon.url()).pathname !== '/') throw new Error(`no session: landed on ${anon.url()}`);
  const agent = await newPage(browser, 'alice');
  await signIn(agent, 'alice', 'Alice Martin');
  if (await agent.getByTestId('wall-link').isVisible()) throw new Error('an agent is shown the wall link');
  const refused = await agent.goto(`${deskUrl}/wall`);
  if (refused.status() !== 403) throw new Error(`an agent opening the wall got ${refused.status()}`);

  log('the supervisor opens the wall under its CSP');
  const wall = await newPage(browser, 'wall');
  await signIn(wall, 'supervisor', 'supervisor');
  await wall.getByTestId('wall-link').waitFor({ timeout });
  const response = await wall.goto(`${deskUrl}/wall`);
  await checkCsp(wall, response);
  await wall.locator('[data-testid="wall-status"][data-state="connected"]').waitFor({ timeout });
  await cell(wall, 'waiting-sales', '0');

  log('two customers write to Sales: the waiting count rises');
  const ann = await newPage(browser, 'ann');
  await startChat(ann, 'Ann Wall', 'sales');
  await typeInChat(ann, 'Ann asks about prices');
  await cell(wall, 'waiting-sales', '1');
  const bea = await newPage(browser, 'bea');
  await startChat(bea, 'Bea Wall', 'sales');
  await typeInChat(bea, 'Bea asks about delivery');
  await cell(wall, 'waiting-sales', '2');

  log('the wall passes the accessibility check on a laptop screen');
  await wall.setViewportSize({ width: 1366, height: 768 });
  await checkA11y(wall, 'the wall (two waiting)');
  await wall.locator('[data-testid="contacts"] li').nth(1).waitFor({ timeout });
  const [annId, beaId] = await waitingIds(wall);

  log('Bob goes available and takes Ann: the count falls, answered rises');
  const bob = await newPage(browser, 'bob');
  await signIn(bob, 'bob', 'Bob Okafor');
  await goAvailable(bob);
  await cell(wall, 'waiting-sales', '1');
  await cell(wall, 'offered-sales', '1');
  await bob.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await cell(wall, 'answered-sales', '1');
  await wall.locator(`[data-testid="held-bob-${annId}"]`).waitFor({ timeout });
  await cell(wall, 'agents-sales', '0 / 1 / 0');

  log('the supervisor moves Bea to Carmen, who has no Sales skill');
  const carmen = await newPage(browser, 'carmen');
  await signIn(carmen, 'carmen', 'Carmen Ruiz');
  await goAvailable(carmen);
  await wall.locator('[data-testid="presence-carmen"]').filter({ hasText: 'available' }).waitFor({ timeout });
  await wall.getByTestId(`move-${beaId}`).click();
  await wall.getByTestId('move-agent').selectOption('carmen');
  await wall.getByTestId('move-submit').click();
  await cell(wall, 'waiting-sales', '0');
  await carmen.getByTestId('offer').first().getByTestId('accept-button').click({ timeout });
  await wall.locator(`[data-testid="held-carmen-${beaId}"]`).waitFor({ timeout });
  await cell(wall, 'transferred-sales', '1');

  log('the supervisor sets Bob away, saying why');
  await wall.getByTestId('set-presence-bob').click();
  await wall.getByTestId('presence-choice').selectOption('away');
  await wall.getByTestId('presence-reason').fill('coaching');
  await wall.getByTestId('presence-submit').click();
  await wall.locator('[data-testid="presence-bob"]').filter({ hasText: 'away (coaching)' }).waitFor({ timeout });
  await bob.getByTestId('away-reason').filter({ hasText: 'coaching' }).waitFor({ timeout });

  log("the supervisor reads Ann's conversation and its trace id");
  await wall.getByTestId(`read-${annId}`).click();
  await wall.getByTestId('timeline').filter({ hasText: 'Ann asks about prices' }).waitFor({ timeout });
  const trace = await wall.getByTestId('trace-id').textContent();
  if (!/^trace [0-9a-f]{32}$/.test(trace)) throw new Error(`no trace id shown: ${trace}`);

  log('why Ann went to Bob: the decisions and the rule that won');
  await wall.getByTestId(`why-${annId}`).click();
  const offered = wall.locator('[data-testid="decisions"] [data-testid="decision-offered"]').filter({ hasText: 'bob' });
  await offered.first().waitFor({ timeout });
  const text = await offered.first().textContent();
  if (!/proficiency|occupancy|idle|preferred|only_eligible/.test(text)) throw new Error(`no winning rule in: ${text}`);
  await wall.locator('[data-testid="decisions"] [data-testid="decision-assigned"]').waitFor({ timeout });
  if (shots) await wall.screenshot({ path: `${shots}/wall.png`, fullPage: true });

  log("Bob resolves Ann's chat; Ann rates it 5; the wall's surveys show it");
  await bob.getByTestId('resolve-button').click();
  const scores = ann.getByRole('group', { name: 'Replies you can choose' });
  await scores.getByRole('button', { name: '5', exact: true }).click({ timeout });
  // The section polls every 30 s: open the wall again rather than wait.
  // A row shows once the survey is sent; its answer comes a moment later.
  const surveyCells = async (testid) => {
    let cells = [];
    for (let i = 0; i < 20; i += 1) {
      await wall.goto(`${deskUrl}/wall`);
      const row = wall.locator(`[data-testid="${testid}"]`);
      try {
        await row.waitFor({ timeout: 2000 });
        cells = await row.locator('td').allTextContents();
        if (cells[3] === '1') return cells;
      } catch (_) { /* not sent yet */ }
    }
    throw new Error(`no answer in survey row ${testid}: ${JSON.stringify(cells)}`);
  };
  const salesCells = await surveyCells('survey-queue-sales');
  if (salesCells[0] !== '100') throw new Error(`Sales' survey row: ${JSON.stringify(salesCells)}`);
  // One survey sent, one answered: a response rate of 100%.
  if (salesCells[4] !== '100%') throw new Error(`Sales' response rate: ${JSON.stringify(salesCells)}`);
  const bobCells = await surveyCells('survey-agent-bob');
  if (bobCells[0] !== '100' || bobCells[4] !== '100%') throw new Error(`Bob's survey row: ${JSON.stringify(bobCells)}`);
  const rateHeader = await wall.getByTestId('survey-queues').locator('thead th').nth(5).textContent();
  if (rateHeader !== 'Response rate') throw new Error(`the rate column is headed ${rateHeader}`);
  const action = await wall.getByTestId('survey-export').getAttribute('action');
  if (action !== '/api/surveys.csv') throw new Error(`the export form goes to ${action}`);
  const csv = await wall.evaluate(async () => {
    const day = new Date().toISOString().slice(0, 10);
    const r = await fetch(`/api/surveys.csv?from=${day}&to=${day}`);
    return r.text();
  });
  if (!csv.includes(`${annId},sales,bob,chat,csat,5`)) throw new Error(`the export lacks Ann's score: ${csv}`);

  log('nothing the wall needed was blocked by its CSP');
  noCspViolations();
});

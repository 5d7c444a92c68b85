// A conversation's survey on the conversation in the desk, in a real
// Chromium: Bob resolves Sue's chat of Sales (CSAT, with a comment); the
// conversation's head says "Survey sent, no answer yet"; Sue picks 4 among
// the chat's buttons and adds "Quick and kind"; Bob's open desk shows
// "Survey: CSAT 4/5 · “Quick and kind”" without a reload, and the desk
// passes the accessibility check (axe-core) with the line shown.
//
// Started by the Rust e2e test `browser::surveyview::the_desk_shows_the_survey_answer_on_the_conversation`
// with CHAT_URL, DESK_URL and CHROMIUM_PATH (see harness.mjs); SCREENSHOTS=dir
// saves pictures.

import { checkA11y } from './a11y.mjs';
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
  log('Sue asks Sales; Bob takes the chat');
  const chat = await newPage(browser, 'chat');
  await startChat(chat, 'Sue Rater', 'sales');
  await typeInChat(chat, 'I would like a bike');
  const desk = await newPage(browser, 'desk');
  await signIn(desk, 'bob', 'Bob Okafor');
  await goAvailable(desk);
  const offer = desk.getByTestId('offer').filter({ has: desk.getByTestId('offer-customer').filter({ hasText: 'Sue Rater' }) });
  await offer.waitFor({ timeout });
  await offer.getByTestId('accept-button').click();
  await desk.getByTestId('customer-name').filter({ hasText: 'Sue Rater' }).waitFor({ timeout });
  const line = desk.getByTestId('conversation-survey');
  if (await line.isVisible()) throw new Error('a survey shows before the resolve');

  log('Bob resolves: the survey goes out and the head says so');
  await desk.evaluate(() => { window.__sameDesk = true; });
  await desk.getByTestId('resolve-button').click();
  await desk.locator('[data-testid="conversation-status"][data-status="resolved"]').waitFor({ timeout });
  await desk.locator('[data-testid="conversation-survey"][data-phase="asked"]')
    .filter({ hasText: /^Survey sent, no answer yet$/ }).waitFor({ timeout });

  log('Sue rates 4 and says why; Bob\'s desk shows it live');
  const scores = chat.getByRole('group', { name: 'Replies you can choose' });
  await scores.getByRole('button', { name: '4', exact: true }).click({ timeout });
  await desk.locator('[data-testid="conversation-survey"][data-phase="answered"]')
    .filter({ hasText: /^Survey: CSAT 4\/5$/ }).waitFor({ timeout });
  await typeInChat(chat, 'Quick and kind');
  await desk.locator('[data-testid="conversation-survey"][data-phase="answered"]')
    .filter({ hasText: /^Survey: CSAT 4\/5 · “Quick and kind”$/ }).waitFor({ timeout });
  if (!(await desk.evaluate(() => window.__sameDesk === true))) throw new Error('the desk page was reloaded');
  if ((await line.getAttribute('role')) !== 'status') throw new Error('the survey line is not announced');
  await checkA11y(desk, 'the desk (a survey answered)');
  if (shots) await desk.screenshot({ path: `${shots}/desk-survey.png` });
  noCspViolations();
});

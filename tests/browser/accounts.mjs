// Accounts in the desk page: a wrong password is refused with a clear
// message and keeps the form; an agent signs in with a password, sees no
// account list and is refused the admin API; sign-out ends the session; an
// admin sees the accounts and the dead letters; a supervisor (no agent work) sees their role
// without presence; with SESSION_EXPIRES set, an expired session sends the
// page back to sign-in with a message.

import {
  deskUrl, log, newPage, password, scenario, signIn, timeout,
} from './harness.mjs';

/** `fetch` from the page with its CSRF token; the answer's status. */
async function pageStatus(page, method, path) {
  return page.evaluate(async ([method, path]) => {
    const res = await fetch(path, {
      method,
      headers: { 'X-CSRF-Token': sessionStorage.getItem('omni.desk.csrf') || '' },
    });
    return res.status;
  }, [method, path]);
}

async function badge(page, role) {
  await page.getByTestId('role-badge').filter({ hasText: role }).waitFor({ timeout });
}

await scenario(async (browser) => {
  if (process.env.SESSION_EXPIRES) {
    log('an agent signs in');
    const desk = await newPage(browser, 'desk');
    await signIn(desk, 'alice', 'Alice Martin');
    log('the session expires (the app gives sessions a few seconds)');
    await new Promise((r) => setTimeout(r, Number(process.env.SESSION_EXPIRES) * 1000 + 1000));
    log('the next action finds the session ended and shows the sign-in form');
    await desk.getByTestId('presence-select').selectOption('away');
    await desk.getByTestId('error-bar').filter({ hasText: 'Your session has ended' }).waitFor({ timeout });
    await desk.getByTestId('signin-button').waitFor({ timeout });
    return;
  }

  log('a wrong password is refused and the form stays');
  const desk = await newPage(browser, 'desk');
  await desk.goto(deskUrl);
  await desk.getByTestId('agent-id-input').fill('alice');
  await desk.getByTestId('password-input').fill('not the password');
  await desk.getByTestId('signin-button').click();
  await desk.getByTestId('error-bar').filter({ hasText: 'unknown account or wrong password' }).waitFor({ timeout });
  if (!(await desk.getByTestId('signin-button').isVisible())) throw new Error('the sign-in form went away');
  if ((await desk.getByTestId('password-input').inputValue()) !== '') throw new Error('the wrong password stays in the field');

  log('no password: the page asks for one');
  await desk.getByTestId('signin-button').click();
  await desk.getByTestId('error-bar').filter({ hasText: 'Enter your password' }).waitFor({ timeout });

  log('an agent signs in with the password');
  await desk.getByTestId('password-input').fill(password);
  await desk.getByTestId('signin-button').click();
  await desk.getByTestId('agent-name').filter({ hasText: 'Alice Martin' }).waitFor({ timeout });
  await badge(desk, 'agent');
  await desk.getByTestId('connection-status').filter({ hasText: 'connected' }).waitFor({ timeout });
  if (await desk.getByTestId('admin-panel').isVisible()) throw new Error('an agent sees the account list');
  const cookieSeen = await desk.evaluate(() => document.cookie.includes('omni_session'));
  if (cookieSeen) throw new Error('the session cookie is readable by the page');
  const adminStatus = await pageStatus(desk, 'GET', '/api/admin/accounts');
  if (adminStatus !== 403) throw new Error(`an agent reading accounts got ${adminStatus}`);

  log('sign-out ends the session on the server too');
  await desk.getByTestId('signout-button').click();
  await desk.getByTestId('signin-button').waitFor({ timeout });
  const after = await pageStatus(desk, 'GET', '/api/me');
  if (after !== 401) throw new Error(`after sign-out /api/me answered ${after}`);

  log('an admin sees the accounts');
  const admin = await newPage(browser, 'admin');
  await signIn(admin, 'admin', 'admin');
  await badge(admin, 'admin');
  await admin.getByTestId('account').filter({ hasText: 'alice' }).first().waitFor({ timeout });
  await admin.getByTestId('account').filter({ hasText: 'supervisor' }).first().waitFor({ timeout });

  log('and the reply the app never took, as a dead letter');
  const dead = admin.getByTestId('dead-letter').filter({ hasText: 'Your parcel left the depot' });
  await dead.waitFor({ timeout });
  const line = await dead.textContent();
  if (!line.includes('app') || !line.includes('503')) throw new Error(`the dead letter shows ${line}`);
  if (await admin.getByTestId('deadletters-empty').isVisible()) throw new Error('"no dead letters" shows beside one');

  log('a supervisor sees their role, no presence and no account list');
  const sup = await newPage(browser, 'supervisor');
  await signIn(sup, 'supervisor', 'supervisor');
  await badge(sup, 'supervisor');
  if (await sup.getByTestId('presence-select').isVisible()) throw new Error('presence shows for a supervisor who is not an agent');
  if (await sup.getByTestId('admin-panel').isVisible()) throw new Error('a supervisor sees the account list');
  const supStatus = await pageStatus(sup, 'GET', '/api/admin/audit');
  if (supStatus !== 403) throw new Error(`a supervisor reading the audit log got ${supStatus}`);
});

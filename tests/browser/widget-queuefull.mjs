// A site's automatic answers in the customer's language: with room for one
// waiting conversation, a second customer in a Spanish browser, in the
// widget on the site's page, reads the queue-full answer in the site's
// Spanish (`[chat.sites.acme.text.es] queue_full`), not the service's
// English text.
//
// Started by the Rust e2e test `browser::widget::widget_queue_full_in_spanish`
// with HOST_PORT (the site's origin is http://127.0.0.2:HOST_PORT).

import { log, required, scenario, startChat, timeout, typeInChat } from './harness.mjs';
import { hostPage, scriptTag, serve, widget } from './widget-host.mjs';

const SPANISH = 'Todas las líneas están ocupadas: vuelve a escribirnos en unos minutos.';
const ENGLISH = 'Every line is busy: please write again in a few minutes.';

await scenario(async (browser) => {
  const chatUrl = required('CHAT_URL');
  const host = await serve('127.0.0.2', Number(required('HOST_PORT')), {
    '/': hostPage(scriptTag(chatUrl, 'data-site="acme"')),
  });
  try {
    log('the first customer waits in the queue');
    const first = await (await browser.newContext()).newPage();
    await startChat(first, 'Ada First', 'sales');
    await typeInChat(first, 'Hello, I need help');
    await first.locator('[data-testid="chat-message"][data-state="sent"]').first().waitFor({ timeout });

    log('a Spanish customer in the widget reads the queue-full answer in Spanish');
    const page = await (await browser.newContext({ locale: 'es-ES' })).newPage();
    await page.goto(`http://127.0.0.2:${required('HOST_PORT')}/`);
    const w = widget(page);
    await w.launcher.click();
    await w.frame.getByTestId('name-input').fill('Bea Segunda');
    await w.frame.getByTestId('start-button').click();
    await w.frame.getByTestId('chat-input').fill('Yo también');
    await w.frame.getByTestId('chat-input').press('Enter');
    const note = w.frame.locator('[data-testid="system-note"][data-kind="automatic"]');
    await note.first().waitFor({ timeout }).catch(async (e) => {
      throw new Error(`${e.message}; the chat shows: ${await w.frame.getByTestId('chat-log').textContent()}; the first: ${await first.getByTestId('chat-log').textContent()}`);
    });
    const shown = await note.first().textContent();
    if (shown !== SPANISH) throw new Error(`the automatic answer reads ${JSON.stringify(shown)}`);
    if (await note.filter({ hasText: ENGLISH }).count()) throw new Error('the English answer shows too');
  } finally {
    host.close();
  }
});

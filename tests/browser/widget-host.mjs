// A website that embeds the chat widget, for the browser scenarios and the
// screenshots: a tiny HTTP server on a loopback address of its own (an
// origin other than the chat's), its pages, and the widget's parts in a page.

import { createServer } from 'node:http';

/** A host page with `tag` (the widget's script tag): its own styles and a global the widget must not touch. */
export function hostPage(tag) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Acme shop</title><link rel="icon" href="data:,">
<style>button { background: rgb(255, 0, 0); } body { font-family: serif; margin: 2rem; }</style></head>
<body><main><h1>Acme shop</h1><p>Our products: anvils, rockets and giant magnets.</p></main>
<script>window.launcher = 'the host page\\'s own';</script>
${tag}</body></html>`;
}

/** The widget's script tag for the chat at `chatUrl`, with `attrs`. */
export function scriptTag(chatUrl, attrs) {
  return `<script src="${chatUrl}/widget.js" ${attrs} async></script>`;
}

/** Serves `pages` (path to HTML) on `ip`:`port` (0: any); resolves to the server. */
export function serve(ip, port, pages) {
  const server = createServer((req, res) => {
    const page = pages[new URL(req.url, 'http://x').pathname];
    res.writeHead(page ? 200 : 404, { 'content-type': 'text/html; charset=utf-8' });
    res.end(page || 'not found');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, ip, () => resolve(server));
  });
}

/** The widget's launcher (in its shadow root), its frame element and the frame's content. */
export function widget(page) {
  return {
    launcher: page.locator('[data-omniroute-widget] button'),
    iframe: page.locator('[data-omniroute-widget] iframe'),
    frame: page.frameLocator('[data-omniroute-widget] iframe'),
  };
}

/*
 * Omniroute's chat widget for any website:
 *
 *   <script src="https://chat.example/widget.js" data-site="acme" async></script>
 *
 * adds a launcher button that opens the chat in a frame. Optional
 * `data-lang="es"` sets the language (else the browser's). Everything the
 * widget adds lives in one element's shadow root, styled through
 * the DOM (no inline <style>, no global names), so the host page's styles,
 * scripts and Content-Security-Policy stay as they are (the host page's
 * policy must allow this script and framing the chat's origin). The site's
 * look comes from `/widget/site`; the chat server lets only the site's
 * configured origins read it and frame the chat.
 */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || script.getAttribute('data-omniroute-started')) return;
  script.setAttribute('data-omniroute-started', '1');
  var siteId = script.getAttribute('data-site') || '';
  var wanted = script.getAttribute('data-lang') || '';
  var base;
  try { base = new URL(script.src).origin; } catch (e) { return; }

  function warn(text) {
    if (window.console) window.console.warn('omniroute widget: ' + text);
  }
  function css(node, props) {
    Object.keys(props).forEach(function (k) { node.style.setProperty(k, props[k]); });
    return node;
  }
  function language() {
    var langs = [wanted].concat(navigator.languages || [navigator.language || '']);
    for (var i = 0; i < langs.length; i++) {
      var l = String(langs[i] || '').toLowerCase().split('-')[0];
      if (['en', 'es', 'fr', 'de'].indexOf(l) >= 0) return l;
    }
    return '';
  }

  function build(view) {
    var left = view.position === 'bottom-left';
    var phone = function () { return window.innerWidth < 520; };
    var host = document.createElement('div');
    host.setAttribute('data-omniroute-widget', siteId);
    css(host, { position: 'fixed', bottom: '0', 'z-index': '2147483000' });
    css(host, left ? { left: '0' } : { right: '0' });
    var root = host.attachShadow({ mode: 'open' });

    var launcher = document.createElement('button');
    launcher.type = 'button';
    launcher.textContent = view.title;
    launcher.setAttribute('aria-expanded', 'false');
    launcher.setAttribute('aria-controls', 'omniroute-frame');
    css(launcher, {
      position: 'fixed', bottom: '20px', padding: '12px 18px', border: '0',
      'border-radius': '999px', background: view.accent, color: view.accent_text,
      font: '600 15px/1.2 system-ui, sans-serif', cursor: 'pointer',
      'box-shadow': '0 4px 14px rgba(0,0,0,.25)', 'outline-offset': '3px',
    });
    css(launcher, left ? { left: '20px' } : { right: '20px' });

    var frame = document.createElement('iframe');
    frame.id = 'omniroute-frame';
    frame.title = view.title;
    frame.hidden = true;
    var q = new URLSearchParams({ site: siteId, lang: view.language, default_lang: view.default_language });
    if (!wanted) q.delete('lang');
    if (!wanted && language()) q.set('lang', language());

    function place() {
      if (phone()) {
        css(frame, { position: 'fixed', inset: '0', width: '100vw', height: '100%', border: '0', 'border-radius': '0' });
      } else {
        css(frame, {
          position: 'fixed', bottom: '84px', width: '380px', height: 'min(600px, calc(100vh - 110px))',
          border: '1px solid #c8ccd4', 'border-radius': '12px', 'box-shadow': '0 8px 30px rgba(0,0,0,.25)',
          background: '#fff', inset: 'auto',
        });
        css(frame, left ? { left: '20px' } : { right: '20px' });
        frame.style.setProperty('bottom', '84px');
      }
    }
    function open() {
      if (!frame.src) frame.src = base + '/widget/frame?' + q.toString();
      place();
      frame.hidden = false;
      launcher.setAttribute('aria-expanded', 'true');
      if (phone()) launcher.hidden = true;
      frame.focus();
    }
    function close() {
      frame.hidden = true;
      launcher.hidden = false;
      launcher.setAttribute('aria-expanded', 'false');
      launcher.focus();
    }
    launcher.addEventListener('click', function () { if (frame.hidden) open(); else close(); });
    window.addEventListener('message', function (ev) {
      if (ev.origin === base && ev.data && ev.data.omniroute === 'close') close();
    });
    window.addEventListener('resize', function () { if (!frame.hidden) place(); });
    root.appendChild(frame);
    root.appendChild(launcher);
    document.body.appendChild(host);
  }

  var query = new URLSearchParams({ site: siteId });
  var lang = language();
  if (lang) query.set('lang', lang);
  fetch(base + '/widget/site?' + query.toString(), { credentials: 'omit' })
    .then(function (r) {
      if (!r.ok) {
        return r.json().then(function (b) { throw new Error(b && b.message ? b.message : 'HTTP ' + r.status); },
          function () { throw new Error('HTTP ' + r.status); });
      }
      return r.json();
    })
    .then(function (view) {
      if (document.body) build(view);
      else document.addEventListener('DOMContentLoaded', function () { build(view); });
    })
    .catch(function (e) { warn('no chat for site "' + siteId + '" on ' + location.origin + ': ' + e.message); });
})();

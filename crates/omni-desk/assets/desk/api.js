// The desk's JSON API: the session is the HttpOnly cookie the browser
// sends by itself; every call carries the session's CSRF token (`S.token`)
// in X-CSRF-Token; a 401 on the current session ends it; failures become
// an ApiError with the server's code and message.

import { backoff } from '../common/common.js';
import { S } from './state.js';

/** A failed call: HTTP status (0 for no answer), the error code and a message to show. */
export class ApiError extends Error {
  constructor(status, code, message, body) {
    super(message);
    this.status = status;
    this.code = code;
    this.body = body || null;
    this.handled = false;
  }
}

let onSessionEnded = () => {};
/** Sets what happens when the server says the session has ended. */
export function whenSessionEnds(f) { onSessionEnded = f; }

/** The message for a status the server gave no message for. */
export function defaultMessage(status) {
  if (status === 401) return 'Your session has ended. Please sign in again.';
  if (status === 403) return 'Your role does not allow this.';
  if (status === 429) return 'Too many sign-in attempts. Please wait a minute and try again.';
  if (status === 404) return 'Not found.';
  if (status === 504) return 'The server took too long to answer. Please try again.';
  if (status >= 500) return 'The server had a problem (' + status + '). Please try again.';
  return 'The request failed (' + status + ').';
}

/** The part a 503's body names, as the agent knows it. */
const SERVICE_NAMES = { router: 'router', context: 'context' };

let onUnavailable = () => {};
let onAvailable = () => {};
/**
 * Sets what happens while a service is down (`down(message)`, called
 * before each retry) and once calls succeed again (`up()`).
 */
export function whenUnavailable(down, up) { onUnavailable = down; onAvailable = up; }

/**
 * Calls `method path` with an optional JSON `body`; resolves to the
 * answer's JSON. While the server answers 503 (a service behind it is
 * down), the call is retried with backoff for as long as the session
 * lasts: every call the desk makes is safe to repeat (replies carry a
 * client id).
 */
export function api(method, path, body) {
  const token = S && S.token;
  const attempt = (n) => once(method, path, body).then((data) => {
    if (n > 0) onAvailable();
    return data;
  }, (err) => {
    if (err.status !== 503 || (S && S.token) !== token) throw err;
    const service = err.body && SERVICE_NAMES[err.body.service];
    onUnavailable(service
      ? 'The ' + service + ' service is unavailable; retrying…'
      : 'A service the desk needs is unavailable; retrying…');
    return new Promise((resolve) => setTimeout(resolve, backoff(n))).then(() => {
      if ((S && S.token) !== token) throw err;
      return attempt(n + 1);
    });
  });
  return attempt(0);
}

function once(method, path, body) {
  const headers = { 'Accept': 'application/json' };
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const token = S && S.token;
  if (token) headers['X-CSRF-Token'] = token;
  return fetch(path, {
    method, headers, cache: 'no-store', credentials: 'same-origin',
    body: body === undefined ? undefined : JSON.stringify(body),
  }).then((res) => res.text().then((text) => {
    let data = null;
    if (text) { try { data = JSON.parse(text); } catch { data = null; } }
    if (res.ok) return data;
    const code = (data && typeof data.error === 'string') ? data.error : 'http_' + res.status;
    const message = (data && typeof data.message === 'string' && data.message) ? data.message : defaultMessage(res.status);
    const err = new ApiError(res.status, code, message, data);
    if (res.status === 401 && token && S && S.token === token) {
      err.handled = true;
      onSessionEnded();
    }
    throw err;
  }), () => {
    throw new ApiError(0, 'network', 'Cannot reach the desk server. Check your connection and try again.');
  });
}

/** `encodeURIComponent`, for path segments. */
export const enc = (s) => encodeURIComponent(s);

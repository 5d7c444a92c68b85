// How a new offer reaches an agent who is not looking at the page: a short
// tone made with WebAudio (no sound file), and a desktop notification when
// the agent allowed them. Browsers let a page ask for notifications and
// start audio only from a user gesture, so the offers panel carries a
// button that asks, and the audio starts on the agent's first click or key.
// The agent can turn the sound off; the choice is kept in this browser.

import { channelLabel, make, storage } from '../common/common.js';
import { el } from './dom.js';

const local = storage('local');
const K_SOUND = 'omni.desk.offer-sound';

let audio = null;
let controls = null;

function soundOn() { return local.get(K_SOUND) !== 'off'; }

/** The audio context, made and resumed on a user gesture. */
function unlockAudio() {
  const Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) return;
  try {
    if (!audio) audio = new Ctx();
    if (audio.state === 'suspended') audio.resume().catch(() => {});
  } catch { audio = null; }
}
document.addEventListener('pointerdown', unlockAudio, { capture: true });
document.addEventListener('keydown', unlockAudio, { capture: true });

/** Plays two short rising beeps (about 0.3 s). */
function tone() {
  if (!soundOn()) return;
  unlockAudio();
  if (!audio) return;
  const t = audio.currentTime;
  [[660, 0], [880, 0.16]].forEach(([freq, at]) => {
    const osc = audio.createOscillator();
    const gain = audio.createGain();
    osc.type = 'sine';
    osc.frequency.value = freq;
    gain.gain.setValueAtTime(0.0001, t + at);
    gain.gain.exponentialRampToValueAtTime(0.2, t + at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.14);
    osc.connect(gain).connect(audio.destination);
    osc.start(t + at);
    osc.stop(t + at + 0.15);
  });
}

function notificationsSupported() { return typeof window.Notification === 'function'; }

/** Shows (or hides) the panel's sound and notification controls. */
export function renderAlertControls() {
  if (!controls) {
    controls = make('div', 'offer-alerts');
    controls.setAttribute('data-testid', 'offer-alerts');
    const sound = make('button', 'btn small');
    sound.type = 'button';
    sound.setAttribute('data-testid', 'offer-sound');
    sound.addEventListener('click', () => {
      local.set(K_SOUND, soundOn() ? 'off' : null);
      renderAlertControls();
      if (soundOn()) tone();
    });
    const ask = make('button', 'btn small', 'Enable desktop alerts');
    ask.type = 'button';
    ask.setAttribute('data-testid', 'offer-notify-enable');
    ask.addEventListener('click', () => {
      if (!notificationsSupported()) return;
      Promise.resolve(Notification.requestPermission()).then(renderAlertControls, renderAlertControls);
    });
    const state = make('span', 'muted offer-notify-state');
    state.setAttribute('data-testid', 'offer-notify-state');
    const keys = make('p', 'muted offer-keys', 'Alt+Shift+A accepts, Alt+Shift+D declines the first offer.');
    keys.setAttribute('data-testid', 'offer-shortcuts');
    controls.append(sound, ask, state, keys);
    el.offers.parentNode.insertBefore(controls, el.offersEmpty);
  }
  const sound = controls.querySelector('[data-testid="offer-sound"]');
  sound.textContent = soundOn() ? 'Sound on' : 'Sound off';
  sound.setAttribute('aria-pressed', soundOn() ? 'true' : 'false');
  const ask = controls.querySelector('[data-testid="offer-notify-enable"]');
  const state = controls.querySelector('[data-testid="offer-notify-state"]');
  const permission = notificationsSupported() ? Notification.permission : 'unsupported';
  ask.hidden = permission !== 'default';
  state.textContent = permission === 'granted' ? 'Desktop alerts on'
    : permission === 'denied' ? 'Desktop alerts blocked in this browser' : '';
  state.hidden = !state.textContent;
}

/**
 * Alerts the agent to a new offer: the tone, and a desktop notification
 * (when allowed) naming the customer, channel, queue and time waited;
 * clicking it brings the desk to the front.
 */
export function alertOffer(offer, who, waited) {
  tone();
  if (!notificationsSupported() || Notification.permission !== 'granted') return;
  const body = [who || 'A customer', channelLabel(offer.channel), 'queue ' + (offer.queue || '?'), waited ? 'waiting ' + waited : '']
    .filter(Boolean).join(' · ');
  try {
    const n = new Notification('New offer', { body, tag: 'offer-' + offer.offer_id, requireInteraction: false });
    n.onclick = () => { window.focus(); n.close(); };
  } catch { /* some browsers allow notifications only from a service worker */ }
}

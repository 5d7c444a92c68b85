// What enrichment learned about the customer's messages (docs/enrichment.md),
// from the conversation's attributes: the intent, the language and the
// sentiment with its trend over the conversation (`sentiment_trend`, the
// latest scores oldest first) in the open conversation's head, and a
// sentiment marker for "My conversations". Colors come from the stylesheet
// by `data-tone`; every mark has a text alternative.

import { byId, make } from '../common/common.js';

/** The attributes enrichment writes; the handoff box leaves them to this head. */
export const CX_KEYS = ['intent', 'lang', 'sentiment', 'sentiment_label', 'sentiment_trend'];

const TONE_TEXT = { negative: 'Negative', neutral: 'Neutral', positive: 'Positive' };

/** The tone of a score, as the built-in analyzer labels it. */
function toneOf(score) {
  if (score <= -0.05) return 'negative';
  if (score >= 0.05) return 'positive';
  return 'neutral';
}

function scoresOf(attrs) {
  return String(attrs.sentiment_trend || attrs.sentiment || '')
    .split(/\s+/).filter((w) => w !== '').map(Number).filter((n) => Number.isFinite(n));
}

function show(id, text) {
  const wrap = byId(id + '-wrap');
  const dd = byId(id);
  if (!wrap || !dd) return null;
  dd.replaceChildren();
  wrap.hidden = !text;
  if (text) dd.textContent = text;
  return dd;
}

/** Redraws intent, language and sentiment for conversation `c`. */
export function renderCx(c) {
  const attrs = (c && c.attributes) || {};
  show('cx-intent', attrs.intent || '');
  show('cx-lang', attrs.lang || '');
  const label = attrs.sentiment_label || '';
  const dd = show('cx-sentiment', '');
  if (!dd) return;
  const scores = scoresOf(attrs);
  byId('cx-sentiment-wrap').hidden = !label && !scores.length;
  if (!label && !scores.length) return;
  const tone = label || toneOf(scores[scores.length - 1]);
  const now = make('span', 'cx-label', TONE_TEXT[tone] || tone);
  now.dataset.tone = tone;
  now.dataset.testid = 'sentiment-label';
  dd.appendChild(now);
  if (!scores.length) return;
  const trend = make('span', 'cx-trend');
  trend.dataset.testid = 'sentiment-trend';
  trend.setAttribute('role', 'img');
  trend.setAttribute('aria-label', 'Sentiment of the last ' + scores.length
    + (scores.length === 1 ? ' message' : ' messages') + ', oldest first: '
    + scores.map((s) => s.toFixed(2) + ' ' + toneOf(s)).join(', '));
  scores.forEach((s) => {
    const dot = make('span', 'cx-dot');
    dot.dataset.tone = toneOf(s);
    dot.title = s.toFixed(2);
    trend.appendChild(dot);
  });
  dd.appendChild(trend);
}

/** A compact marker for the conversation list: intent and sentiment, or null. */
export function cxMarker(attrs) {
  attrs = attrs || {};
  const scores = scoresOf(attrs);
  const tone = attrs.sentiment_label || (scores.length ? toneOf(scores[scores.length - 1]) : '');
  if (!attrs.intent && !tone) return null;
  const span = make('span', 'cx-marker');
  span.dataset.testid = 'conversation-cx';
  if (tone) {
    const dot = make('span', 'cx-dot');
    dot.dataset.tone = tone;
    dot.setAttribute('aria-hidden', 'true');
    span.appendChild(dot);
    span.dataset.sentiment = tone;
  }
  const text = [attrs.intent, tone ? (TONE_TEXT[tone] || tone).toLowerCase() : ''].filter(Boolean).join(' · ');
  span.appendChild(make('span', null, text));
  return span;
}

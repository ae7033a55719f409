// Bodies for people: which format a text is in, and its pretty form.

import { h } from './dom.js';
import { looksLikeHl7, renderHl7 } from './hl7.js';
import { t, lang } from './i18n.js';

/** 'json', 'xml', 'hl7' or 'text', from the content type and the text itself. */
export function detectFormat(text, contentType = '') {
  const type = (contentType ?? '').toLowerCase();
  const start = (text ?? '').trimStart();
  if (type.includes('hl7') || looksLikeHl7(start)) return 'hl7';
  if (type.includes('json') || start.startsWith('{') || start.startsWith('[')) {
    try {
      JSON.parse(text);
      return 'json';
    } catch {
      // Not JSON after all.
    }
  }
  if (type.includes('xml') || start.startsWith('<')) return 'xml';
  return 'text';
}

export function prettyJson(value) {
  return JSON.stringify(value, null, 2);
}

/** XML indented element by element; the text itself when it does not parse. */
export function prettyXml(text) {
  const doc = new DOMParser().parseFromString(text, 'application/xml');
  if (doc.getElementsByTagName('parsererror').length > 0) return text;
  const lines = [];
  const declaration = text.trimStart().match(/^<\?xml[^?]*\?>/);
  if (declaration) lines.push(declaration[0]);
  const escape = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const attributes = (el) =>
    Array.from(el.attributes, (a) => ` ${a.name}="${escape(a.value).replace(/"/g, '&quot;')}"`).join('');
  const walk = (node, depth) => {
    const pad = '  '.repeat(depth);
    if (node.nodeType === Node.TEXT_NODE) {
      const value = node.nodeValue.trim();
      if (value) lines.push(pad + escape(value));
      return;
    }
    if (node.nodeType === Node.CDATA_SECTION_NODE) {
      lines.push(`${pad}<![CDATA[${node.nodeValue}]]>`);
      return;
    }
    if (node.nodeType === Node.COMMENT_NODE) {
      lines.push(`${pad}<!--${node.nodeValue}-->`);
      return;
    }
    if (node.nodeType !== Node.ELEMENT_NODE) return;
    const open = `${pad}<${node.nodeName}${attributes(node)}`;
    const children = Array.from(node.childNodes).filter(
      (c) => !(c.nodeType === Node.TEXT_NODE && !c.nodeValue.trim()),
    );
    if (children.length === 0) {
      lines.push(`${open}/>`);
    } else if (children.length === 1 && children[0].nodeType === Node.TEXT_NODE) {
      lines.push(`${open}>${escape(children[0].nodeValue.trim())}</${node.nodeName}>`);
    } else {
      lines.push(`${open}>`);
      for (const child of children) walk(child, depth + 1);
      lines.push(`${pad}</${node.nodeName}>`);
    }
  };
  for (const child of Array.from(doc.childNodes)) walk(child, 0);
  return lines.join('\n');
}

/** The pretty form of a body as an element. */
export function prettyBody(text, contentType) {
  switch (detectFormat(text, contentType)) {
    case 'json':
      return h('pre', { class: 'body' }, prettyJson(JSON.parse(text)));
    case 'xml':
      return h('pre', { class: 'body' }, prettyXml(text));
    case 'hl7':
      return renderHl7(text, lang());
    default:
      return h('pre', { class: 'body' }, text);
  }
}

/**
 * A body with a Pretty / Raw switch. `text` null shows `emptyText`.
 * Returns an element.
 */
export function bodyView(text, contentType, { emptyText = '–', encoding = 'utf-8' } = {}) {
  if (text === null || text === undefined) return h('p', { class: 'muted' }, emptyText);
  if (encoding === 'base64') {
    return h('div', {}, h('p', { class: 'muted' }, t('msg.base64')), h('pre', { class: 'body' }, text));
  }
  const format = detectFormat(text, contentType);
  const holder = h('div', { class: 'body-holder' });
  if (format === 'text') {
    holder.append(h('pre', { class: 'body' }, text));
    return holder;
  }
  const show = (pretty) => {
    prettyButton.classList.toggle('on', pretty);
    rawButton.classList.toggle('on', !pretty);
    content.replaceChildren(pretty ? prettyBody(text, contentType) : h('pre', { class: 'body raw' }, text));
  };
  const prettyButton = h('button', { type: 'button', onclick: () => show(true) }, `${t('view.pretty')} (${format.toUpperCase()})`);
  const rawButton = h('button', { type: 'button', onclick: () => show(false) }, t('view.raw'));
  const content = h('div', {});
  holder.append(h('div', { class: 'view-switch' }, prettyButton, rawButton), content);
  show(true);
  return holder;
}

// Message text with {{placeholders}}, rendered against msg as Node-RED's template node does,
// but without HTML escaping: an SMS is plain text, "&" must stay "&".
import Mustache from 'mustache';

export function hasPlaceholders(text: string): boolean {
  return text.includes('{{');
}

export function renderText(template: string, view: object): string {
  if (!hasPlaceholders(template)) return template;
  return Mustache.render(template, view, undefined, { escape: (value: unknown) => String(value) });
}

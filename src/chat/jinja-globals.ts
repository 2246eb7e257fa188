// The global names a Hugging Face chat template may use, for @huggingface/jinja's Environment.
// Template.render() declares its own raise_exception, which throws a plain Error; we declare the globals
// ourselves so that a template rejecting the messages can be told apart from a broken template.
import { boundedRange } from './template-budget';

/** Thrown by a template's raise_exception(): the messages are not what the template accepts. */
export class TemplateRaised extends Error {}

/** strftime_now(format) for the few directives chat templates use (dates in system prompts). */
function strftimeNow(format: string): string {
  const now = new Date();
  const pad = (n: number): string => String(n).padStart(2, '0');
  return format.replace(/%[YmdbBHM%]/g, (d) => {
    switch (d) {
      case '%Y':
        return String(now.getFullYear());
      case '%m':
        return pad(now.getMonth() + 1);
      case '%d':
        return pad(now.getDate());
      case '%b':
        return now.toLocaleString('en-US', { month: 'short' });
      case '%B':
        return now.toLocaleString('en-US', { month: 'long' });
      case '%H':
        return pad(now.getHours());
      case '%M':
        return pad(now.getMinutes());
      default:
        return '%';
    }
  });
}

/** Name -> value for every global a template sees besides the render arguments. */
export function jinjaGlobals(): Record<string, unknown> {
  return {
    false: false,
    true: true,
    none: null,
    False: false,
    True: true,
    None: null,
    range: boundedRange,
    strftime_now: strftimeNow,
    raise_exception: (message: unknown): never => {
      throw new TemplateRaised(String(message));
    },
  };
}

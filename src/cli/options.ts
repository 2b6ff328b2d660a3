/** Options and option checks the commands share. */
import { Option } from 'commander';
import { CommandError } from './failure.ts';

/** The server an export or import talks to. */
export function urlOption(): Option {
  return new Option('--url <url>', 'the Factum server').env('FACTUM_URL').default('http://127.0.0.1:8080');
}

/** The key for a server that has keys; from the environment, so it stays out of shell history. */
export function apiKeyOption(): Option {
  return new Option('--api-key <key>', 'an API key (better: the environment variable FACTUM_API_KEY)').env('FACTUM_API_KEY');
}

export function integerOption(text: string, flag: string, min: number, max = Number.MAX_SAFE_INTEGER): number {
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new CommandError(`${flag} must be a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? ' up' : ` to ${max}`}, not "${text}"`, 2);
  return value;
}

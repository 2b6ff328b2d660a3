/**
 * Reads the README's walk-through as something a test can run: the ```sh blocks of named
 * sections, split into commands (words after shell quoting) and the `# → …` answers written
 * after them; `curl` command lines turned into fetch requests; and those answers turned into
 * checks on a response.
 *
 * The shell and curl are read only as far as the README uses them. Anything else (a pipe, a
 * variable, an option this does not know) is an error rather than silently skipped, so the
 * README cannot show a command the test did not really run.
 *
 * Answers: `# → [status][, Header: value …] [JSON]`, on one line or on several consecutive
 * `# →` lines. No status means 200. In JSON, `…` stands for what varies or is left out:
 * `…` as a value matches any value, `"…"` any string (and `"a…"` any string starting with a),
 * `…` among an object's members lets it have others besides those shown (without it the
 * members must be exactly those), and `…` among an array's elements matches any number of them.
 * In a header value `…` matches any text.
 */
import { readFileSync } from 'node:fs';
import { basename, isAbsolute, resolve } from 'node:path';

// ---------------------------------------------------------------------------------------------
// The README's sections and their shell blocks

export interface ShellBlock {
  section: string;
  /** 1-based README line of the block's first line (after the fence). */
  line: number;
  text: string;
}

/**
 * The ```sh blocks of the sections with these headings, in README order. A section runs to the
 * next heading of its level or above. Fails if a heading is missing.
 */
export function shellBlocks(markdown: string, headings: readonly string[]): ShellBlock[] {
  const lines = markdown.split('\n');
  const blocks: ShellBlock[] = [];
  for (const heading of headings) {
    const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+ /, '').trim() === heading);
    if (start < 0) throw new Error(`the README has no section "${heading}"`);
    const level = lines[start]!.match(/^#+/)![0].length;
    let fence: { line: number; body: string[] } | undefined;
    for (let i = start + 1; i < lines.length; i++) {
      const line = lines[i]!;
      if (fence === undefined) {
        const next = line.match(/^(#+) /);
        if (next && next[1]!.length <= level) break;
        if (/^```sh\s*$/.test(line)) fence = { line: i + 2, body: [] };
      } else if (/^```\s*$/.test(line)) {
        blocks.push({ section: heading, line: fence.line, text: fence.body.join('\n') });
        fence = undefined;
      } else {
        fence.body.push(line);
      }
    }
    if (fence) throw new Error(`a shell block in "${heading}" is not closed`);
  }
  return blocks;
}

// ---------------------------------------------------------------------------------------------
// Shell words

export interface ShellCommand {
  words: string[];
  /** README lines the command spans (first and last). */
  line: number;
  endLine: number;
}

interface ShellComment {
  text: string;
  line: number;
}

/**
 * Splits a script into commands and comments the way sh would for the little the README uses:
 * words separated by blanks, '…' taken literally, "…" with \ escapes, \ before a newline
 * joining lines, and # starting a comment at the start of a word. Anything that would need a
 * real shell (operators, variables, substitutions) is refused.
 */
export function splitScript(text: string, firstLine: number): { commands: ShellCommand[]; comments: ShellComment[] } {
  const commands: ShellCommand[] = [];
  const comments: ShellComment[] = [];
  let line = firstLine;
  let words: string[] = [];
  let word: string | undefined;
  let commandLine = line;
  const endWord = () => {
    if (word !== undefined) words.push(word);
    word = undefined;
  };
  const endCommand = () => {
    endWord();
    if (words.length > 0) commands.push({ words, line: commandLine, endLine: line });
    words = [];
  };
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (words.length === 0 && word === undefined && c !== ' ' && c !== '\t' && c !== '\n' && c !== '#') commandLine = line;
    if (c === '\n') {
      endCommand();
      line++;
    } else if (c === ' ' || c === '\t') {
      endWord();
    } else if (c === '#' && word === undefined) {
      const end = text.indexOf('\n', i);
      const comment = text.slice(i + 1, end < 0 ? text.length : end);
      comments.push({ text: comment, line });
      i += comment.length;
    } else if (c === '\\') {
      const next = text[++i];
      if (next === '\n') line++;
      else if (next === undefined) throw new Error(`line ${line}: a lone \\ at the end`);
      else word = (word ?? '') + next;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new Error(`line ${line}: a ' is not closed`);
      const quoted = text.slice(i + 1, end);
      line += quoted.split('\n').length - 1;
      word = (word ?? '') + quoted;
      i = end;
    } else if (c === '"') {
      let quoted = '';
      for (i++; ; i++) {
        const q = text[i];
        if (q === undefined) throw new Error(`line ${line}: a " is not closed`);
        if (q === '"') break;
        if (q === '$' || q === '`') throw new Error(`line ${line}: substitutions are not supported; quote with '…'`);
        if (q === '\\' && ['"', '\\', '$', '`', '\n'].includes(text[i + 1]!)) {
          i++;
          if (text[i] === '\n') line++;
          else quoted += text[i];
          continue;
        }
        if (q === '\n') line++;
        quoted += q;
      }
      word = (word ?? '') + quoted;
    } else if ('|&;<>()$`*?[]{}'.includes(c) || (c === '~' && word === undefined)) {
      // Operators, expansions and globs: what they do depends on a shell and its files.
      throw new Error(`line ${line}: an unquoted "${c}" needs a real shell; the walk-through test cannot run it`);
    } else {
      word = (word ?? '') + c;
    }
  }
  endCommand();
  return { commands, comments };
}

// ---------------------------------------------------------------------------------------------
// Steps: a command and the answer written after it

export interface Step {
  section: string;
  line: number;
  words: string[];
  /** The text of the `# →` lines right after the command, joined; undefined if none. */
  answer?: string;
}

const ANSWER = /^\s*→\s?/;

/**
 * The commands of the blocks with the answers written right after each (consecutive `# →`
 * lines starting on the line after the command). A `# →` line anywhere else is an error: it
 * would be an answer the test never compares.
 */
export function walkthroughSteps(blocks: readonly ShellBlock[]): Step[] {
  const steps: Step[] = [];
  for (const block of blocks) {
    const { commands, comments } = splitScript(block.text, block.line);
    const answers = comments.filter((c) => ANSWER.test(c.text));
    const used = new Set<ShellComment>();
    for (const command of commands) {
      const lines: string[] = [];
      for (let next = command.endLine + 1; ; next++) {
        const answer = answers.find((a) => a.line === next);
        if (!answer) break;
        used.add(answer);
        lines.push(answer.text.replace(ANSWER, ''));
      }
      steps.push({ section: block.section, line: command.line, words: command.words, answer: lines.length ? lines.join('\n') : undefined });
    }
    const stray = answers.find((a) => !used.has(a));
    if (stray) throw new Error(`README line ${stray.line}: a "# →" answer that follows no command`);
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------
// curl

export interface FormPart {
  name: string;
  /** Text, or the path of a file to send. */
  value: string;
  file: boolean;
  type?: string;
  filename?: string;
}

export interface CurlRequest {
  method: string;
  url: string;
  headers: Array<[string, string]>;
  data?: string[];
  form?: FormPart[];
  /** -i: the headers are part of what curl prints. */
  include: boolean;
}

const FLAGS: Record<string, 'include' | 'quiet'> = {
  '-i': 'include',
  '--include': 'include',
  '-s': 'quiet',
  '--silent': 'quiet',
  '-S': 'quiet',
  '--show-error': 'quiet',
};
const WITH_VALUE: Record<string, 'method' | 'header' | 'data' | 'data-raw' | 'data-binary' | 'form' | 'url'> = {
  '-X': 'method',
  '--request': 'method',
  '-H': 'header',
  '--header': 'header',
  '-d': 'data',
  '--data': 'data',
  '--data-ascii': 'data',
  '--data-raw': 'data-raw',
  '--data-binary': 'data-binary',
  '-F': 'form',
  '--form': 'form',
  '--url': 'url',
};

/**
 * Reads a curl command line (without its leading "curl") the way curl does for the options
 * the README uses. `readFile` resolves `-d @file`; `-F name=@file` keeps the path for later.
 */
export function parseCurl(args: readonly string[], readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')): CurlRequest {
  const request: CurlRequest = { method: '', url: '', headers: [], include: false };
  const take = (option: string, value: string | undefined) => {
    if (value === undefined) throw new Error(`curl ${option} needs a value`);
    switch (WITH_VALUE[option]) {
      case 'method':
        request.method = value;
        return;
      case 'header': {
        const colon = value.indexOf(':');
        if (colon <= 0) throw new Error(`curl -H "${value}": not "Name: value"`);
        request.headers.push([value.slice(0, colon).trim(), value.slice(colon + 1).trim()]);
        return;
      }
      // -d @file reads the file and drops its line breaks; --data-binary keeps them;
      // --data-raw never reads a file.
      case 'data':
        (request.data ??= []).push(value.startsWith('@') ? readFile(value.slice(1)).replace(/[\r\n]/g, '') : value);
        return;
      case 'data-binary':
        (request.data ??= []).push(value.startsWith('@') ? readFile(value.slice(1)) : value);
        return;
      case 'data-raw':
        (request.data ??= []).push(value);
        return;
      case 'form':
        (request.form ??= []).push(parseFormPart(value));
        return;
      case 'url':
        setUrl(value);
        return;
    }
  };
  const setUrl = (url: string) => {
    if (request.url) throw new Error(`curl with two URLs (${request.url}, ${url})`);
    request.url = url;
  };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg in WITH_VALUE) take(arg, args[++i]);
    else if (arg in FLAGS) request.include ||= FLAGS[arg] === 'include';
    else if (/^-[A-Za-z]{2,}$/.test(arg)) {
      // Short options run together: -si, or -XPOST with its value attached.
      for (let j = 1; j < arg.length; j++) {
        const short = `-${arg[j]}`;
        if (short in WITH_VALUE) {
          take(short, arg.slice(j + 1) || args[++i]);
          break;
        }
        if (!(short in FLAGS)) throw new Error(`curl option ${short} (in ${arg}) is not supported by the walk-through test`);
        request.include ||= FLAGS[short] === 'include';
      }
    } else if (arg.startsWith('-')) throw new Error(`curl option ${arg} is not supported by the walk-through test`);
    else setUrl(arg);
  }
  if (!request.url) throw new Error('curl without a URL');
  if (request.data && request.form) throw new Error('curl cannot send -d and -F together');
  request.method ||= request.data || request.form ? 'POST' : 'GET';
  return request;
}

/** curl -F: `name=text`, `name=@file` or `name=<file`, then `;type=…` / `;filename=…`. */
function parseFormPart(spec: string): FormPart {
  const eq = spec.indexOf('=');
  if (eq <= 0) throw new Error(`curl -F "${spec}": not name=content`);
  const name = spec.slice(0, eq);
  let content = spec.slice(eq + 1);
  // curl ends the content at the first ";" that starts one of its part options.
  const options = content.search(/;\s*(type|filename|headers|encoder)=/);
  const part: FormPart = { name, value: content, file: false };
  if (options >= 0) {
    for (const option of content.slice(options + 1).split(';')) {
      const [key, ...rest] = option.trim().split('=');
      const value = rest.join('=');
      if (key === 'type') part.type = value;
      else if (key === 'filename') part.filename = value;
      else throw new Error(`curl -F option "${key}" is not supported by the walk-through test`);
    }
    content = content.slice(0, options);
  }
  if (content.startsWith('@')) return { ...part, value: content.slice(1), file: true };
  if (content.startsWith('<')) throw new Error('curl -F name=<file is not supported by the walk-through test');
  return { ...part, value: content };
}

/**
 * The fetch() equivalent of a curl request: the README's server address replaced by `baseUrl`,
 * file paths (after `resolvePath`, relative to `cwd`) read, and a multipart body built the way
 * curl builds it: a text part without a file name (so it is a field, not an upload), a file
 * part named after the file.
 */
export function toFetch(
  request: CurlRequest,
  options: { readmeOrigin: string; baseUrl: string; cwd: string; resolvePath?: (path: string) => string },
): { url: string; init: RequestInit } {
  if (!request.url.startsWith(options.readmeOrigin + '/')) throw new Error(`curl to ${request.url}, not to ${options.readmeOrigin}`);
  const url = options.baseUrl + request.url.slice(options.readmeOrigin.length);
  const headers = new Headers(request.headers);
  let body: BodyInit | undefined;
  if (request.data) {
    body = request.data.join('&');
    if (!headers.has('content-type')) headers.set('content-type', 'application/x-www-form-urlencoded');
  } else if (request.form) {
    const boundary = `------------------------walkthrough${Math.random().toString(16).slice(2)}`;
    const chunks: Buffer[] = [];
    for (const part of request.form) {
      let head = `--${boundary}\r\nContent-Disposition: form-data; name="${part.name}"`;
      let content: Buffer;
      if (part.file) {
        const path = options.resolvePath ? options.resolvePath(part.value) : part.value;
        content = readFileSync(isAbsolute(path) ? path : resolve(options.cwd, path));
        head += `; filename="${part.filename ?? basename(path)}"\r\nContent-Type: ${part.type ?? 'application/octet-stream'}`;
      } else {
        content = Buffer.from(part.value, 'utf8');
        if (part.filename !== undefined) head += `; filename="${part.filename}"`;
        if (part.type !== undefined) head += `\r\nContent-Type: ${part.type}`;
      }
      chunks.push(Buffer.from(`${head}\r\n\r\n`), content, Buffer.from('\r\n'));
    }
    chunks.push(Buffer.from(`--${boundary}--\r\n`));
    body = Buffer.concat(chunks);
    headers.set('content-type', `multipart/form-data; boundary=${boundary}`);
  }
  return { url, init: { method: request.method, headers, body, redirect: 'manual' } };
}

// ---------------------------------------------------------------------------------------------
// Answers

export interface Answer {
  status: number;
  headers: Array<{ name: string; value?: string }>;
  body?: Pattern;
}

/** Reads `[status][, Header: value …] [JSON]`; JSON starts at the first { or [. */
export function parseAnswer(text: string): Answer {
  const bodyStart = text.search(/[{[]/);
  const head = bodyStart < 0 ? text : text.slice(0, bodyStart);
  const status = head.match(/^\s*(\d{3})(?=[\s,]|$)/);
  const headers = head
    .slice(status ? status[0].length : 0)
    .split(/[,\n]/)
    .map((item) => item.trim())
    .filter((item) => item !== '')
    .map((item) => {
      const header = item.match(/^([A-Za-z][A-Za-z0-9-]*)(?::\s*(.*))?$/);
      if (!header) throw new Error(`"${item}" in the answer "${text}" is neither a status, a header nor JSON`);
      return { name: header[1]!, value: header[2] };
    });
  return {
    status: status ? Number(status[1]) : 200,
    headers,
    body: bodyStart < 0 ? undefined : parsePattern(text.slice(bodyStart)),
  };
}

/** What differs between an answer and a response; empty if they agree. */
export function compareAnswer(answer: Answer, response: { status: number; headers: Headers; text: string }): string[] {
  const problems: string[] = [];
  if (response.status !== answer.status) problems.push(`status ${response.status}, the README shows ${answer.status}`);
  for (const { name, value } of answer.headers) {
    const actual = response.headers.get(name);
    if (actual === null) problems.push(`no ${name} header`);
    else if (value !== undefined && !globMatch(value, actual)) problems.push(`${name}: ${actual}, the README shows ${value}`);
  }
  if (answer.body !== undefined) {
    let actual: unknown;
    try {
      actual = JSON.parse(response.text);
    } catch {
      problems.push(`the body is not JSON: ${response.text.slice(0, 200)}`);
      return problems;
    }
    problems.push(...matchPattern(answer.body, actual));
  }
  return problems;
}

function globMatch(pattern: string, actual: string): boolean {
  const regex = pattern
    .split('…')
    .map((piece) => piece.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${regex}$`).test(actual);
}

// ---------------------------------------------------------------------------------------------
// JSON patterns

export type Pattern =
  | { kind: 'any' }
  | { kind: 'literal'; value: string | number | boolean | null }
  | { kind: 'glob'; text: string }
  | { kind: 'object'; members: Array<[string, Pattern]>; open: boolean }
  | { kind: 'array'; items: Array<Pattern | 'rest'> };

/** JSON with `…` where a value, an object member or array elements may be. */
export function parsePattern(text: string): Pattern {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at ${i} in ${text}`);
  };
  const blank = () => {
    while (/\s/.test(text[i] ?? '')) i++;
  };
  const ellipsis = (): boolean => {
    blank();
    if (text[i] !== '…') return false;
    i++;
    return true;
  };
  const string = (): string => {
    // JSON's own string syntax, by JSON.parse.
    const match = /^"(?:[^"\\\n]|\\.)*"/.exec(text.slice(i));
    if (!match) fail('expected a string');
    i += match![0].length;
    return JSON.parse(match![0]) as string;
  };
  const value = (): Pattern => {
    blank();
    if (ellipsis()) return { kind: 'any' };
    const c = text[i];
    if (c === '{') {
      i++;
      const members: Array<[string, Pattern]> = [];
      let open = false;
      blank();
      if (text[i] === '}') {
        i++;
        return { kind: 'object', members, open };
      }
      for (;;) {
        if (ellipsis()) open = true;
        else {
          blank();
          const key = string();
          blank();
          if (text[i++] !== ':') fail('expected ":"');
          members.push([key, value()]);
        }
        blank();
        const end = text[i++];
        if (end === '}') return { kind: 'object', members, open };
        if (end !== ',') fail('expected "," or "}"');
      }
    }
    if (c === '[') {
      i++;
      const items: Array<Pattern | 'rest'> = [];
      blank();
      if (text[i] === ']') {
        i++;
        return { kind: 'array', items };
      }
      for (;;) {
        items.push(ellipsis() ? 'rest' : value());
        blank();
        const end = text[i++];
        if (end === ']') return { kind: 'array', items };
        if (end !== ',') fail('expected "," or "]"');
      }
    }
    if (c === '"') {
      const s = string();
      return s.includes('…') ? { kind: 'glob', text: s } : { kind: 'literal', value: s };
    }
    const literal = /^(?:true|false|null|-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(text.slice(i));
    if (!literal) return fail('expected a JSON value');
    i += literal![0].length;
    return { kind: 'literal', value: JSON.parse(literal![0]) as number | boolean | null };
  };
  const pattern = value();
  blank();
  if (i < text.length) fail('unexpected text after the JSON');
  return pattern;
}

/** Where `actual` does not match `pattern`, as "path: what" lines. */
export function matchPattern(pattern: Pattern, actual: unknown, path = '$'): string[] {
  const shown = (v: unknown) => JSON.stringify(v)?.slice(0, 120);
  switch (pattern.kind) {
    case 'any':
      return actual === undefined ? [`${path}: missing`] : [];
    case 'literal':
      return actual === pattern.value ? [] : [`${path}: ${shown(actual)}, the README shows ${shown(pattern.value)}`];
    case 'glob':
      return typeof actual === 'string' && globMatch(pattern.text, actual) ? [] : [`${path}: ${shown(actual)}, the README shows ${shown(pattern.text)}`];
    case 'object': {
      if (actual === null || typeof actual !== 'object' || Array.isArray(actual)) return [`${path}: ${shown(actual)}, the README shows an object`];
      const record = actual as Record<string, unknown>;
      const problems: string[] = [];
      for (const [key, member] of pattern.members) {
        if (!Object.hasOwn(record, key)) problems.push(`${path}.${key}: missing`);
        else problems.push(...matchPattern(member, record[key], `${path}.${key}`));
      }
      if (!pattern.open) {
        const extra = Object.keys(record).filter((k) => !pattern.members.some(([key]) => key === k));
        if (extra.length) problems.push(`${path}: also has ${extra.join(', ')}, which the README does not show (no "…")`);
      }
      return problems;
    }
    case 'array': {
      if (!Array.isArray(actual)) return [`${path}: ${shown(actual)}, the README shows an array`];
      return matchItems(pattern.items, actual, 0, 0, path) ?? [`${path}: ${shown(actual)} does not fit the README's ${describeItems(pattern.items)}`];
    }
  }
}

/** Matches array elements with `rest` taking any number; the first fitting split wins. */
function matchItems(items: Array<Pattern | 'rest'>, actual: unknown[], p: number, a: number, path: string): string[] | undefined {
  if (p === items.length) return a === actual.length ? [] : undefined;
  const item = items[p]!;
  if (item === 'rest') {
    for (let skip = 0; a + skip <= actual.length; skip++) {
      const rest = matchItems(items, actual, p + 1, a + skip, path);
      if (rest !== undefined && rest.length === 0) return rest;
    }
    return undefined;
  }
  if (a === actual.length) return undefined;
  const here = matchPattern(item, actual[a], `${path}[${a}]`);
  // With no "…" in the array the elements pair up one to one: report the element that differs.
  if (here.length > 0) return items.includes('rest') ? undefined : here;
  return matchItems(items, actual, p + 1, a + 1, path);
}

function describeItems(items: Array<Pattern | 'rest'>): string {
  return `${items.length} element${items.length === 1 ? '' : 's'} (with "…")`;
}

/**
 * Copies of a pattern that differ from it in one place each: every literal changed, every
 * member renamed, every member of an exact object dropped. A response that matches the pattern must match none of
 * them, or that part of the pattern was never compared.
 */
export function mutations(pattern: Pattern): Pattern[] {
  const out: Pattern[] = [];
  switch (pattern.kind) {
    case 'literal': {
      const v = pattern.value;
      const changed = typeof v === 'number' ? v + 1 : typeof v === 'string' ? `${v}-changed` : typeof v === 'boolean' ? !v : 'not-null';
      out.push({ kind: 'literal', value: changed });
      break;
    }
    case 'glob':
      out.push({ kind: 'glob', text: `changed-${pattern.text}-changed` });
      break;
    case 'object':
      pattern.members.forEach(([key, member], index) => {
        const replace = (entry: [string, Pattern]) => ({ ...pattern, members: pattern.members.map((e, j) => (j === index ? entry : e)) });
        out.push(replace([`${key}-changed`, member]));
        for (const m of mutations(member)) out.push(replace([key, m]));
        if (!pattern.open) out.push({ ...pattern, members: pattern.members.filter((_, j) => j !== index) });
      });
      break;
    case 'array':
      pattern.items.forEach((item, index) => {
        if (item === 'rest') return;
        for (const m of mutations(item)) out.push({ kind: 'array', items: pattern.items.map((entry, j) => (j === index ? m : entry)) });
      });
      break;
    case 'any':
      break;
  }
  return out;
}

/**
 * What a browser holds after loading a console page: the CSRF cookie and the token its forms
 * carry. Tests that post the console's forms the way a browser does send both.
 */
export interface ConsoleCsrf {
  token: string;
  /** The Cookie header a browser would send back (CSRF cookie, and the session if signed in). */
  cookie: string;
}

export async function loadConsoleCsrf(baseUrl: string, cookie = ''): Promise<ConsoleCsrf> {
  const res = await fetch(`${baseUrl}/`, { headers: cookie ? { cookie } : {}, redirect: 'manual' });
  const page = await res.text();
  const token = /name="_csrf" value="([^"]+)"/.exec(page)?.[1] ?? /"X-CSRF-Token": "([^"]+)"/.exec(page)?.[1];
  const csrfCookie = res.headers.getSetCookie().find((c) => c.startsWith('factum_csrf='))?.split(';')[0];
  if (!token || !csrfCookie) throw new Error(`no CSRF token on the console's home page (status ${res.status})`);
  return { token, cookie: [cookie, csrfCookie].filter(Boolean).join('; ') };
}

/** Headers for a console form post: the cookie, and for htmx requests the token header. */
export function csrfHeaders(csrf: ConsoleCsrf, headers: Record<string, string> = {}): Record<string, string> {
  const htmx = Object.keys(headers).some((name) => name.toLowerCase() === 'hx-request');
  return { cookie: csrf.cookie, ...(htmx ? { 'X-CSRF-Token': csrf.token } : {}), ...headers };
}

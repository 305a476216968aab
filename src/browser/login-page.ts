// The built-in login's form (GET /login): a page with no script, posting to /login with the CSRF
// token and the already checked return target in hidden fields. Everything placed in it is
// escaped; the return target was rebuilt by return-target.ts before it got here.
import { escapeHtml } from './html.js'

export interface LoginPageValues {
  readonly csrfToken: string
  /** The field the return target travels in (`next`), and its checked value, if any. */
  readonly returnParam: string
  readonly returnTo: string | undefined
  /** Shown above the form: why the user is here again (a wrong password, an expired form). */
  readonly notice?: string
  /** The user already logged in, who gets a log-out button instead of the form. */
  readonly user?: string
}

export function renderLoginPage(v: LoginPageValues): string {
  const notice = v.notice ? `<p class="notice" role="alert">${escapeHtml(v.notice)}</p>\n` : ''
  const token = `<input type="hidden" name="_csrf" value="${escapeHtml(v.csrfToken)}">`
  const returnField =
    v.returnTo === undefined
      ? ''
      : `<input type="hidden" name="${escapeHtml(v.returnParam)}" value="${escapeHtml(v.returnTo)}">`
  const body =
    v.user === undefined
      ? `<h1>Log in to download</h1>
${notice}<form method="post" action="/login">
${token}
${returnField}
<label for="username">User name</label>
<input id="username" name="username" autocomplete="username" required maxlength="256" autofocus>
<label for="password">Password</label>
<input id="password" name="password" type="password" autocomplete="current-password" required maxlength="1024">
<button type="submit">Log in</button>
</form>`
      : `<h1>Logged in as ${escapeHtml(v.user)}</h1>
${notice}<form method="post" action="/logout">
${token}
<button type="submit">Log out</button>
</form>`
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Log in</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; margin: 0; color: #1f2328; background: #f6f8fa; }
  main { max-width: 22rem; margin: 12vh auto; padding: 2rem; background: #fff; border: 1px solid #d0d7de; border-radius: 8px; }
  h1 { font-size: 1.3rem; margin: 0 0 1rem; }
  label { display: block; margin: .75rem 0 .25rem; }
  input:not([type=hidden]) { width: 100%; box-sizing: border-box; padding: .4rem; font: inherit; }
  button { margin-top: 1.25rem; padding: .5rem 1rem; font: inherit; }
  .notice { color: #b42318; }
</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`
}

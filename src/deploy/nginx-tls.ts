// The TLS part of a host install: directives for the download server block, and a plain-HTTP
// server that only redirects. They go inside the server, not at the http level, because a
// distribution's nginx.conf often sets ssl_protocols there already (Debian's allows TLS 1.0), and a
// second one at the same level is an error.

export interface TlsFiles {
  /** Certificate chain (PEM), absolute path. */
  readonly cert: string
  /** Private key (PEM), absolute path. */
  readonly key: string
  /** Where a plain-HTTP server answers every request with a redirect to HTTPS; null for none. */
  readonly redirectListen: string | null
}

/** Lines for the download server block, unindented. Values are checked by siteProblems. */
export function tlsServerDirectives(tls: TlsFiles): string[] {
  return [
    '# TLS, added by `download-gateway render-nginx`. TLS 1.2 and 1.3 only; for 1.2 only',
    '# forward-secret AEAD suites (Mozilla "intermediate", without DHE, which needs a dhparam file).',
    '# Other servers on this port need the same protocol lines: nginx may settle the protocol with',
    "# the port's default server before the client's server name is known.",
    `ssl_certificate ${tls.cert};`,
    `ssl_certificate_key ${tls.key};`,
    'ssl_protocols TLSv1.2 TLSv1.3;',
    'ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;',
    'ssl_prefer_server_ciphers off;',
    // Resumption without tickets: a ticket key that never rotates would undo forward secrecy.
    'ssl_session_timeout 1d;',
    'ssl_session_cache shared:download_gateway_tls:10m;',
    'ssl_session_tickets off;',
    '# HSTS is sent on every HTTPS answer by the add_header lines of this server (the map',
    '# $download_gateway_hsts above).',
  ]
}

/** A server on `listen` answering every request with a 301 to the same URL over HTTPS. */
export function tlsRedirectServer(listen: string, serverName: string): string {
  return [
    '# Plain HTTP only redirects to HTTPS: no download, login or cookie ever travels unencrypted.',
    '# `return` is not an internal redirect, so it cannot reach the internal location.',
    'server {',
    `    listen ${listen};`,
    `    server_name ${serverName};`,
    '    server_tokens off;',
    '    return 301 https://$host$request_uri;',
    '}',
    '',
  ].join('\n')
}
